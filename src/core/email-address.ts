// What crier takes for an e-mail address: the import's check, an officer's opt-out and the e-mail
// driver's last look before sending are one rule, so that nothing the import stores is refused at
// send time, and an address never reaches SMTP in a form its opt-out would not match.
//
// Deliberately simple: no quoted local parts, no comments, no IP literals. Unicode letters are
// allowed (SMTPUTF8); the characters that structure a header (<>()[],;:"\ and spaces), control
// characters and invisible ones (zero-width spaces, direction marks) are not.
const emailAddress = /^[^\s@<>()[\]\\,;:"\p{Cc}\p{Cf}]+@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*$/u

export function isEmailAddress(text: string): boolean {
  return text.length <= 254 && emailAddress.test(text)
}
