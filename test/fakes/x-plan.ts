import {createHmac, timingSafeEqual} from 'node:crypto'
import {createRequire} from 'node:module'
import type {Answer, IncomingRequest, ResponsePlan} from './provider-server.js'

// An X-shaped plan for startProviderFake: the three v2 endpoints crier uses, with OAuth 1.0a
// user context checked as X checks it (the HMAC-SHA1 signature recomputed here, independently of
// the client's signer), X's error documents, its duplicate-content refusal, t.co links and HTML
// escapes in what it reads back:
//
//   POST /2/tweets                 {text, reply?: {in_reply_to_tweet_id}}  → 201 {data: {id, text}}
//   GET  /2/users/me               the tokens' account, for `channels test` and the lookup
//   GET  /2/users/{id}/tweets      the account's posts, newest first, paginated, start_time
//
// Failures come on cue, per post request (by its index among post requests): any
// provider-server Answer, or 'post-then-reset' / 'post-then-stall' — the post is made, then the
// connection is dropped or never answered, as when a send's answer is lost or its sender dies.

export interface XCredentials {
  apiKey: string
  apiSecret: string
  accessToken: string
  accessSecret: string
}

/** The credentials the plan accepts by default, and the environment that config.yaml reads them from. */
export const xCredentials: XCredentials = {
  apiKey: 'x-consumer-key-3f9a1c',
  apiSecret: 'x-consumer-secret-8b7e6d5c4b3a',
  accessToken: '1790000000000000001-x-access-token-a1b2',
  accessSecret: 'x-access-secret-9f8e7d6c5b4a',
}
export const xEnv = {
  X_API_KEY: xCredentials.apiKey,
  X_API_SECRET: xCredentials.apiSecret,
  X_ACCESS_TOKEN: xCredentials.accessToken,
  X_ACCESS_SECRET: xCredentials.accessSecret,
}

/** A channel of type x pointing at the fake, credentials as `${ENV}` (see xEnv), for config.yaml. */
export function xChannelConfig(fakeUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'x',
    apiKey: '${X_API_KEY}',
    apiSecret: '${X_API_SECRET}',
    accessToken: '${X_ACCESS_TOKEN}',
    accessSecret: '${X_ACCESS_SECRET}',
    baseUrl: fakeUrl,
    ...overrides,
  }
}

export interface XAccount {
  id: string
  username: string
  name: string
}

export const defaultXAccount: XAccount = {id: '1790000000000000001', username: 'NWalesPolice', name: 'North Wales Police'}

/** One post on the fake account. */
export interface XPost {
  id: string
  /** Exactly what the client sent. */
  text: string
  /** The post it replies to. */
  replyTo?: string
  createdAt: number
  /** The request's index in the fake's log; undefined for posts given as `existing`. */
  requestIndex?: number
}

export type XCue = Answer | 'post-then-reset' | 'post-then-stall'

export interface XPlanOptions {
  credentials?: XCredentials
  account?: XAccount
  /** `x-access-level` of the tokens: a read-only app authenticates and may not post. */
  accessLevel?: 'read' | 'read-write' | 'read-write-directmessages'
  /** Answers for POST /2/tweets by 0-based index among the post requests this plan sees. */
  cueAt?: Record<number, XCue>
  /** Answers for GET /2/users/{id}/tweets by 0-based index among the timeline requests. */
  cueTimelineAt?: Record<number, Answer>
  /** Posts already on the account before the test, any order. */
  existing?: Array<Omit<XPost, 'id' | 'requestIndex'> & {id?: string}>
  /** The fake's clock, for created_at and the OAuth timestamp window. */
  now?: () => number
}

export interface XFake {
  plan: ResponsePlan
  /** Every post on the account, oldest first: `existing` ones, then those the client made. */
  posts: XPost[]
  /** Why each refused request was refused (OAuth problems), in order. */
  refusals: string[]
}

const jsonHeaders = {'Content-Type': 'application/json; charset=utf-8'}
const maxWeightedLength = 280
/** X refuses an OAuth timestamp further than this from its clock. */
const timestampWindowSeconds = 300

/** X's v2 problem document: `{title, detail, type, status}` plus extras, with that status. */
export function xProblem(status: number, title: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Answer {
  return {status, headers: {...jsonHeaders, ...headers}, body: JSON.stringify({title, detail, type: 'about:blank', status, ...extra})}
}

/** The failures the x driver classifies, as X answers them. */
export const xFaults = {
  /** 429 with X's rate-limit headers; `resetAt` in epoch seconds. */
  rateLimited: (resetAt: number, extraHeaders: Record<string, string> = {}): Answer =>
    xProblem(429, 'Too Many Requests', 'Too Many Requests', {}, {'x-rate-limit-limit': '100', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(resetAt), ...extraHeaders}),
  /** The 24-hour posting cap of the user: the 15-minute window has room left. */
  dailyLimit: (windowResetAt: number, dailyResetAt: number): Answer =>
    xProblem(
      429,
      'Too Many Requests',
      'Too Many Requests',
      {},
      {
        'x-rate-limit-limit': '100',
        'x-rate-limit-remaining': '97',
        'x-rate-limit-reset': String(windowResetAt),
        'x-user-limit-24hour-limit': '17',
        'x-user-limit-24hour-remaining': '0',
        'x-user-limit-24hour-reset': String(dailyResetAt),
      },
    ),
  unauthorized: (): Answer => xProblem(401, 'Unauthorized', 'Unauthorized'),
  duplicate: (): Answer => xProblem(403, 'Forbidden', 'You are not allowed to create a Tweet with duplicate content.'),
  tooLong: (): Answer => xProblem(403, 'Forbidden', 'Your Tweet text is too long. For more information on how Twitter determines text length see https://github.com/twitter/twitter-text.'),
  readOnlyApp: (): Answer =>
    xProblem(403, 'Forbidden', 'Your client app is not configured with the appropriate oauth1 app permissions for this endpoint.', {type: 'https://api.twitter.com/2/problems/oauth1-permissions'}),
  /** A plan without access to an endpoint (the Free tier has no timeline). */
  clientNotEnrolled: (): Answer => ({
    status: 403,
    headers: jsonHeaders,
    body: JSON.stringify({
      client_id: '28110000',
      detail: 'When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.',
      registration_url: 'https://developer.twitter.com/en/docs/projects/overview',
      title: 'Client Forbidden',
      required_enrollment: 'Appropriate Level of API Access',
      reason: 'client-not-enrolled',
      type: 'https://api.twitter.com/2/problems/client-forbidden',
    }),
  }),
  invalidRequest: (message: string): Answer => ({
    status: 400,
    headers: jsonHeaders,
    body: JSON.stringify({
      errors: [{parameters: {}, message}],
      title: 'Invalid Request',
      detail: 'One or more parameters to your request was invalid.',
      type: 'https://api.twitter.com/2/problems/invalid-request',
    }),
  }),
  serviceUnavailable: (retryAfterSeconds?: number): Answer =>
    xProblem(503, 'Service Unavailable', 'Service Unavailable', {}, retryAfterSeconds === undefined ? {} : {'Retry-After': String(retryAfterSeconds)}),
  internalError: (): Answer => xProblem(500, 'Internal Server Error', 'Internal Server Error'),
}

type TwitterText = typeof import('twitter-text')
let twitterText: TwitterText | undefined
function twitter(): TwitterText {
  twitterText ??= createRequire(import.meta.url)('twitter-text') as TwitterText
  return twitterText
}

/** A plan answering as X's v2 API does; every other path is X's 404. */
export function xPlan(options: XPlanOptions = {}): XFake {
  const credentials = options.credentials ?? xCredentials
  const account = options.account ?? defaultXAccount
  const now = options.now ?? Date.now
  const posts: XPost[] = []
  const refusals: string[] = []
  const seenNonces = new Set<string>()
  let nextId = 1_800_000_000_000_000_000n
  const newId = () => String((nextId += 1n))
  for (const each of [...(options.existing ?? [])].sort((a, b) => a.createdAt - b.createdAt)) posts.push({...each, id: each.id ?? newId()})
  let postRequests = 0
  let timelineRequests = 0

  const plan: ResponsePlan = (request) => {
    const url = new URL(request.path, 'http://fake')
    const route = routeOf(request.method, url.pathname)
    if (!route) return xProblem(404, 'Not Found Error', 'Sorry, that page does not exist', {type: 'https://api.twitter.com/2/problems/resource-not-found'})
    const refusal = oauthProblem(request, credentials, now, seenNonces)
    if (refusal) {
      refusals.push(refusal)
      return xFaults.unauthorized()
    }
    if (route.name === 'me') return {status: 200, headers: {...jsonHeaders, 'x-access-level': options.accessLevel ?? 'read-write'}, body: JSON.stringify({data: account})}
    if (route.name === 'timeline') {
      const cued = options.cueTimelineAt?.[timelineRequests++]
      if (cued) return cued
      return answerTimeline(route.userId, url.searchParams, account, posts)
    }
    const cued = options.cueAt?.[postRequests++]
    if (typeof cued === 'object') return cued
    if (options.accessLevel === 'read') return xFaults.readOnlyApp()
    const answer = answerPost(request, posts, newId, now(), request.index)
    if (cued === 'post-then-reset') return {reset: true}
    return cued === 'post-then-stall' ? {stallMs: Infinity} : answer
  }
  return {plan, posts, refusals}
}

type Route = {name: 'post'} | {name: 'me'} | {name: 'timeline'; userId: string}

function routeOf(method: string, pathname: string): Route | undefined {
  if (method === 'POST' && pathname === '/2/tweets') return {name: 'post'}
  if (method === 'GET' && pathname === '/2/users/me') return {name: 'me'}
  const timeline = method === 'GET' ? /^\/2\/users\/([^/]+)\/tweets$/.exec(pathname) : null
  return timeline ? {name: 'timeline', userId: decodeURIComponent(timeline[1]!)} : undefined
}

/** X's checks on a new post, then 201 with the post as X stores it. */
function answerPost(request: IncomingRequest, posts: XPost[], newId: () => string, createdAt: number, requestIndex: number): Answer {
  let body: {text?: unknown; reply?: {in_reply_to_tweet_id?: unknown}}
  try {
    body = JSON.parse(request.body) as typeof body
  } catch {
    return xFaults.invalidRequest('Request body is not valid JSON.')
  }
  if (typeof body.text !== 'string' || !body.text) return xFaults.invalidRequest('The `text` field is required when no media is attached.')
  const replyTo = body.reply?.in_reply_to_tweet_id
  if (replyTo !== undefined && (typeof replyTo !== 'string' || !posts.some((post) => post.id === replyTo))) {
    return xProblem(403, 'Forbidden', 'You attempted to reply to a Tweet that is deleted or not visible to you.')
  }
  if (twitter().parseTweet(body.text).weightedLength > maxWeightedLength) return xFaults.tooLong()
  if (posts.some((post) => post.text === body.text)) return xFaults.duplicate()
  const post: XPost = {id: newId(), text: body.text, ...(typeof replyTo === 'string' && {replyTo}), createdAt, requestIndex}
  posts.push(post)
  return {
    status: 201,
    headers: {...jsonHeaders, 'x-rate-limit-limit': '100', 'x-rate-limit-remaining': '99', 'x-rate-limit-reset': String(Math.floor(createdAt / 1000) + 900)},
    body: JSON.stringify({data: {id: post.id, text: displayed(post).text, edit_history_tweet_ids: [post.id]}}),
  }
}

/** GET /2/users/{id}/tweets (https://docs.x.com/x-api/users/get-posts): newest first, by pages. */
function answerTimeline(userId: string, query: URLSearchParams, account: XAccount, posts: XPost[]): Answer {
  if (userId !== account.id) return xProblem(404, 'Not Found Error', `Could not find user with id: [${userId}].`)
  const maxResults = Number(query.get('max_results') ?? '10')
  if (!Number.isInteger(maxResults) || maxResults < 5 || maxResults > 100) {
    return xFaults.invalidRequest(`The \`max_results\` query parameter value [${query.get('max_results')}] is not between 5 and 100`)
  }
  const startTime = query.get('start_time')
  const since = startTime === null ? undefined : Date.parse(startTime)
  if (since !== undefined && (Number.isNaN(since) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(startTime!))) {
    return xFaults.invalidRequest(`Invalid 'start_time':'${startTime}'. 'start_time' must be a valid RFC 3339 date.`)
  }
  const fields = new Set((query.get('tweet.fields') ?? '').split(',').filter(Boolean))
  const token = query.get('pagination_token')
  const offset = token === null ? 0 : Number(/^next(\d+)$/.exec(token)?.[1] ?? NaN)
  if (Number.isNaN(offset)) return xFaults.invalidRequest(`The \`pagination_token\` query parameter value [${token}] is not valid`)
  const matching = posts.filter((post) => since === undefined || post.createdAt >= since).sort((a, b) => b.createdAt - a.createdAt || (BigInt(b.id) > BigInt(a.id) ? 1 : -1))
  const page = matching.slice(offset, offset + maxResults)
  if (page.length === 0) return {status: 200, headers: jsonHeaders, body: JSON.stringify({meta: {result_count: 0}})}
  const data = page.map((post) => {
    const shown = displayed(post)
    return {
      id: post.id,
      text: shown.text,
      edit_history_tweet_ids: [post.id],
      ...(fields.has('created_at') && {created_at: new Date(post.createdAt).toISOString()}),
      ...(fields.has('entities') && shown.urls.length > 0 && {entities: {urls: shown.urls}}),
      ...(fields.has('referenced_tweets') && post.replyTo && {referenced_tweets: [{type: 'replied_to', id: post.replyTo}]}),
    }
  })
  const more = offset + maxResults < matching.length
  const meta = {result_count: page.length, newest_id: page[0]!.id, oldest_id: page.at(-1)!.id, ...(more && {next_token: `next${offset + maxResults}`})}
  return {status: 200, headers: jsonHeaders, body: JSON.stringify({data, meta})}
}

interface DisplayedUrl {
  start: number
  end: number
  url: string
  expanded_url: string
  display_url: string
}

/**
 * A post as X's API shows it: every link replaced by a t.co link (listed in entities.urls with
 * code-point offsets), and &, < and > HTML-escaped.
 */
export function displayed(post: Pick<XPost, 'id' | 'text'>): {text: string; urls: DisplayedUrl[]} {
  const found = twitter().extractUrlsWithIndices(post.text)
  let text = ''
  let cursor = 0
  const urls: DisplayedUrl[] = []
  found.forEach(({url, indices: [start, end]}, index) => {
    const short = `https://t.co/${tcoCode(post.id, index)}`
    text += escapeHtml(post.text.slice(cursor, start))
    const offset = [...text].length
    urls.push({start: offset, end: offset + short.length, url: short, expanded_url: /^https?:\/\//i.test(url) ? url : `http://${url}`, display_url: url.replace(/^https?:\/\//i, '')})
    text += short
    cursor = end
  })
  text += escapeHtml(post.text.slice(cursor))
  return {text, urls}
}

function tcoCode(postId: string, index: number): string {
  return (BigInt(postId) * 7n + BigInt(index)).toString(36).slice(-10).padStart(10, 'x')
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

// OAuth 1.0a, checked as a server does (RFC 5849 §3.2–3.4), with node:crypto.

/** The parameters of an `Authorization: OAuth k="v", …` header, percent-decoded; undefined when there is none. */
export function oauthParameters(request: Pick<IncomingRequest, 'headers'>): Record<string, string> | undefined {
  const header = request.headers.authorization
  if (typeof header !== 'string' || !/^OAuth\s/i.test(header)) return undefined
  const parameters: Record<string, string> = {}
  for (const match of header.slice(6).matchAll(/([A-Za-z0-9_.~%-]+)="([^"]*)"/g)) parameters[decodeURIComponent(match[1]!)] = decodeURIComponent(match[2]!)
  return parameters
}

/** Why X would refuse this request's credentials, or undefined when they are right and signed. */
export function oauthProblem(request: IncomingRequest, credentials: XCredentials, now: () => number = Date.now, seenNonces?: Set<string>): string | undefined {
  const oauth = oauthParameters(request)
  if (!oauth) return 'no OAuth Authorization header'
  for (const name of ['oauth_consumer_key', 'oauth_nonce', 'oauth_signature', 'oauth_signature_method', 'oauth_timestamp', 'oauth_token']) {
    if (!oauth[name]) return `${name} missing`
  }
  if (oauth.oauth_signature_method !== 'HMAC-SHA1') return `signature method ${oauth.oauth_signature_method} is not HMAC-SHA1`
  if (oauth.oauth_version !== undefined && oauth.oauth_version !== '1.0') return `oauth_version ${oauth.oauth_version} is not 1.0`
  if (oauth.oauth_consumer_key !== credentials.apiKey) return 'unknown consumer key'
  if (oauth.oauth_token !== credentials.accessToken) return 'unknown access token'
  if (!/^\d+$/.test(oauth.oauth_timestamp!) || Math.abs(Number(oauth.oauth_timestamp) - now() / 1000) > timestampWindowSeconds) return 'timestamp out of bounds'
  const expected = oauthSignature(request, oauth, credentials)
  const given = Buffer.from(oauth.oauth_signature!)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature mismatch'
  const nonce = `${oauth.oauth_timestamp}:${oauth.oauth_nonce}`
  if (seenNonces?.has(nonce)) return 'nonce used before'
  seenNonces?.add(nonce)
  return undefined
}

/** HMAC-SHA1 of the signature base string, keyed by the consumer secret and the token secret. */
function oauthSignature(request: IncomingRequest, oauth: Record<string, string>, credentials: XCredentials): Buffer {
  const url = new URL(request.path, `http://${request.headers.host ?? 'localhost'}`)
  const pairs: Array<[string, string]> = Object.entries(oauth).filter(([name]) => name !== 'oauth_signature' && name !== 'realm')
  pairs.push(...url.searchParams.entries())
  // A form body is signed too; a JSON body is not.
  if (String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) pairs.push(...new URLSearchParams(request.body).entries())
  const normalized = pairs
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([nameA, valueA], [nameB, valueB]) => (nameA === nameB ? compare(valueA, valueB) : compare(nameA, nameB)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
  const baseUri = `${url.protocol}//${url.host.toLowerCase()}${url.pathname}`
  const baseString = [request.method.toUpperCase(), rfc3986(baseUri), rfc3986(normalized)].join('&')
  const key = `${rfc3986(credentials.apiSecret)}&${rfc3986(credentials.accessSecret)}`
  return Buffer.from(createHmac('sha1', key).update(baseString).digest('base64'))
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The post requests the fake received, with what each asked for, in arrival order. */
export function postRequests(requests: readonly IncomingRequest[]): Array<{index: number; text?: string; replyTo?: string}> {
  return requests
    .filter((request) => request.method === 'POST' && request.path.split('?')[0] === '/2/tweets')
    .map((request) => {
      let body: {text?: string; reply?: {in_reply_to_tweet_id?: string}} = {}
      try {
        body = JSON.parse(request.body) as typeof body
      } catch {
        // Recorded as asked-for-nothing: the fake answered it 400.
      }
      return {index: request.index, text: body.text, replyTo: body.reply?.in_reply_to_tweet_id}
    })
}
