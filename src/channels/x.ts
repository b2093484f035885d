import {createRequire} from 'node:module'
import {z} from 'zod'
import {primaryVariant, type Announcement, type Variant} from '../core/announcement.js'
import {oneLine} from '../core/terminal-text.js'
import type {ChannelConfig, CheckResult, Driver, PostedPart, Receipt, SendContext} from './driver.js'
import {ChannelUnusableError, InDoubtSendError, PermanentSendError, RateLimitedError, TransientSendError} from './errors.js'
import type {HttpClient, HttpResponse} from './http.js'
import {firstBodyLine, headerValue, isRefusedRequest, networkReason, parseRetryAfter, safeReason, parseJsonObject} from './http-failures.js'
import {channelTimeoutMs} from './timeout.js'
import {socialText} from './social-text.js'
import {postThread, threadPosts} from './thread.js'
import {apiBaseUrl} from './http-url.js'
import {oauthSigner, percentEncode, type Signer} from './oauth1.js'

// Posts on X through the v2 API (https://docs.x.com/x-api/posts/create-post) as the account
// whose OAuth 1.0a user-context tokens the channel holds. A long announcement becomes a thread,
// each post replying to the one before (`reply.in_reply_to_tweet_id`).
//
// Requests go through the shared undici pool (context.http), signed by oauth1.ts (OAuth 1.0a
// HMAC-SHA1, RFC 5849), not through twitter-api-v2. Measured per post against a local fake, relative to a
// raw pooled request with the same body: the SDK's own https transport 1.5–1.7× the time and
// 1.7–2.1× the CPU (the bench goal is ≤ 1.5×); it cannot honour the engine's abort signal or the
// channel's whole-request timeout, and its v2 helpers hard-code https://api.x.com
// (cloneWithPrefix throws in 1.29). Its OAuth helper is not in its public API and took
// ~70–120 µs a signature, half a raw request again. This driver: 1.2–1.5× the time, 1.3–1.4× the
// CPU. The tests check the signer against X's documented example and against twitter-api-v2's
// helper, and the fake verifies every request's signature independently.
//
// X has no idempotency key: a post whose answer was lost may be on the account, so the driver is
// not idempotent. It can reconcile: an in-doubt delivery is looked up among the account's posts
// since the announcement was created (GET /2/users/me, then GET /2/users/:id/tweets).
//
// X refuses a post identical to one already on the account (403 "duplicate content"). When
// that identical post was made since the announcement was created (typically: an earlier try
// whose answer was lost), it is this delivery's post, and the thread carries on from it;
// otherwise the delivery is dead with a reason saying an identical post already exists — never
// counted as sent, never retried (it cannot succeed). Where the account's posts cannot be looked
// at (a plan without timeline access), the delivery is in doubt: `unknown`, as a lost answer is.

/** https://docs.x.com/fundamentals/counting-characters: 280, weighted; every URL counts 23. */
const maxWeightedLength = 280
/** X's rate-limit windows are 15 minutes; when a 429 says nothing at all, wait one out. */
const defaultRateLimitMs = 15 * 60_000
/** A reset in the past (clock skew) still waits a little, rather than hammering X. */
const minimumRateLimitMs = 1000
/** X's clock and ours may disagree a little; look this far before the announcement was created. */
const clockSkewMs = 5 * 60_000
/** GET /2/users/:id/tweets: 5–100 per page (https://docs.x.com/x-api/users/get-posts). */
const timelinePageSize = 100
/** A police account posts far fewer than this between an announcement and its lookup. */
const timelineMaxPages = 5
/** A post's public address; works without knowing the account's @username. */
const postUrlPrefix = 'https://x.com/i/web/status/'
/**
 * A stand-in for the CAP link, which a lookup outside the engine's render does not know. Any
 * URL counts 23 on X, so the thread splits exactly as with the real link; links are then
 * compared as "a link here", not by address.
 */
const unknownLinkPlaceholder = 'https://example.com/cap.xml'

const xSettings = z.object({
  /** The app's API key (OAuth consumer key); written `${ENV}` in config. */
  apiKey: z.string().min(1),
  /** The app's API key secret (OAuth consumer secret); written `${ENV}` in config. */
  apiSecret: z.string().min(1),
  /** The posting account's access token (needs "Read and write"); written `${ENV}` in config. */
  accessToken: z.string().min(1),
  /** The posting account's access token secret; written `${ENV}` in config. */
  accessSecret: z.string().min(1),
  /** The API host; a proxy or test server's address works too. */
  baseUrl: apiBaseUrl.default('https://api.x.com'),
  threads: z.boolean().default(true),
  severityTag: z.boolean().default(true),
})
export type XSettings = z.infer<typeof xSettings>

/** render() output and send() input: each post's exact text, in thread order. */
export interface XPayload {
  posts: string[]
}

export const x: Driver<XSettings, XPayload> = {
  type: 'x',
  kind: 'broadcast',
  config: xSettings,
  capabilities: {maxLength: maxWeightedLength, counts: 'x-weighted', threads: true, media: false, idempotent: false, reconcile: true},

  render(announcement, variant, context) {
    const posts = renderPosts(announcement, variant, context.channel, context.capUrl)
    return {
      parts: posts.map((post, index) => ({
        label: posts.length === 1 ? 'post' : `post ${index + 1}/${posts.length}`,
        text: post,
        // Over the limit (threads off) is reported, not thrown: the policy check refuses it.
        length: {count: weightedLength(post), limit: maxWeightedLength, unit: 'x-weighted' as const},
      })),
      payload: {posts},
    }
  },

  async send(payload, context) {
    const {channel} = context
    const signer = signerFor(channel)
    return postThread(payload.posts, context, async (text, index, replyTo) => {
      const body = JSON.stringify(replyTo ? {text, reply: {in_reply_to_tweet_id: replyTo.providerId}} : {text})
      let response: HttpResponse
      try {
        response = await callX(channel, signer, context, 'POST', '/2/tweets', undefined, body)
      } catch (error) {
        const reason = safeReason(networkReason(error), channelSecrets(channel))
        throw isRefusedRequest(error) ? new PermanentSendError(reason) : new TransientSendError(reason)
      }
      if (isSuccess(response)) {
        const id = createdPostId(response.body)
        // It went out, but without its id nothing can reply to it or find it: no retry may repost it.
        if (!id) throw new PermanentSendError(`X ${response.status}: the post was accepted but X gave no id — check the account`)
        return postedAs(id)
      }
      if (isDuplicate(response)) return adoptDuplicate(text, replyTo, signer, context, response)
      throw classifyFailure(response, context)
    })
  },

  async check(channel, context) {
    let response: HttpResponse
    try {
      response = await callX(channel, signerFor(channel), context, 'GET', '/2/users/me')
    } catch (error) {
      return {ok: false, detail: `unreachable: ${safeReason(networkReason(error), channelSecrets(channel))}`}
    }
    if (!isSuccess(response)) return {ok: false, detail: failureReason(response, channel)}
    return describeAccount(response)
  },

  async reconcile(_deliveryId, context) {
    return reconcileThread(context)
  },
}

// Rendering.

function renderPosts(announcement: Announcement, variant: Variant, channel: ChannelConfig<XSettings>, capUrl: string | undefined): string[] {
  const text = socialText(announcement, variant, {severityTag: channel.severityTag, capUrl})
  return threadPosts(text, {limit: maxWeightedLength, count: weightedLength, threads: channel.threads})
}

type TwitterText = typeof import('twitter-text')
let twitterText: TwitterText | undefined

/**
 * X's own count (twitter-text's parseTweet): most characters 1, CJK and emoji 2, an emoji
 * sequence 2, every URL 23, after NFC. twitter-text is CommonJS and takes ~70–140 ms to load
 * (plus ~20 ms for the first parse), so it is required on first use, not when the registry loads.
 */
function weightedLength(text: string): number {
  twitterText ??= createRequire(import.meta.url)('twitter-text') as TwitterText
  return twitterText.parseTweet(text).weightedLength
}

// Requests.

const signers = new WeakMap<ChannelConfig<XSettings>, Signer>()

function signerFor(channel: ChannelConfig<XSettings>): Signer {
  let signer = signers.get(channel)
  if (!signer) {
    signer = oauthSigner({consumerKey: channel.apiKey, consumerSecret: channel.apiSecret, token: channel.accessToken, tokenSecret: channel.accessSecret})
    signers.set(channel, signer)
  }
  return signer
}

/** One signed request to X. Throws what the HTTP client throws when there is no answer. */
function callX(
  channel: ChannelConfig<XSettings>,
  signer: Signer,
  context: {http: HttpClient; signal: AbortSignal},
  method: 'GET' | 'POST',
  path: string,
  query?: Record<string, string>,
  body?: string,
): Promise<HttpResponse> {
  const url = endpointUrl(channel, path, query)
  const headers: Record<string, string> = {Authorization: signer.authorize(method, url), Accept: 'application/json', 'User-Agent': 'crier'}
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  return context.http.request(url, {method, headers, body, timeoutMs: channelTimeoutMs(channel), signal: context.signal})
}

/**
 * The URL as signed and as sent. Query values are percent-encoded as OAuth does (RFC 3986,
 * not form-style `+`), so the signature base string and the server's decoding agree.
 */
function endpointUrl(channel: ChannelConfig<XSettings>, path: string, query?: Record<string, string>): string {
  const url = new URL(`${channel.baseUrl.replace(/\/+$/, '')}${path}`)
  const search = Object.entries(query ?? {})
    .map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`)
    .join('&')
  return search ? `${url.href}?${search}` : url.href
}

function isSuccess(response: HttpResponse): boolean {
  return response.status >= 200 && response.status < 300
}

function postedAs(id: string): Omit<PostedPart, 'index'> {
  return {providerId: id, url: `${postUrlPrefix}${id}`}
}

/** POST /2/tweets answers 201 `{data: {id, text, edit_history_tweet_ids}}`. */
function createdPostId(body: string): string | undefined {
  const data = parseJsonObject(body)?.data
  const id = data && typeof data === 'object' ? (data as {id?: unknown}).id : undefined
  return typeof id === 'string' && /^\d+$/.test(id) ? id : undefined
}

// Failures.

/**
 * X's error documents: v2 problems `{title, detail, type, status}` (400s add
 * `errors: [{message, parameters}]`), and v1-style `{errors: [{code, message}]}` from the
 * authentication layer. https://docs.x.com/x-api/fundamentals/response-codes-and-errors
 */
interface XProblem {
  title?: unknown
  detail?: unknown
  errors?: unknown
}

function problemText(body: string): string | undefined {
  const problem = parseJsonObject(body) as XProblem | undefined
  if (!problem) return firstBodyLine(body)
  const first = Array.isArray(problem.errors) ? (problem.errors[0] as {message?: unknown; code?: unknown} | undefined) : undefined
  // A 400's `detail` only says "One or more parameters to your request was invalid."; the error says which.
  if (first && typeof first.message === 'string') return typeof first.code === 'number' ? `${first.message} (code ${first.code})` : first.message
  if (typeof problem.detail === 'string' && problem.detail) return problem.detail
  if (typeof problem.title === 'string' && problem.title) return problem.title
  return firstBodyLine(body)
}

/** "X 403: <what X said>", one line, no control characters, no credential. */
function failureReason(response: HttpResponse, channel: ChannelConfig<XSettings>): string {
  const said = problemText(response.body)
  const reason = said ? `X ${response.status}: ${safeReason(said, channelSecrets(channel))}` : `X ${response.status}`
  // X answers a bad key, secret, token or signature alike; name the settings, never their values.
  return response.status === 401 ? `${reason} — check the channel's apiKey, apiSecret, accessToken and accessSecret` : reason
}

/** 429 rate-limited (pause the channel), 408/5xx transient, 401 the channel unusable, every other answer permanent. */
function classifyFailure(response: HttpResponse, context: SendContext<XSettings>): Error {
  const {status} = response
  const reason = failureReason(response, context.channel)
  if (status === 429) {
    const wait = rateLimitWait(response, context.now())
    return new RateLimitedError(wait.limit ? `${reason} (${wait.limit})` : reason, wait.ms)
  }
  if (status === 408 || status >= 500) return new TransientSendError(reason, parseRetryAfter(headerValue(response, 'retry-after'), context.now()))
  // Credentials refused (revoked, or wrong): the channel waits, its deliveries queued, until they are set right.
  if (status === 401) return new ChannelUnusableError(reason)
  // 400 invalid, 403 forbidden (too long, read-only app, suspended), 404 …:
  // sending the same again cannot succeed.
  return new PermanentSendError(reason)
}

/**
 * How long a 429 means: until the latest reset (epoch seconds) among the limits that are used
 * up — the 15-minute window (`x-rate-limit-*`), or the 24-hour posting caps per user and per
 * app (`x-user-limit-24hour-*`, `x-app-limit-24hour-*`) — else `x-rate-limit-reset`, else
 * Retry-After, else one 15-minute window.
 */
function rateLimitWait(response: HttpResponse, nowMs: number): {ms: number; limit?: string} {
  const limits = [
    {prefix: 'x-rate-limit', name: undefined},
    {prefix: 'x-user-limit-24hour', name: "the account's 24-hour posting limit"},
    {prefix: 'x-app-limit-24hour', name: "the app's 24-hour posting limit"},
  ]
  let latest: {resetMs: number; name?: string} | undefined
  for (const {prefix, name} of limits) {
    const resetMs = epochSecondsToMs(headerValue(response, `${prefix}-reset`))
    if (resetMs === undefined || headerValue(response, `${prefix}-remaining`)?.trim() !== '0') continue
    if (!latest || resetMs > latest.resetMs) latest = {resetMs, name}
  }
  const resetMs = latest?.resetMs ?? epochSecondsToMs(headerValue(response, 'x-rate-limit-reset'))
  const waitMs = resetMs !== undefined ? resetMs - nowMs : (parseRetryAfter(headerValue(response, 'retry-after'), nowMs) ?? defaultRateLimitMs)
  return {ms: Math.max(minimumRateLimitMs, waitMs), limit: latest?.name}
}

function epochSecondsToMs(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : undefined
}

function isDuplicate(response: HttpResponse): boolean {
  return response.status === 403 && /duplicate content/i.test(problemText(response.body) ?? '')
}

/**
 * X refused the post because an identical one is on the account. If that one was posted since
 * the announcement was created (replying to the previous part, for a later part), it is this
 * post, made by an earlier try whose answer was lost: carry on from it. Otherwise the delivery
 * is dead: X will refuse the same text again, and an older identical post is not this one.
 */
async function adoptDuplicate(
  text: string,
  replyTo: PostedPart | undefined,
  signer: Signer,
  context: SendContext<XSettings>,
  response: HttpResponse,
): Promise<Omit<PostedPart, 'index'>> {
  const refused = `${failureReason(response, context.channel)} — an identical post is already on the account`
  let timeline: TimelinePost[]
  try {
    timeline = await recentPosts(context, signer)
  } catch (error) {
    // X's refusal is its word that the post exists, most likely this delivery's own earlier try:
    // in doubt — never sent again, and a Cancel goes here — not dead, as if nothing went out.
    throw new InDoubtSendError(`${refused}, and looking for it failed (${error instanceof Error ? error.message : String(error)}) — it may be this announcement's: check the account`)
  }
  // X's own word that an identical post exists, within this announcement's time: a link need
  // only be a link (X may have tidied its address).
  const matches = timeline.filter((post) => matchesPost(post, text, replyTo?.providerId, true))
  // Not another announcement's identical post, made within the clock-skew margin before this one was drafted.
  const match = matches.find((post) => !context.postedElsewhere?.(post.id))
  if (match) return postedAs(match.id)
  if (matches.length > 0) throw new PermanentSendError(`${refused}: another announcement posted the same words minutes ago, and X takes no identical post twice — change the words to send this one`)
  throw new PermanentSendError(`${refused}, not one made since this announcement was created — check the account`)
}

// Looking up what went out.

/** One of the account's posts, as the lookup compares it. */
interface TimelinePost {
  id: string
  /** With t.co links expanded and X's HTML escapes undone. */
  text: string
  /** The post it replies to, if any. */
  repliesTo?: string
}

/**
 * The account's posts since the announcement was created (minus clock skew), newest first,
 * every page of them. Throws when X does not answer, refuses (a plan without timeline access
 * answers 403), or has more than the pages crier reads: then nothing can be concluded.
 */
async function recentPosts(context: SendContext<XSettings>, signer: Signer): Promise<TimelinePost[]> {
  const {channel} = context
  const read = async (path: string, query?: Record<string, string>): Promise<Record<string, unknown>> => {
    let response: HttpResponse
    try {
      response = await callX(channel, signer, context, 'GET', path, query)
    } catch (error) {
      throw new Error(safeReason(networkReason(error), channelSecrets(channel)))
    }
    if (!isSuccess(response)) throw new Error(failureReason(response, channel))
    const document = parseJsonObject(response.body)
    if (!document) throw new Error(`X ${response.status}: the answer was not JSON`)
    return document
  }
  const me = (await read('/2/users/me')).data as {id?: unknown} | undefined
  if (typeof me?.id !== 'string' || !/^\d+$/.test(me.id)) throw new Error('X did not say which account the tokens belong to')
  const since = new Date(context.announcement.createdAt - clockSkewMs).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const posts: TimelinePost[] = []
  let paginationToken: string | undefined
  for (let page = 0; page < timelineMaxPages; page++) {
    const query: Record<string, string> = {
      max_results: String(timelinePageSize),
      start_time: since,
      exclude: 'retweets',
      'tweet.fields': 'created_at,entities,referenced_tweets',
    }
    if (paginationToken) query.pagination_token = paginationToken
    const document = await read(`/2/users/${me.id}/tweets`, query)
    if (Array.isArray(document.data)) for (const item of document.data) posts.push(...timelinePost(item))
    const next = (document.meta as {next_token?: unknown} | undefined)?.next_token
    if (typeof next !== 'string' || !next) return posts
    paginationToken = next
  }
  throw new Error(`the account has more than ${timelineMaxPages * timelinePageSize} posts since ${since}; cannot tell whether this one is among them`)
}

function timelinePost(item: unknown): TimelinePost[] {
  if (!item || typeof item !== 'object') return []
  const {id, text, entities, referenced_tweets: referenced} = item as {id?: unknown; text?: unknown; entities?: {urls?: unknown}; referenced_tweets?: unknown}
  if (typeof id !== 'string' || typeof text !== 'string') return []
  // X HTML-escapes these three in post text; undone first, so an expanded link stays as it is.
  let expanded = text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
  for (const link of Array.isArray(entities?.urls) ? entities.urls : []) {
    const {url, expanded_url: target} = link as {url?: unknown; expanded_url?: unknown}
    if (typeof url === 'string' && url && typeof target === 'string') expanded = expanded.split(url).join(target)
  }
  const repliedTo = Array.isArray(referenced) ? (referenced as Array<{type?: unknown; id?: unknown}>).find((each) => each.type === 'replied_to')?.id : undefined
  return [{id, text: expanded, ...(typeof repliedTo === 'string' && {repliesTo: repliedTo})}]
}

/**
 * Whether a post of the account is `text`: the same after NFC and whitespace runs made one
 * space (X may trim or fold them), replying to `replyToId` when one is given. With
 * `anyLink`, a link matches any link (the lookup did not know the CAP link's address).
 */
function matchesPost(post: TimelinePost, text: string, replyToId: string | undefined, anyLink: boolean): boolean {
  if (replyToId !== undefined && post.repliesTo !== replyToId) return false
  return comparable(post.text, anyLink) === comparable(text, anyLink)
}

function comparable(text: string, anyLink: boolean): string {
  const flat = text.normalize('NFC').replace(/\s+/g, ' ').trim()
  return anyLink ? flat.replace(/https?:\/\/\S+/g, '\u0000link') : flat
}

/**
 * An in-doubt delivery: which of its posts are on the account? The parts earlier tries recorded
 * are known; the next ones are looked for in order, each replying to the one before (the first
 * of a follow-up: to the original's last post). Every part found is recorded. All found: sent,
 * and the receipt is the first post's. Otherwise `undefined`
 * — the engine requeues the delivery and the next send posts only the parts not found, after the
 * recorded ones. A failed lookup throws, and the engine marks the delivery `unknown`.
 */
async function reconcileThread(context: SendContext<XSettings>): Promise<Receipt | undefined> {
  const {announcement, channel} = context
  const variant = primaryVariant(announcement)
  // The engine rendered with the CAP link when there was no web link; the lookup does not know
  // it, so it tries both what a post without a link and one with "a link" would say.
  const renderings: Array<{posts: string[]; anyLink: boolean}> = announcement.web
    ? [{posts: renderPosts(announcement, variant, channel, undefined), anyLink: false}]
    : [
        {posts: renderPosts(announcement, variant, channel, undefined), anyLink: true},
        {posts: renderPosts(announcement, variant, channel, unknownLinkPlaceholder), anyLink: true},
      ]
  const recorded = context.postedParts
  // Every part recorded: the thread went out whole, only its result was lost. (The longest
  // rendering: the engine's is one of these, and a shorter one proves nothing.)
  if (recorded.length > 0 && recorded.length >= Math.max(...renderings.map(({posts}) => posts.length))) return receiptOf(recorded[0]!)
  const timeline = await recentPosts(context, signerFor(channel))
  // An Update's or Cancel's first post replies to the original's last one (read once: a lookup).
  const followUpParent = context.followUpOf?.parent
  let best: {found: PostedPart[]; complete: boolean} = {found: [], complete: false}
  for (const {posts, anyLink} of renderings) {
    const found: PostedPart[] = []
    for (let index = recorded.length; index < posts.length; index++) {
      const previous = index === 0 ? followUpParent : (found.at(-1) ?? recorded[index - 1])
      const match = timeline.find((post) => matchesPost(post, posts[index]!, previous?.providerId, anyLink) && !context.postedElsewhere?.(post.id))
      if (!match) break
      found.push({index, ...postedAs(match.id)})
    }
    // Complete only on evidence: a part found now reaching the end. Recorded parts alone prove
    // nothing about parts after them, and the next send would post just those anyway.
    const complete = found.length > 0 && recorded.length + found.length === posts.length
    if ((complete && !best.complete) || (complete === best.complete && found.length > best.found.length)) best = {found, complete}
  }
  for (const part of best.found) context.recordPart(part)
  return best.complete ? receiptOf(recorded[0] ?? best.found[0]!) : undefined
}

function receiptOf(part: PostedPart): Receipt {
  return {providerId: part.providerId, ...(part.url && {url: part.url})}
}

// The account.

/** `channels test`: the tokens' account, and whether the app may post with them. */
function describeAccount(response: HttpResponse): CheckResult {
  const user = parseJsonObject(response.body)?.data as {username?: unknown; name?: unknown} | undefined
  const handle = typeof user?.username === 'string' ? `@${oneLine(user.username, 60)}` : 'the account'
  const access = headerValue(response, 'x-access-level')
  // A read-only app authenticates fine and is refused every post.
  if (access === 'read') {
    return {ok: false, detail: `authenticated as ${handle}, but the access token is read-only — give the app "Read and write" permission, then generate a new access token`}
  }
  return {ok: true, detail: `authenticated as ${handle}${access ? ` (${access})` : ''}`}
}

// Helpers.

/** The channel's four credentials, scrubbed from anything X or the network says back. */
function channelSecrets(channel: ChannelConfig<XSettings>): string[] {
  return [channel.apiKey, channel.apiSecret, channel.accessToken, channel.accessSecret]
}
