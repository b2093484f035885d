// Officers are named by CRIER_USER or the OS user, typed by hand on shared terminals: "SGT.Jones"
// and "sgt.jones" are one person. Every rule that compares people (the author may not approve,
// one approval per person, the overrider may not review) compares them this way, or changing the
// case of a name would be a second pair of eyes.

/** The form in which two officers' names are compared. */
export function officerKey(name: string): string {
  // Invisible format characters (a zero-width space, a soft hyphen) would make the author a
  // second person to the two-person rule, under a name that prints the same.
  return name.normalize('NFKC').replace(/\p{Cf}/gu, '').trim().toLowerCase()
}

export function sameOfficer(a: string, b: string): boolean {
  return officerKey(a) === officerKey(b)
}
