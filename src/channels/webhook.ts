import {createHmac} from 'node:crypto'
import {z} from 'zod'
import type {Announcement, Variant} from '../core/announcement.js'
import {parseDuration} from '../core/duration.js'
import {redact} from '../config/secrets.js'
import type {ChannelConfig, Driver, Receipt} from './driver.js'
import {PermanentSendError, RateLimitedError, TransientSendError} from './errors.js'
import type {HttpClient, HttpResponse} from './http.js'

// A partner's HTTPS endpoint that receives each announcement as JSON, signed with a shared
// secret (X-Crier-Signature: sha256=<hex HMAC of the exact body>) so the partner can tell it
// came from us. One channel posts to one URL; several partners are several channels.

const webhookSettings = z.object({
  url: z.string().refine(isHttpUrl, 'expected an http(s) URL'),
  /** HMAC key shared with the partner; written `${ENV}` in config. */
  secret: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
})
export type WebhookSettings = z.infer<typeof webhookSettings>

/** What render produces and send posts unchanged: the body is signed byte for byte. */
export interface WebhookPayload {
  url: string
  body: string
}

/** Partners' gateways commonly refuse bodies above 1 MiB; preview shows the body against it. */
const maxBodyBytes = 1_048_576
const defaultTimeoutMs = 10_000
/** When a 429 does not say how long to wait. */
const defaultRateLimitMs = 30_000
const maxReasonChars = 200

export const webhook: Driver<WebhookSettings, WebhookPayload> = {
  type: 'webhook',
  kind: 'broadcast',
  config: webhookSettings,
  capabilities: {counts: 'bytes', threads: false, media: false, idempotent: true, reconcile: false},

  render(announcement, variant, context) {
    const document = toWebhookDocument(announcement, variant, context.capUrl)
    const body = JSON.stringify(document)
    return {
      parts: [
        {
          label: `POST ${displayUrl(context.channel.url)}`,
          text: JSON.stringify(document, null, 2),
          length: {count: Buffer.byteLength(body), limit: maxBodyBytes, unit: 'bytes'},
        },
      ],
      payload: {url: context.channel.url, body},
    }
  },

  async send(payload, context) {
    const {channel} = context
    const headers: Record<string, string> = {
      ...extraHeaders(channel),
      'Content-Type': 'application/json',
      'User-Agent': 'crier',
      'Idempotency-Key': context.idempotencyKey,
    }
    if (channel.secret) headers['X-Crier-Signature'] = `sha256=${sign(payload.body, channel.secret)}`
    let response: HttpResponse
    try {
      response = await requestWithDeadline(context.http, payload.url, channel, context.signal, {method: 'POST', headers, body: payload.body})
    } catch (error) {
      const reason = truncate(scrub(networkReason(error), channel))
      // undici refuses the request itself (a configured header with a newline, say): no retry can fix that.
      if (errorCode(error) === 'UND_ERR_INVALID_ARG') throw new PermanentSendError(reason)
      throw new TransientSendError(reason)
    }
    return classifyResponse(response, context.idempotencyKey, context.now, channel)
  },

  async check(channel, context) {
    const secretState = `secret: ${channel.secret ? 'set' : 'not set'}`
    // HEAD posts nothing; any status at all proves the endpoint is there and answering.
    try {
      const response = await requestWithDeadline(context.http, channel.url, channel, context.signal, {method: 'HEAD', headers: {...extraHeaders(channel), 'User-Agent': 'crier'}})
      return {ok: true, detail: `reachable (HTTP ${response.status}); ${secretState}`}
    } catch (error) {
      return {ok: false, detail: `unreachable: ${truncate(scrub(networkReason(error), channel))}; ${secretState}`}
    }
  },
}

function isHttpUrl(text: string): boolean {
  try {
    const {protocol} = new URL(text)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}

/** The CAP fields a partner needs, in a fixed key order so the same announcement signs the same. */
function toWebhookDocument(announcement: Announcement, variant: Variant, capUrl: string | undefined) {
  const area = announcement.area
  return {
    id: announcement.id,
    identifier: announcement.identifier,
    sender: announcement.sender,
    sent: isoTime(announcement.createdAt),
    status: announcement.status,
    msgType: announcement.msgType,
    scope: announcement.scope,
    references: announcement.references,
    category: announcement.category,
    event: announcement.event,
    urgency: announcement.urgency,
    severity: announcement.severity,
    certainty: announcement.certainty,
    effective: isoTime(announcement.effectiveAt),
    expires: isoTime(announcement.expiresAt),
    web: announcement.web,
    area: area && {description: area.description, polygons: area.polygons, circles: area.circles, geocodes: area.geocodes},
    language: variant.language,
    headline: variant.headline,
    description: variant.description,
    instruction: variant.instruction,
    variants: announcement.variants.map((each) => ({
      language: each.language,
      headline: each.headline,
      description: each.description,
      instruction: each.instruction,
    })),
    links: capUrl ? [{rel: 'cap', type: 'application/cap+xml', href: capUrl}] : undefined,
  }
}

function isoTime(epochMs: number | undefined): string | undefined {
  return epochMs === undefined ? undefined : new Date(epochMs).toISOString()
}

function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex')
}

// The headers crier sets cannot be overridden from config: a partner verifying signatures
// or de-duplicating on Idempotency-Key must get ours.
const reservedHeaders = new Set(['content-type', 'user-agent', 'idempotency-key', 'x-crier-signature', 'content-length', 'host'])

function extraHeaders(channel: ChannelConfig<WebhookSettings>): Record<string, string> {
  const extra: Record<string, string> = {}
  for (const [name, value] of Object.entries(channel.headers ?? {})) {
    if (!reservedHeaders.has(name.toLowerCase())) extra[name] = value
  }
  return extra
}

/**
 * One request bounded by the channel's timeout as a whole (undici's own timeouts are per idle
 * period, and its connect timeout is the pool's), and by the caller's signal.
 */
async function requestWithDeadline(
  http: HttpClient,
  url: string,
  channel: ChannelConfig<WebhookSettings>,
  signal: AbortSignal,
  request: {method: string; headers: Record<string, string>; body?: string},
): Promise<HttpResponse> {
  const timeoutMs = parseDuration(channel.timeout) ?? defaultTimeoutMs
  const controller = new AbortController()
  // Listeners are removed afterwards rather than using AbortSignal.any: the caller's signal
  // lives as long as the worker, and every send would otherwise stay attached to it.
  const abortFromCaller = () => controller.abort(new CancelledError())
  if (signal.aborted) abortFromCaller()
  else signal.addEventListener('abort', abortFromCaller, {once: true})
  const deadline = setTimeout(() => controller.abort(new DeadlineError(timeoutMs)), timeoutMs)
  try {
    return await http.request(url, {...request, timeoutMs, signal: controller.signal})
  } catch (error) {
    // Whatever undici reports after our own abort, the reason is the abort.
    if (controller.signal.aborted) throw controller.signal.reason
    if (isUndiciTimeout(error)) throw new DeadlineError(timeoutMs)
    throw error
  } finally {
    clearTimeout(deadline)
    signal.removeEventListener('abort', abortFromCaller)
  }
}

class DeadlineError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`)
  }
}

class CancelledError extends Error {
  constructor() {
    super('request aborted')
  }
}

function isUndiciTimeout(error: unknown): boolean {
  const code = errorCode(error)
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
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
function networkReason(error: unknown): string {
  if (error instanceof DeadlineError || error instanceof CancelledError) return error.message
  const code = errorCode(error)
  if (code && networkReasons[code]) return networkReasons[code]
  if (error instanceof Error && error.name === 'AbortError') return 'request aborted'
  const message = error instanceof Error ? error.message : String(error)
  return code ? `${code}: ${message}` : message
}

/** The error's code, looking through `cause` and AggregateError (happy eyeballs tries every address). */
function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const {code} = current as {code?: unknown}
    if (typeof code === 'string') return code
    const errors = (current as {errors?: unknown}).errors
    current = Array.isArray(errors) && errors.length ? errors[0] : (current as {cause?: unknown}).cause
  }
  return undefined
}

function classifyResponse(response: HttpResponse, idempotencyKey: string, now: () => number, channel: ChannelConfig<WebhookSettings>): Receipt {
  const {status} = response
  if (status >= 200 && status < 300) return {providerId: providerIdOf(response.body) ?? idempotencyKey}
  const reason = responseReason(response, channel)
  const retryAfterMs = parseRetryAfter(headerValue(response, 'retry-after'), now())
  if (status === 429) throw new RateLimitedError(reason, retryAfterMs ?? defaultRateLimitMs)
  if (status === 408 || status === 425 || status >= 500) throw new TransientSendError(reason, retryAfterMs)
  // Other 4xx (and redirects, which undici does not follow): sending the same again cannot succeed.
  throw new PermanentSendError(reason)
}

function providerIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body)
    const id = parsed && typeof parsed === 'object' ? (parsed as {id?: unknown}).id : undefined
    return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined
  } catch {
    return undefined
  }
}

function headerValue(response: HttpResponse, name: string): string | undefined {
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

/** "HTTP 400: <first line of the body>", safe to store and to print on a terminal. */
function responseReason(response: HttpResponse, channel: ChannelConfig<WebhookSettings>): string {
  const firstLine = response.body
    .split(/\r?\n/)
    .map((line) => stripControl(line).trim())
    .find((line) => line.length > 0)
  return firstLine ? `HTTP ${response.status}: ${truncate(scrub(firstLine, channel))}` : `HTTP ${response.status}`
}

function stripControl(text: string): string {
  // ANSI sequences first, so their printable tails ("[31m") go with them.
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
}

const credentialHeader = /auth|token|key|secret|cookie|password|signature/i

/**
 * Removes this channel's secrets from text that may echo them (a provider's error body, an
 * undici message): the HMAC key, credential-like headers, the URL's password and query string,
 * plus every `${ENV}` value crier knows.
 */
function scrub(text: string, channel: ChannelConfig<WebhookSettings>): string {
  const secrets: string[] = []
  if (channel.secret) secrets.push(channel.secret)
  for (const [name, value] of Object.entries(channel.headers ?? {})) {
    if (credentialHeader.test(name)) secrets.push(value, ...value.split(/\s+/).filter((word) => word.length >= 8))
  }
  try {
    const url = new URL(channel.url)
    if (url.search.length > 1) secrets.push(url.search.slice(1), ...url.searchParams.values())
    if (url.password) secrets.push(url.password, decodeURIComponent(url.password))
  } catch {
    // The schema admitted only valid URLs.
  }
  let result = redact(text)
  // Longest first, so a value that contains another is replaced whole.
  for (const secret of secrets.filter((each) => each.length >= 4).sort((a, b) => b.length - a.length)) {
    result = result.split(secret).join('***')
  }
  return result
}

/** Cut after scrubbing, so no secret is half-kept. */
function truncate(text: string): string {
  const chars = Array.from(text)
  return chars.length > maxReasonChars ? `${chars.slice(0, maxReasonChars).join('')}…` : text
}

/** The URL as preview shows it: no userinfo, no query string (either may hold a token). */
function displayUrl(text: string): string {
  try {
    const url = new URL(text)
    if (!url.username && !url.password && !url.search) return text
    url.username = ''
    url.password = ''
    if (url.search) url.search = '?***'
    return redact(url.href)
  } catch {
    return redact(text)
  }
}
