// `${NAME}` in config is read from the environment at load. Every value read that way is a
// secret: it is remembered here so that anything crier prints can be scrubbed of it.

const knownSecrets = new Set<string>()

export function rememberSecret(value: string): void {
  // Very short values would redact ordinary words; nobody's credential is 3 characters.
  if (value.length >= 4) knownSecrets.add(value)
}

/** Replaces every known secret, in each form a provider may echo it (secretForms), with "***". */
export function redact(text: string): string {
  return redactValues(text, knownSecrets)
}

/**
 * Replaces each of `secrets` in text with "***": as written, URL-encoded, JSON-escaped (a
 * provider quoting the request: `\"`, `\/`, and `\u0026` as Go and Rails write `&`, `<`, `>`,
 * or Python anything not ASCII), with invisible characters slipped in, and in base64 — whole,
 * or inside a base64 token that decodes to text holding it (an SMTP server echoing
 * `AUTH PLAIN`, a Basic header).
 */
export function redactValues(text: string, secrets: Iterable<string>): string {
  // Longest first, so a secret that contains another goes whole.
  const values = [...secrets].filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length)
  if (values.length === 0) return text
  let result = text.replace(/[A-Za-z0-9+/_-]{8,}={0,2}/g, (token) => {
    const decoded = Buffer.from(token, token.includes('-') || token.includes('_') ? 'base64url' : 'base64').toString('utf8')
    return values.some((secret) => decoded.includes(secret)) ? '***' : token
  })
  for (const secret of values) {
    result = result.replace(echoOf(secret), '***').split(encodeURIComponent(secret)).join('***')
  }
  return result
}

const echoes = new Map<string, RegExp>()

/** The secret as text quotes it: each character as itself or JSON-escaped, with format characters (zero-width space) between them ignored. */
function echoOf(secret: string): RegExp {
  let pattern = echoes.get(secret)
  if (!pattern) {
    const characters = Array.from(secret, (character) => {
      const literal = new Set([character, JSON.stringify(character).slice(1, -1), character === '/' ? '\\/' : character])
      return `(?:${[...[...literal].map(regExpLiteral), unicodeEscape(character)].join('|')})`
    })
    pattern = new RegExp(characters.join('\\p{Cf}*'), 'gu')
    echoes.set(secret, pattern)
  }
  return pattern
}

/** `\uXXXX` (a surrogate pair beyond the BMP), its hex digits in either case. */
function unicodeEscape(character: string): string {
  let pattern = ''
  for (let i = 0; i < character.length; i++) {
    const hex = character.charCodeAt(i).toString(16).padStart(4, '0')
    pattern += '\\\\u' + hex.replace(/[a-f]/g, (digit) => `[${digit}${digit.toUpperCase()}]`)
  }
  return pattern
}

function regExpLiteral(text: string): string {
  return text.replace(/[\^$\\.*+?()[\]{}|/]/g, '\\$&')
}

export interface SecretProblem {
  path: string
  variable: string
  /** Set: the variable is set, but its value cannot stand where it is (why); unset otherwise. */
  unusable?: string
}

const placeholder = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/**
 * Replaces `${NAME}` in every string of a parsed YAML tree with the environment's value.
 * Returns the problems (unset variables) instead of throwing, so all of them are reported.
 */
export function resolveSecrets(node: unknown, env: NodeJS.ProcessEnv, path: string[] = [], problems: SecretProblem[] = []): {value: unknown; problems: SecretProblem[]} {
  if (typeof node === 'string') {
    const filledWith = new Map<string, string>()
    const value = node.replace(placeholder, (_whole, name: string) => {
      const found = env[name]
      if (found === undefined || found === '') {
        problems.push({path: path.join('.'), variable: name})
        // Keep the placeholder: the load fails on this problem alone, not on a follow-on "empty".
        return `\${${name}}`
      }
      rememberSecret(found)
      filledWith.set(name, found)
      return found
    })
    const moved = filledWith.size ? urlMovedBy(node, value, filledWith) : undefined
    if (moved) problems.push({path: path.join('.'), variable: moved.variable, unusable: moved.why})
    return {value, problems}
  }
  if (Array.isArray(node)) {
    return {value: node.map((item, index) => resolveSecrets(item, env, [...path, String(index)], problems).value), problems}
  }
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(node)) out[key] = resolveSecrets(item, env, [...path, key], problems).value
    return {value: out, problems}
  }
  return {value: node, problems}
}

/**
 * A secret filled into a URL (`https://alerts:${PASSWORD}@partner.example/…`) that holds `@`,
 * `/`, `?` or `#` would move where the URL points — to another host, with the rest of the
 * password in the path — and crier would send the announcement there. The URL written with a
 * plain stand-in for each secret says where it was meant to point.
 */
function urlMovedBy(template: string, filled: string, filledWith: Map<string, string>): {variable: string; why: string} | undefined {
  if (!/^[a-z][a-z\d+.-]*:\/\//i.test(template)) return undefined
  let meant: URL
  try {
    meant = new URL(template.replace(placeholder, 'x'))
  } catch {
    return undefined
  }
  let got: URL | undefined
  try {
    got = new URL(filled)
  } catch {
    // A value that breaks the URL moves it nowhere: said as plainly.
  }
  if (got && got.host === meant.host && got.hash === meant.hash) return undefined
  const variable = [...filledWith].find(([, secret]) => /[@/?#:]/.test(secret))?.[0] ?? [...filledWith.keys()][0]!
  // Never where it would send: that host is made of the secret itself.
  return {variable, why: `holds @, /, ?, # or : and would send ${got ? 'somewhere other than' : 'nowhere (it breaks the URL), not to'} ${meant.host} — percent-encode them in the variable (%40 for @, %2F for /, %3F for ?, %23 for #, %3A for :)`}
}
