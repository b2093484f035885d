import {createHmac} from 'node:crypto'
import {z} from 'zod'
import {stripTerminalControls} from '../core/terminal-text.js'
import type {ChannelConfig, CheckResult, Driver, Receipt} from './driver.js'
import {ChannelUnusableError, InDoubtSendError, PermanentSendError, RateLimitedError, TransientSendError} from './errors.js'
import type {HttpClient, HttpResponse} from './http.js'
import {firstBodyLine, gatewayInDoubt, headerValue, networkReason, parseRetryAfter, safeReason, urlSecrets, parseJsonObject, unansweredSend} from './http-failures.js'
import {channelTimeoutMs} from './timeout.js'
import {socialText} from './social-text.js'
import {apiBaseUrl} from './http-url.js'

// A Facebook Page's feed, through the Graph API over plain HTTP
// (https://developers.facebook.com/docs/pages-api/posts): one post per announcement, as the
// page, with the web link attached as a link card. No threads: a page post holds 63,206
// characters, so an announcement that does not fit is refused by policy rather than split.
//
// The page access token goes in the Authorization header, never in a URL (the Graph API's
// examples put it in the query string, where proxies and logs keep it). The Graph API has no
// idempotency key: a post whose answer was lost may have gone out, so the driver is not
// idempotent and the engine marks such a delivery `unknown`, never reposts.

/** The longest message a page post takes. */
const maxMessageLength = 63_206
/** When a rate limit says neither Retry-After nor an estimated time to regain access. */
const defaultRateLimitMs = 5 * 60_000

const facebookSettings = z.object({
  /** The page's numeric id (Page → About → Page transparency, or Meta Business Suite). */
  pageId: z
    .union([z.string(), z.number().int()])
    .transform(String)
    .refine((id) => /^\d{1,30}$/.test(id), 'expected the page\'s numeric id, in quotes, such as "1234567890"'),
  /** A Page access token with pages_manage_posts; written `${ENV}` in config. */
  pageAccessToken: z.string().min(1),
  /** The app's secret, when the app requires appsecret_proof on every call; written `${ENV}`. */
  appSecret: z.string().min(1).optional(),
  /** The Graph API host and version. */
  baseUrl: apiBaseUrl.default('https://graph.facebook.com/v21.0'),
  severityTag: z.boolean().default(true),
})
export type FacebookSettings = z.infer<typeof facebookSettings>

/** render() output and send() input: the post's `message` and `link` exactly as sent. */
export interface FacebookPayload {
  pageId: string
  message: string
  link?: string
}

export const facebook: Driver<FacebookSettings, FacebookPayload> = {
  type: 'facebook',
  kind: 'broadcast',
  config: facebookSettings,
  capabilities: {maxLength: maxMessageLength, counts: 'characters', threads: false, media: false, idempotent: false, reconcile: false},

  render(announcement, variant, context) {
    const {channel} = context
    const text = socialText(announcement, variant, {severityTag: channel.severityTag, capUrl: context.capUrl})
    // The link goes as `link`, shown as a card under the post; repeating it in the text would
    // show it twice.
    const message = [text.heading, text.body].filter(Boolean).join('\n\n')
    return {
      parts: [
        {
          label: text.link ? `post, link card ${text.link}` : 'post',
          text: message,
          length: {count: facebookLength(message), limit: maxMessageLength, unit: 'characters'},
        },
      ],
      payload: {pageId: channel.pageId, message, ...(text.link && {link: text.link})},
    }
  },

  async send(payload, context) {
    const {channel} = context
    const form = new URLSearchParams({message: payload.message})
    if (payload.link) form.set('link', payload.link)
    if (channel.appSecret) form.set('appsecret_proof', appSecretProof(channel))
    let response: HttpResponse
    try {
      response = await context.http.request(graphUrl(channel, `/${encodeURIComponent(payload.pageId)}/feed`), {
        timeoutMs: channelTimeoutMs(channel),
        signal: context.signal,
        method: 'POST',
        headers: {...authHeaders(channel), 'Content-Type': 'application/x-www-form-urlencoded'},
        body: form.toString(),
      })
    } catch (error) {
      throw unansweredSend(error, channelSecrets(channel))
    }
    if (response.status >= 200 && response.status < 300) {
      const receipt = receiptOf(response)
      if (receipt.providerId) return receipt
      // A Graph error in a 2xx is an error; a 2xx naming no post (a proxy, a baseUrl that is not
      // the Graph API) is no proof of one: in doubt, never counted as sent nor posted again.
      if (parseGraphError(response.body).code !== undefined) throw classifyFailure(response, channel, context.now())
      throw new InDoubtSendError(`HTTP ${response.status} without a post id — it may or may not be on the page: check it, and the channel's baseUrl`)
    }
    throw classifyFailure(response, channel, context.now())
  },

  async check(channel, context) {
    // The page's name proves the token can read the page; /me proves the token is this page's
    // own (a user's token, or another page's, reads the name too but cannot post as the page).
    let page: HttpResponse
    let me: HttpResponse
    try {
      page = await graphGet(channel, `/${encodeURIComponent(channel.pageId)}`, 'name', context)
      if (page.status !== 200) return {ok: false, detail: failureReason(page, channel)}
      me = await graphGet(channel, '/me', 'id,name', context)
      if (me.status !== 200) return {ok: false, detail: failureReason(me, channel)}
    } catch (error) {
      return {ok: false, detail: `unreachable: ${safeReason(networkReason(error), channelSecrets(channel))}`}
    }
    return describePage(parseJsonObject(page.body) ?? {}, parseJsonObject(me.body) ?? {}, channel)
  },
}

/** Counted in UTF-16 code units: never fewer than Facebook's characters, so never over its limit. */
function facebookLength(text: string): number {
  return text.length
}

function graphUrl(channel: ChannelConfig<FacebookSettings>, path: string, query?: URLSearchParams): string {
  const base = `${channel.baseUrl.replace(/\/+$/, '')}${path}`
  const search = query?.toString()
  return search ? `${base}?${search}` : base
}

function authHeaders(channel: ChannelConfig<FacebookSettings>): Record<string, string> {
  return {Authorization: `Bearer ${channel.pageAccessToken}`, Accept: 'application/json', 'User-Agent': 'crier'}
}

/** https://developers.facebook.com/docs/graph-api/securing-requests#appsecret_proof: HMAC-SHA256 of the token. */
function appSecretProof(channel: ChannelConfig<FacebookSettings>): string {
  return createHmac('sha256', channel.appSecret!).update(channel.pageAccessToken).digest('hex')
}

function graphGet(channel: ChannelConfig<FacebookSettings>, path: string, fields: string, context: {http: HttpClient; signal: AbortSignal}): Promise<HttpResponse> {
  // appsecret_proof is a hash, not a credential: it may go in the query string.
  const query = new URLSearchParams({fields})
  if (channel.appSecret) query.set('appsecret_proof', appSecretProof(channel))
  return context.http.request(graphUrl(channel, path, query), {timeoutMs: channelTimeoutMs(channel), signal: context.signal, method: 'GET', headers: authHeaders(channel)})
}

function receiptOf(response: HttpResponse): Receipt {
  const id = parseJsonObject(response.body)?.id
  if (typeof id !== 'string' && typeof id !== 'number') return {}
  // A page post's id is "<page id>_<post id>"; facebook.com/<that id> opens the post.
  return {providerId: String(id), url: `https://www.facebook.com/${encodeURIComponent(String(id))}`}
}

function describePage(page: Record<string, unknown>, me: Record<string, unknown>, channel: ChannelConfig<FacebookSettings>): CheckResult {
  const name = typeof page.name === 'string' ? `"${outsideText(page.name, channel)}"` : channel.pageId
  if (String(me.id) !== channel.pageId) {
    const holder = typeof me.name === 'string' ? ` (it is "${outsideText(me.name, channel)}"'s)` : ''
    return {ok: false, detail: `page ${name} is readable, but the token is not this page's access token${holder} — use a Page access token for page ${channel.pageId}`}
  }
  return {ok: true, detail: `page ${name} (${channel.pageId}); token is the page's own`}
}

// Errors: https://developers.facebook.com/docs/graph-api/guides/error-handling

interface GraphError {
  code?: number
  subcode?: number
  message?: string
  isTransient?: boolean
}

/** Application (4), user (17), page (32) and custom (613) rate limits; 80001–80099: business use case limits. */
function isRateLimitCode(code: number): boolean {
  return code === 4 || code === 17 || code === 32 || code === 613 || (code >= 80_000 && code < 80_100)
}

function classifyFailure(response: HttpResponse, channel: ChannelConfig<FacebookSettings>, nowMs: number): Error {
  const error = parseGraphError(response.body)
  const reason = failureReason(response, channel, error)
  const retryAfterMs = parseRetryAfter(headerValue(response, 'retry-after'), nowMs)
  const {code} = error
  if ((code !== undefined && isRateLimitCode(code)) || response.status === 429) {
    return new RateLimitedError(reason, retryAfterMs ?? regainAccessMs(response) ?? defaultRateLimitMs)
  }
  const inDoubt = gatewayInDoubt(response.status, reason, 'the post')
  if (inDoubt) return inDoubt
  // The page token invalid or expired (190; 102, a session gone): the channel waits, its deliveries queued, until it is set right.
  if (code === 190 || code === 102) return new ChannelUnusableError(reason)
  // 1 (unknown error) and 2 (service temporarily down) are Facebook's "try again".
  if (code === 1 || code === 2 || error.isTransient === true) return new TransientSendError(reason, retryAfterMs)
  if (code === undefined && (response.status >= 500 || response.status === 408 || response.status === 425)) return new TransientSendError(reason, retryAfterMs)
  // 190 (token), 10 and 200–299 (permissions), 100 (parameters), 368 (blocked), 506 (duplicate),
  // and redirects, which undici does not follow: the same post cannot succeed by resending.
  return new PermanentSendError(reason)
}

/**
 * The longest `estimated_time_to_regain_access` (minutes) in the usage headers Facebook sends
 * with a throttled call, in ms; undefined when none says (or all say 0).
 */
function regainAccessMs(response: HttpResponse): number | undefined {
  let minutes = 0
  for (const name of ['x-business-use-case-usage', 'x-app-usage', 'x-page-usage', 'x-ad-account-usage']) {
    const value = headerValue(response, name)
    if (!value) continue
    try {
      minutes = Math.max(minutes, largestRegainMinutes(JSON.parse(value), 0))
    } catch {
      // A usage header that is not JSON says nothing about when access comes back.
    }
  }
  return minutes > 0 ? minutes * 60_000 : undefined
}

function largestRegainMinutes(node: unknown, depth: number): number {
  if (!node || typeof node !== 'object' || depth > 4) return 0
  let largest = 0
  for (const [key, value] of Object.entries(node)) {
    if (key === 'estimated_time_to_regain_access' && typeof value === 'number' && Number.isFinite(value)) largest = Math.max(largest, value)
    else largest = Math.max(largest, largestRegainMinutes(value, depth + 1))
  }
  return largest
}

function parseGraphError(body: string): GraphError {
  const error = parseJsonObject(body)?.error
  if (!error || typeof error !== 'object') return {}
  const {code, error_subcode: subcode, message, is_transient: isTransient} = error as Record<string, unknown>
  return {
    code: typeof code === 'number' ? code : undefined,
    subcode: typeof subcode === 'number' ? subcode : undefined,
    message: typeof message === 'string' ? message : undefined,
    isTransient: typeof isTransient === 'boolean' ? isTransient : undefined,
  }
}

/** "Facebook 100/33: Unsupported post request…", with what to do where crier knows. Never the token. */
function failureReason(response: HttpResponse, channel: ChannelConfig<FacebookSettings>, error = parseGraphError(response.body)): string {
  const said = error.message ?? firstBodyLine(response.body)
  const text = said ? outsideText(said, channel) : ''
  if (error.code === undefined) return text ? `HTTP ${response.status}: ${text}` : `HTTP ${response.status}`
  const code = error.subcode ? `${error.code}/${error.subcode}` : String(error.code)
  const base = text ? `Facebook ${code}: ${text}` : `Facebook ${code} (HTTP ${response.status})`
  if (error.code === 190 || error.code === 102) return `${base} — the page access token is invalid or expired: set a new pageAccessToken`
  if (error.code === 10 || (error.code >= 200 && error.code < 300)) return `${base} — the token needs pages_manage_posts and the page's CREATE_CONTENT task`
  return base
}

/** Text a provider sent, made safe to store and print. */
function outsideText(text: string, channel: ChannelConfig<FacebookSettings>): string {
  return safeReason(stripTerminalControls(text).trim(), channelSecrets(channel))
}

/** The token and app secret (and the proof made of them), the baseUrl's credentials, plus every `${ENV}` value. */
function channelSecrets(channel: ChannelConfig<FacebookSettings>): string[] {
  const secrets = [channel.pageAccessToken, encodeURIComponent(channel.pageAccessToken)]
  if (channel.appSecret) secrets.push(channel.appSecret, appSecretProof(channel))
  return [...secrets, ...urlSecrets(channel.baseUrl)]
}

