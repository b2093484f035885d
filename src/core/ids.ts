import {monotonicFactory} from 'ulid'
import {UsageError} from './errors.js'

// Ids are ULIDs: sortable by creation time, 26 Crockford base-32 characters. People see the
// first 12 (the millisecond and two random characters) and may type any unique prefix.

const nextUlid = monotonicFactory()

export function newId(now = Date.now()): string {
  return nextUlid(now)
}

export const shortIdLength = 12

export function shortId(id: string): string {
  return id.slice(0, shortIdLength)
}

/** Resolves a typed id or unique prefix, like git does; ambiguity lists the candidates. */
export function resolveIdPrefix(typed: string, idsWithPrefix: (prefix: string) => string[], what = 'announcement'): string {
  const prefix = typed.trim().toUpperCase()
  if (!/^[0-9A-HJKMNP-TV-Z]{4,26}$/.test(prefix)) {
    const an = `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`
    const why =
      prefix.length < 4
        ? 'use at least 4 characters of an id from crier list'
        : prefix.length > 26
          ? 'ids are 26 characters long; copy one from crier list'
          : 'ids are letters and digits (never I, L, O or U); copy one from crier list'
    throw new UsageError(`"${typed}" is not ${an} id — ${why}`)
  }
  const matches = idsWithPrefix(prefix)
  if (matches.length === 0) throw new UsageError(`no ${what} with id ${typed} — see crier list`)
  if (matches.length > 1) {
    throw new UsageError(`id ${typed} is ambiguous (${matches.slice(0, 5).map(shortId).join(', ')}${matches.length > 5 ? ', …' : ''}) — type more characters`)
  }
  return matches[0]!
}
