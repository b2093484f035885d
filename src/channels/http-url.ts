import {z} from 'zod'

// Every HTTP driver's `baseUrl` / `url` setting: an absolute http(s) URL, checked at config load.

export function isHttpUrl(text: string): boolean {
  try {
    const {protocol} = new URL(text)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}

export const httpUrl = z.string().refine(isHttpUrl, 'expected an http(s) URL')

/**
 * A provider's `baseUrl`: the API's paths go after it, so a ?query or #fragment would swallow
 * them, and a user:password would be dropped unsent (credentials have their own settings).
 */
export function isApiBaseUrl(text: string): boolean {
  if (!isHttpUrl(text)) return false
  const {username, password} = new URL(text)
  // A bare "?" or "#" parses as an empty query or fragment, and would swallow the paths all the same.
  return !username && !password && !text.includes('?') && !text.includes('#')
}

export const apiBaseUrl = z.string().refine(isApiBaseUrl, "expected the API's http(s) URL, without user:password, ?query or #fragment (its paths go after it)")
