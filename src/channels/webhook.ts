import {createHmac} from 'node:crypto'
import {z} from 'zod'
import type {Announcement, Variant} from '../core/announcement.js'
import {capReferences, formatCapDateTime, sentTime} from '../core/cap/build.js'
import {redact} from '../config/secrets.js'
import type {ChannelConfig, Driver, Receipt} from './driver.js'
import {PermanentSendError, RateLimitedError, TransientSendError} from './errors.js'
import type {HttpResponse} from './http.js'
import {firstBodyLine, safeReason, urlSecrets, headerValue, networkReason, parseRetryAfter, unansweredSend} from './http-failures.js'
import {channelTimeoutMs} from './timeout.js'
import {isHttpUrl} from './http-url.js'

// A partner's HTTPS endpoint that receives each announcement as JSON, signed with a shared
// secret (X-Crier-Signature: sha256=<hex HMAC of the exact body>) so the partner can tell it
// came from us. One channel posts to one URL; several partners are several channels.

// The headers crier sets cannot be set from config: a partner verifying signatures or
// de-duplicating on Idempotency-Key must get ours, and the connection and framing are undici's
// (it refuses these at every send).
const reservedHeaders = new Set(['content-type', 'user-agent', 'idempotency-key', 'x-crier-signature', 'content-length', 'host', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer', 'proxy-connection'])

// RFC 9110 field names, values on one line: undici would refuse them at every send instead.
const configHeaders = z.record(z.string(), z.string().refine((value) => !/[\r\n\0]/.test(value), 'a header value must be one line (no CR, LF or NUL)').refine((value) => !/[^\x00-\xff]/.test(value), 'a header value is Latin-1 text: no emoji or other characters beyond it (percent-encode them)')).superRefine((headers, ctx) => {
  for (const name of Object.keys(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) ctx.addIssue({code: 'custom', path: [name], message: 'expected a header name (letters, digits, -)'})
    else if (reservedHeaders.has(name.toLowerCase())) ctx.addIssue({code: 'custom', path: [name], message: `crier sets ${name} itself — remove it`})
  }
})

const webhookSettings = z.object({
  /** `https://user:${PASSWORD}@host/…` sends the user and password as Basic authorization. */
  url: z.string().refine(isHttpUrl, 'expected an http(s) URL'),
  /** HMAC key shared with the partner; written `${ENV}` in config. */
  secret: z.string().min(1).optional(),
  headers: configHeaders.optional(),
}).refine((settings) => !(hasUserInfo(settings.url) && Object.keys(settings.headers ?? {}).some((name) => name.toLowerCase() === 'authorization')), {
  path: ['headers', 'Authorization'],
  message: 'the url has a user and password too — keep one way to sign in: the url\'s, or this header',
})

function hasUserInfo(url: string): boolean {
  try {
    const {username, password} = new URL(url)
    return Boolean(username || password)
  } catch {
    return false
  }
}
export type WebhookSettings = z.infer<typeof webhookSettings>

/** What render produces and send posts unchanged: the body is signed byte for byte. */
export interface WebhookPayload {
  url: string
  body: string
}

/** Partners' gateways commonly refuse bodies above 1 MiB; preview shows the body against it. */
const maxBodyBytes = 1_048_576
/** When a 429 does not say how long to wait. */
const defaultRateLimitMs = 30_000

export const webhook: Driver<WebhookSettings, WebhookPayload> = {
  type: 'webhook',
  kind: 'broadcast',
  config: webhookSettings,
  capabilities: {counts: 'bytes', threads: false, media: false, idempotent: true, reconcile: false},

  render(announcement, variant, context) {
    const document = toWebhookDocument(announcement, variant, context.capUrl, context.referenced && capReferences(context.referenced, context.earlier))
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
    const headers: Record<string, string> = Object.assign({}, fixedHeaders(channel))
    headers['Idempotency-Key'] = context.idempotencyKey
    if (channel.secret) headers['X-Crier-Signature'] = `sha256=${sign(payload.body, channel.secret)}`
    let response: HttpResponse
    try {
      response = await context.http.request(payload.url, {timeoutMs: channelTimeoutMs(channel), signal: context.signal, method: 'POST', headers, body: payload.body})
    } catch (error) {
      // Refused by undici (a header with a newline): permanent; never sent (connection refused):
      // transient; no answer after it went: in doubt — the partner may hold it (a Cancel goes there).
      throw unansweredSend(error, channelSecrets(channel))
    }
    return classifyResponse(response, context.idempotencyKey, context.now, channel)
  },

  async check(channel, context) {
    const secretState = `secret: ${channel.secret ? 'set' : 'not set'}`
    // HEAD posts nothing. An answer proves the endpoint is there — many take POST only (405, 404)
    // — but a 5xx says it is failing, and 401/403 that it refuses the channel's headers.
    try {
      const response = await context.http.request(channel.url, {timeoutMs: channelTimeoutMs(channel), signal: context.signal, method: 'HEAD', headers: {...extraHeaders(channel), 'User-Agent': 'crier'}})
      if (response.status >= 500) return {ok: false, detail: `failing: it answers HTTP ${response.status} (a send now would be retried until it recovers); ${secretState}`}
      if (response.status === 401 || response.status === 403) return {ok: false, detail: `refused (HTTP ${response.status}): check the channel's headers; ${secretState}`}
      return {ok: true, detail: `reachable (HTTP ${response.status}); ${secretState}`}
    } catch (error) {
      return {ok: false, detail: `unreachable: ${safeReason(networkReason(error), channelSecrets(channel))}; ${secretState}`}
    }
  },
}

/**
 * The CAP fields a partner needs, in a fixed key order so the same announcement signs the same.
 * `references` is CAP's "sender,identifier,sent" of what an Update or Cancel follows up: the
 * partner knows messages by those, never by crier's own ids.
 */
function toWebhookDocument(announcement: Announcement, variant: Variant, capUrl: string | undefined, references: string | undefined) {
  const area = announcement.area
  return {
    id: announcement.id,
    identifier: announcement.identifier,
    sender: announcement.sender,
    senderName: announcement.senderName,
    // CAP's form, as in <sent> and in references: a partner matches follow-ups on it.
    sent: formatCapDateTime(sentTime(announcement)),
    status: announcement.status,
    msgType: announcement.msgType,
    scope: announcement.scope,
    references,
    category: announcement.category,
    event: announcement.event,
    urgency: announcement.urgency,
    severity: announcement.severity,
    certainty: announcement.certainty,
    // CAP's dateTime form, as `sent` above: one form of time in the document a partner reads.
    effective: capTime(announcement.effectiveAt),
    expires: capTime(announcement.expiresAt),
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

function capTime(epochMs: number | undefined): string | undefined {
  return epochMs === undefined ? undefined : formatCapDateTime(epochMs)
}

function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex')
}


const fixedHeadersOf = new WeakMap<ChannelConfig<WebhookSettings>, Readonly<Record<string, string>>>()

/** The headers every POST on the channel carries, made once per channel rather than per send. */
function fixedHeaders(channel: ChannelConfig<WebhookSettings>): Readonly<Record<string, string>> {
  let headers = fixedHeadersOf.get(channel)
  if (!headers) {
    headers = Object.freeze({...extraHeaders(channel), 'Content-Type': 'application/json', 'User-Agent': 'crier'})
    fixedHeadersOf.set(channel, headers)
  }
  return headers
}

/**
 * The config's headers, and the URL's user and password as Basic authorization (undici does not
 * send them; config refuses them beside an Authorization header).
 */
function extraHeaders(channel: ChannelConfig<WebhookSettings>): Record<string, string> {
  const extra: Record<string, string> = {...channel.headers}
  const {username, password} = new URL(channel.url)
  if (username || password) {
    extra.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(username)}:${decodeURIComponent(password)}`).toString('base64')}`
  }
  return extra
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

/** "HTTP 400: <first line of the body>", safe to store and to print on a terminal. */
function responseReason(response: HttpResponse, channel: ChannelConfig<WebhookSettings>): string {
  const firstLine = firstBodyLine(response.body)
  return firstLine ? `HTTP ${response.status}: ${safeReason(firstLine, channelSecrets(channel))}` : `HTTP ${response.status}`
}

const credentialHeader = /auth|token|key|secret|cookie|password|signature/i

/**
 * Removes this channel's secrets from text that may echo them (a provider's error body, an
 * undici message): the HMAC key, credential-like headers, the URL's password and query string,
 * plus every `${ENV}` value crier knows.
 */
function channelSecrets(channel: ChannelConfig<WebhookSettings>): string[] {
  const secrets: string[] = []
  if (channel.secret) secrets.push(channel.secret)
  for (const [name, value] of Object.entries(channel.headers ?? {})) {
    if (credentialHeader.test(name)) secrets.push(value, ...value.split(/\s+/).filter((word) => word.length >= 8))
  }
  return [...secrets, ...urlSecrets(channel.url)]
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
