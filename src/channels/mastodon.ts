import {createRequire} from 'node:module'
import {z} from 'zod'
import {severities, type Announcement, type Variant} from '../core/announcement.js'
import {stripTerminalControls} from '../core/terminal-text.js'
import type {ChannelConfig, CheckResult, Driver, PostedPart, SendContext} from './driver.js'
import {ChannelUnusableError, PermanentSendError, RateLimitedError, TransientSendError} from './errors.js'
import type {HttpClient, HttpResponse} from './http.js'
import {firstBodyLine, headerValue, isRefusedRequest, networkReason, parseRetryAfter, safeReason} from './http-failures.js'
import {channelTimeoutMs} from './timeout.js'
import {socialText, type SocialText} from './social-text.js'
import {postThread, threadPosts} from './thread.js'
import {isApiBaseUrl} from './http-url.js'
import {segmenter} from '../core/segmenter.js'

// Posts on a Mastodon instance (or any server speaking its API: GoToSocial, Pleroma, Akkoma)
// through the REST API directly, https://docs.joinmastodon.org/methods/statuses/#create.
// Not through masto: it sends with global fetch, and against a local fake one post through it
// took 0.9–2.3 ms where the same request on an undici Pool took 0.12–0.25 ms (5–9×; the goal is
// ≤ 1.5×). Through the shared pool (`context.http`) this driver adds ~15 µs of its own per post.
// POST /api/v1/statuses is one small JSON request; masto would only wrap it.
//
// Idempotent: each post carries `Idempotency-Key: <delivery>-<part>`, and Mastodon answers a
// repeated key with the status it already created instead of posting again. It remembers a key
// for an hour (per account), which covers the engine's retries of one delivery.

const visibilities = ['public', 'unlisted', 'private'] as const

const mastodonSettings = z.object({
  /** The instance, e.g. https://mastodon.social; a path prefix is kept (a proxy). */
  baseUrl: z.string().refine(isApiBaseUrl, "expected the instance's http(s) URL, e.g. https://mastodon.social, without user:password, ?query or #fragment"),
  /** A user access token with the write:statuses scope (read:accounts for channels test); written `${ENV}`. */
  accessToken: z.string().min(1),
  visibility: z.enum(visibilities).default('public'),
  /**
   * Severities whose posts go behind a content warning (spoiler_text): the severity tag and
   * headline become the warning, the rest the post. Some instances ask for CWs on alarming news.
   */
  spoilerFor: z.array(z.enum(severities)).default([]),
  /**
   * The instance's limit per post. Not defaulted here: `channels test` learns the instance's own
   * (configuration.statuses.max_characters) and config load gives it back unless this is set;
   * 500, Mastodon's default, until then.
   */
  maxCharacters: z.number().int().min(1).max(1_000_000).optional(),
  threads: z.boolean().default(true),
  severityTag: z.boolean().default(true),
})
export type MastodonSettings = z.infer<typeof mastodonSettings>

/** One status as POST /api/v1/statuses takes it, less in_reply_to_id (known only when sending). */
export interface MastodonStatus {
  status: string
  spoiler_text?: string
  visibility: (typeof visibilities)[number]
  language?: string
}

/** render() output and send() input: the statuses of the thread, in order. */
export interface MastodonPayload {
  statuses: MastodonStatus[]
}

/** Mastodon's default max_characters, until `channels test` has learned the instance's own. */
export const defaultMaxCharacters = 500
/** When a 429 carries neither X-RateLimit-Reset nor Retry-After. */
const defaultRateLimitMs = 60_000
/** A reset already past (clock skew) still pauses a moment rather than spinning. */
const minimumRateLimitMs = 1000

export const mastodon: Driver<MastodonSettings, MastodonPayload> = {
  type: 'mastodon',
  kind: 'broadcast',
  config: mastodonSettings,
  // Mastodon keeps an Idempotency-Key for an hour: a send left in doubt longer than this is not re-sent blindly.
  capabilities: {maxLength: defaultMaxCharacters, counts: 'characters', threads: true, media: false, idempotent: true, idempotencyWindowMs: 50 * 60_000, reconcile: false},

  render(announcement, variant, context) {
    const {channel} = context
    const limit = channel.maxCharacters ?? defaultMaxCharacters
    const text = socialText(announcement, variant, {severityTag: channel.severityTag, capUrl: context.capUrl})
    const {content, spoiler} = withContentWarning(text, announcement, channel)
    const count = (post: string) => mastodonLength(post, spoiler)
    const posts = threadPosts(content, {limit, count, threads: channel.threads})
    // The variant is the one for the channel's language (channelVariant), where there is one.
    const language = languageOf(variant)
    const statuses = posts.map((status): MastodonStatus => ({status, ...(spoiler && {spoiler_text: spoiler}), visibility: channel.visibility, ...(language && {language})}))
    return {
      parts: statuses.map((status, index) => ({
        label: statuses.length === 1 ? 'post' : `post ${index + 1}/${statuses.length}`,
        text: spoiler ? `Content warning: ${spoiler}\n\n${status.status}` : status.status,
        length: {count: count(status.status), limit, unit: 'characters'},
      })),
      payload: {statuses},
    }
  },

  async send(payload, context) {
    return postThread(payload.statuses, context, (status, index, replyTo) => postStatus(status, index, replyTo, context))
  },

  async check(channel, context) {
    return checkAccount(channel, context)
  },
}

// Rendering.

/**
 * For a severity in `spoilerFor`, the first line (tags and headline: "🔴 EXTREME: Evacuate
 * Llanrwst") becomes the content warning — what people see before opening the post — and the
 * post holds the rest. Every part of a thread carries it, as Mastodon's composer does for replies.
 */
function withContentWarning(text: SocialText, announcement: Announcement, channel: ChannelConfig<MastodonSettings>): {content: SocialText; spoiler?: string} {
  if (!channel.spoilerFor.includes(announcement.severity) || !text.heading) return {content: text}
  // A post needs text: a headline-only announcement without a link keeps its headline in the post too.
  if (!text.body && !text.link) return {content: text, spoiler: text.heading}
  return {content: {...text, heading: ''}, spoiler: text.heading}
}

/** Mastodon files posts under a language (ISO 639); its regional codes are few, so cy-GB → cy. */
function languageOf(variant: Variant): string | undefined {
  const primary = variant.language.split(/[-_]/)[0]?.toLowerCase()
  return primary && /^[a-z]{2,3}$/.test(primary) ? primary : undefined
}

// Counting, as Mastodon's StatusLengthValidator does (app/validators/status_length_validator.rb):
// the content warning and the text together, in grapheme clusters (`each_grapheme_cluster`),
// with every URL that its extractor finds counting 23 whatever its length. Its extractor is
// twitter-text's (same 3.1 rules and TLD list: `https://x.example/` is not a URL to it and
// counts in full), with Mastodon's own rules for a URL's path and query
// (config/initializers/twitter_regex.rb). Mentions (`@user@domain` counts as `@user`) are not
// shortened here: an announcement rarely has one, and counting one in full only splits earlier.

const urlCharacters = 23

/** The length Mastodon counts for a post with this text and content warning. */
export function mastodonLength(text: string, spoilerText = ''): number {
  return graphemeCount(spoilerText + countableText(text))
}

function graphemeCount(text: string): number {
  // Printable ASCII and line feeds are one grapheme each (CR LF would be one for two).
  if (/^[\x20-\x7e\n]*$/.test(text)) return text.length
  let count = 0
  for (const _ of segmenter('grapheme').segment(text)) count++
  return count
}

/** The text with each URL replaced by 23 characters; blank text counts nothing, as `str.blank?`. */
function countableText(text: string): string {
  if (!text.trim()) return ''
  if (!text.includes('://')) return text
  let result = ''
  let copied = 0
  for (const [start, end] of urlSpans(text)) {
    result += text.slice(copied, start) + 'x'.repeat(urlCharacters)
    copied = end
  }
  return result + text.slice(copied)
}

// Mastodon's path and query rules, which differ from twitter-text's (a path may hold any
// non-space character but < > ( ) ?, and may not end in punctuation).
const pathChar = String.raw`[^\p{White_Space}<>()?]`
const balancedParens = String.raw`\((?:${pathChar}+|${pathChar}*\(${pathChar}+\)${pathChar}*)\)`
const pathEnding = String.raw`(?:[^\p{White_Space}()?!*"'「」<>;:=,.$%\[\]~&|@]|${balancedParens})`
const urlPath = String.raw`(?:${pathChar}*(?:${balancedParens}${pathChar}*)*${pathEnding}|${pathChar}+/)`
const uchars = String.raw`\u{A0}-\u{D7FF}\u{F900}-\u{FDCF}\u{FDF0}-\u{FFEF}\u{10000}-\u{1FFFD}\u{20000}-\u{2FFFD}\u{30000}-\u{3FFFD}\u{40000}-\u{4FFFD}\u{50000}-\u{5FFFD}\u{60000}-\u{6FFFD}\u{70000}-\u{7FFFD}\u{80000}-\u{8FFFD}\u{90000}-\u{9FFFD}\u{A0000}-\u{AFFFD}\u{B0000}-\u{BFFFD}\u{C0000}-\u{CFFFD}\u{D0000}-\u{DFFFD}\u{E1000}-\u{EFFFD}\u{E000}-\u{F8FF}\u{F0000}-\u{FFFFD}\u{100000}-\u{10FFFD}`
const queryChars = String.raw`[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^${uchars}]`
const queryEnding = String.raw`[a-z0-9_&=#/\-${uchars}]`
const pathAndQuery = new RegExp(String.raw`(?:/${urlPath}*)?(?:\?${queryChars}*${queryEnding})?`, 'iuy')
const maxUrlLength = 4096

let extractUrl: RegExp | undefined

/**
 * [start, end) of each URL with a scheme, in UTF-16 offsets. twitter-text's URL expression
 * (one module of it, ~50 ms to load, on the first text with a "://"; the whole package takes
 * ~250 ms) finds where a URL starts and its scheme, host and port; Mastodon's rules then say
 * where it ends, and the search goes on from there, as Ruby's `scan` would.
 */
function urlSpans(text: string): Array<[number, number]> {
  // Our own copy: the module's is shared with twitter-text's functions and keeps lastIndex.
  const pattern = (extractUrl ??= loadExtractUrl())
  pattern.lastIndex = 0
  const spans: Array<[number, number]> = []
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    // $2 the character before, $4 the scheme, $5 the host, $6 the port.
    const [, , before = '', , protocol, domain = '', port] = match
    if (!protocol) continue
    const start = match.index + before.length
    const hostEnd = start + protocol.length + domain.length + (port === undefined ? 0 : port.length + 1)
    pathAndQuery.lastIndex = hostEnd
    const end = pathAndQuery.exec(text) ? pathAndQuery.lastIndex : hostEnd
    if (end - start <= maxUrlLength) spans.push([start, end])
    pattern.lastIndex = end
  }
  return spans
}

function loadExtractUrl(): RegExp {
  const shared = createRequire(import.meta.url)('twitter-text/dist/regexp/extractUrl.js') as RegExp
  return new RegExp(shared.source, shared.flags)
}

// Sending.

interface MastodonStatusAnswer {
  id?: unknown
  url?: unknown
  uri?: unknown
}

async function postStatus(status: MastodonStatus, index: number, replyTo: PostedPart | undefined, context: SendContext<MastodonSettings>): Promise<Omit<PostedPart, 'index'>> {
  const {channel} = context
  const body = JSON.stringify(replyTo ? {...status, in_reply_to_id: replyTo.providerId} : status)
  let response: HttpResponse
  try {
    response = await context.http.request(apiUrl(channel, '/api/v1/statuses'), {
      method: 'POST',
      headers: {
        ...authHeaders(channel),
        'Content-Type': 'application/json',
        // Per part, so a retried thread deduplicates each post on its own.
        'Idempotency-Key': `${context.idempotencyKey}-${index}`,
      },
      body,
      timeoutMs: channelTimeoutMs(channel),
      signal: context.signal,
    })
  } catch (error) {
    const reason = safeReason(networkReason(error), [channel.accessToken])
    if (isRefusedRequest(error)) throw new PermanentSendError(reason)
    throw new TransientSendError(reason)
  }
  if (response.status >= 200 && response.status < 300) {
    const answer = parseJson<MastodonStatusAnswer>(response.body)
    const id = answer?.id
    // Posted or not, we cannot tell; the same Idempotency-Key makes the retry safe.
    if (typeof id !== 'string' && typeof id !== 'number') throw new TransientSendError(`HTTP ${response.status} without a status id`)
    const url = typeof answer?.url === 'string' ? answer.url : typeof answer?.uri === 'string' ? answer.uri : undefined
    return {providerId: String(id), ...(url && {url})}
  }
  throw classifyFailure(response, channel, context.now())
}

function classifyFailure(response: HttpResponse, channel: ChannelConfig<MastodonSettings>, nowMs: number): Error {
  const {status} = response
  const reason = responseReason(response, channel)
  if (status === 429) return new RateLimitedError(reason, rateLimitPauseMs(response, nowMs))
  const retryAfterMs = parseRetryAfter(headerValue(response, 'retry-after'), nowMs)
  if (status === 408 || status === 425 || status >= 500) return new TransientSendError(reason, retryAfterMs)
  // The token refused (revoked), or without write:statuses (403): no post can go, so the channel
  // waits, its deliveries queued, until it is set right.
  if (status === 401 || status === 403) return new ChannelUnusableError(reason)
  // 422 (validation), 404 (a reply to a deleted post, or no Mastodon API at baseUrl): sending
  // the same again cannot succeed.
  return new PermanentSendError(reason)
}

/** Mastodon says when its window resets in X-RateLimit-Reset (ISO 8601); Retry-After otherwise. */
function rateLimitPauseMs(response: HttpResponse, nowMs: number): number {
  const reset = Date.parse(headerValue(response, 'x-ratelimit-reset') ?? '')
  const untilReset = Number.isNaN(reset) ? undefined : reset - nowMs
  const pause = untilReset ?? parseRetryAfter(headerValue(response, 'retry-after'), nowMs) ?? defaultRateLimitMs
  return Math.max(minimumRateLimitMs, pause)
}

/**
 * "HTTP 422: Validation failed: Text character limit of 500 exceeded": Mastodon's `error`; from
 * the proxy in front of it (nginx's 502 page), the page's title; else the body's first line.
 */
function responseReason(response: HttpResponse, channel: ChannelConfig<MastodonSettings>): string {
  const answer = parseJson<{error?: unknown}>(response.body)
  const title = /<title>([^<]*)<\/title>/i.exec(response.body)?.[1]
  const said = firstBodyLine(typeof answer?.error === 'string' ? answer.error : (title ?? response.body))
  return said ? `HTTP ${response.status}: ${safeReason(said, [channel.accessToken])}` : `HTTP ${response.status}`
}

function apiUrl(channel: ChannelConfig<MastodonSettings>, path: string): string {
  return `${channel.baseUrl.replace(/\/+$/, '')}${path}`
}

function authHeaders(channel: ChannelConfig<MastodonSettings>): Record<string, string> {
  return {Authorization: `Bearer ${channel.accessToken}`, Accept: 'application/json', 'User-Agent': 'crier'}
}

function parseJson<T>(body: string): T | undefined {
  try {
    const parsed: unknown = JSON.parse(body)
    return parsed && typeof parsed === 'object' ? (parsed as T) : undefined
  } catch {
    return undefined
  }
}

// channels test.

/**
 * The token's account (GET /api/v1/accounts/verify_credentials) and the instance's limit per
 * post (GET /api/v2/instance, /api/v1/instance on servers older than Mastodon 4.0), returned
 * as `learned.maxCharacters` so render splits at the instance's limit, not a guess.
 */
async function checkAccount(channel: ChannelConfig<MastodonSettings>, context: {http: HttpClient; signal: AbortSignal}): Promise<CheckResult> {
  const host = new URL(channel.baseUrl).host
  const get = (path: string) => context.http.request(apiUrl(channel, path), {method: 'GET', headers: authHeaders(channel), timeoutMs: channelTimeoutMs(channel), signal: context.signal})
  let account: HttpResponse
  try {
    account = await get('/api/v1/accounts/verify_credentials')
  } catch (error) {
    return {ok: false, detail: `${host} unreachable: ${safeReason(networkReason(error), [channel.accessToken])}`}
  }
  if (account.status !== 200) return {ok: false, detail: `${host}: ${responseReason(account, channel)}${credentialHint(account.status)}`}
  const acct = parseJson<{acct?: unknown}>(account.body)?.acct
  const who = typeof acct === 'string' ? `@${stripTerminalControls(acct)} on ${host}` : `signed in on ${host}`
  const maxCharacters = await instanceMaxCharacters(get)
  if (maxCharacters === undefined) {
    return {ok: true, detail: `${who}; the instance did not say its limit per post — assuming ${channel.maxCharacters ?? defaultMaxCharacters}`}
  }
  return {ok: true, detail: `${who}; ${maxCharacters} characters per post`, learned: {maxCharacters}}
}

/** What to do about a refused token, for the officer reading `channels test`. */
function credentialHint(status: number): string {
  if (status === 401) return ' — check accessToken (Preferences → Development → your application)'
  if (status === 403) return ' — the token needs the read:accounts and write:statuses scopes'
  return ''
}

async function instanceMaxCharacters(get: (path: string) => Promise<HttpResponse>): Promise<number | undefined> {
  for (const path of ['/api/v2/instance', '/api/v1/instance']) {
    try {
      const response = await get(path)
      if (response.status !== 200) continue
      const instance = parseJson<{configuration?: {statuses?: {max_characters?: unknown}}; max_toot_chars?: unknown}>(response.body)
      // max_toot_chars: Pleroma and Akkoma's v1 instance.
      const value = instance?.configuration?.statuses?.max_characters ?? instance?.max_toot_chars
      if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value
    } catch {
      return undefined
    }
  }
  return undefined
}
