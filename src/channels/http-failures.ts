import {oneLine, stripTerminalControls} from '../core/terminal-text.js'
import {redact, redactValues} from '../config/secrets.js'
import {InDoubtSendError, NotSentError, PermanentSendError} from './errors.js'
import type {HttpResponse} from './http.js'

// What an HTTP driver needs to say why a request failed, shared by every HTTP driver: short
// reasons for requests that got no answer, Retry-After, and a response's first line.

/** The request ran past the channel's timeout. */
export class DeadlineError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`)
  }
}

/**
 * The request ended (its deadline, the caller's abort) while it waited for a connection in the
 * pool: undici never wrote it, so it cannot have arrived.
 */
export class UnsentRequestError extends Error {
  constructor(reason: Error) {
    super(reason instanceof DeadlineError ? `${reason.message} waiting for a free connection; never sent` : `${reason.message} before it was sent`)
  }
}

/** The caller aborted the request (a second Ctrl-C, a shutdown). */
export class CancelledError extends Error {
  constructor() {
    super('request aborted')
  }
}

const networkReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_DESTROYED: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  ETIMEDOUT: 'connect timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_ABORTED: 'request aborted',
  ABORT_ERR: 'request aborted',
}

/** A short reason for a request that got no HTTP answer, e.g. "connection reset". */
export function networkReason(error: unknown): string {
  if (error instanceof DeadlineError || error instanceof CancelledError || error instanceof UnsentRequestError) return error.message
  const code = errorCode(error)
  if (code && networkReasons[code]) return networkReasons[code]
  if (error instanceof Error && error.name === 'AbortError') return 'request aborted'
  const message = error instanceof Error ? error.message : String(error)
  return code ? `${code}: ${message}` : message
}

/** undici refused to send the request at all (a header with a newline): no retry can fix it. */
export function isRefusedRequest(error: unknown): boolean {
  return errorCode(error) === 'UND_ERR_INVALID_ARG'
}

export function isUndiciTimeout(error: unknown): boolean {
  const code = errorCode(error)
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
}

/** The error's code, looking through `cause` and AggregateError (happy eyeballs tries every address). */
export function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const {code} = current as {code?: unknown}
    if (typeof code === 'string') return code
    const errors = (current as {errors?: unknown}).errors
    current = Array.isArray(errors) && errors.length ? errors[0] : (current as {cause?: unknown}).cause
  }
  return undefined
}

export function headerValue(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from now. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

/** The first non-empty line of a response body, terminal control sequences stripped. */
export function firstBodyLine(body: string): string | undefined {
  return body
    .split(/\r?\n/)
    .map((line) => stripTerminalControls(line).replace(/[\t]/g, ' ').trim())
    .find((line) => line.length > 0)
}

/** Credentials a URL carries: its query (tokens) and password, as written and decoded. */
export function urlSecrets(address: string | undefined): string[] {
  if (!address) return []
  try {
    const url = new URL(address)
    const secrets: string[] = []
    if (url.search.length > 1) secrets.push(url.search.slice(1), ...url.searchParams.values())
    if (url.password) secrets.push(url.password, decodeURIComponent(url.password))
    return secrets
  } catch {
    return []
  }
}

const maxReasonChars = 200

/**
 * A provider's reason made safe to store and show: every known `${ENV}` secret and this
 * channel's own credentials replaced (longest first, so a value containing another goes
 * whole), then cut to 200 characters — after scrubbing, so no secret is half-kept.
 */
export function safeReason(text: string, channelSecrets: Array<string | undefined>): string {
  // Cut only once scrubbed: a secret cut in half before would not be recognised, and the scrub shortens the text.
  const result = redactValues(redact(oneLine(text, Number.POSITIVE_INFINITY)), channelSecrets.filter((each): each is string => typeof each === 'string'))
  const chars = Array.from(result)
  return chars.length > maxReasonChars ? `${chars.slice(0, maxReasonChars).join('')}…` : result
}

/** A provider's JSON answer as an object, or undefined when it is not one (an HTML error page). */
export function parseJsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body)
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/**
 * 502 and 504 come from a proxy or gateway in front of the provider: the request went on and no
 * answer came back, so it may have been acted on — in doubt, never sent twice blindly by a driver
 * without idempotency. 500 and 503 are the provider's own: it did not take the request, and it is
 * tried again. Undefined for any other status. `what` is what may have gone ("the text").
 */
export function gatewayInDoubt(status: number, reason: string, what = 'it'): InDoubtSendError | undefined {
  return status === 502 || status === 504 ? new InDoubtSendError(`${reason} — a gateway passed the request on and got no answer: ${what} may have gone`) : undefined
}

/** Failures that happen before a request is on the wire: the provider cannot have acted on it. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * What a send that got no answer throws: permanent when undici refused the request, not sent
 * when it never left (connection refused, no DNS, no free connection in time), and otherwise in
 * doubt — a timeout or a dropped connection after the request was written may still have
 * published it.
 */
export function unansweredSend(error: unknown, secrets: string[]): Error {
  const reason = safeReason(networkReason(error), secrets)
  if (isRefusedRequest(error)) return new PermanentSendError(reason)
  const code = errorCode(error)
  return error instanceof UnsentRequestError || (code !== undefined && notSentCodes.has(code)) ? new NotSentError(reason) : new InDoubtSendError(reason)
}
