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
