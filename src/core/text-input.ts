import {UsageError} from './errors.js'

export const maxTextBytes = 1024 * 1024

/**
 * Checks announcement text from an argument, a file or stdin: valid UTF-8, no NUL, at most
 * 1 MiB, not empty or only whitespace. Returns it with line endings normalised and the
 * surrounding whitespace trimmed.
 */
export function checkAnnouncementText(bytes: Buffer, source: string): string {
  if (bytes.length > maxTextBytes) throw new UsageError(`${source} is larger than 1 MiB — shorten the text`)
  let text: string
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    throw new UsageError(`${source} is not valid UTF-8 — save the text as UTF-8`)
  }
  if (text.includes('\0')) throw new UsageError(`${source} contains a NUL byte — is it a binary file?`)
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').trim()
  if (normalised === '') throw new UsageError(`${source} is empty — give the announcement text`)
  return normalised
}
