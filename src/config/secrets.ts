// `${NAME}` in config is read from the environment at load. Every value read that way is a
// secret: it is remembered here so that anything crier prints can be scrubbed of it.

const knownSecrets = new Set<string>()

export function rememberSecret(value: string): void {
  // Very short values would redact ordinary words; nobody's credential is 3 characters.
  if (value.length >= 4) knownSecrets.add(value)
}

/** Replaces every known secret (and its URL-encoded form) in text with "***". */
export function redact(text: string): string {
  let result = text
  for (const secret of knownSecrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      result = result.split(form).join('***')
    }
  }
  return result
}

export interface SecretProblem {
  path: string
  variable: string
}

/**
 * Replaces `${NAME}` in every string of a parsed YAML tree with the environment's value.
 * Returns the problems (unset variables) instead of throwing, so all of them are reported.
 */
export function resolveSecrets(node: unknown, env: NodeJS.ProcessEnv, path: string[] = [], problems: SecretProblem[] = []): {value: unknown; problems: SecretProblem[]} {
  if (typeof node === 'string') {
    const value = node.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_whole, name: string) => {
      const found = env[name]
      if (found === undefined || found === '') {
        problems.push({path: path.join('.'), variable: name})
        // Keep the placeholder: the load fails on this problem alone, not on a follow-on "empty".
        return `\${${name}}`
      }
      rememberSecret(found)
      return found
    })
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
