import {mastodonLength} from '../../src/channels/mastodon.js'
import type {Answer, IncomingRequest, ResponsePlan} from './provider-server.js'

// A Mastodon-shaped plan for startProviderFake: the endpoints crier uses of the REST API
// (https://docs.joinmastodon.org/methods/), with the bearer token and its scopes checked as
// Mastodon (Doorkeeper) checks them, and Mastodon's JSON error documents (`{"error": "…"}`):
//
//   POST /api/v1/statuses                  JSON or form: status, spoiler_text, visibility,
//                                          language, in_reply_to_id; honours Idempotency-Key
//   GET  /api/v1/accounts/verify_credentials  the token's account
//   GET  /api/v2/instance                  configuration.statuses.max_characters
//   GET  /api/v1/instance                  the same, for servers older than 4.0
//
// A repeated Idempotency-Key gets the status it created the first time, nothing new is posted
// (Mastodon keeps keys per account for an hour). The length limit is checked with the driver's
// own counter (Mastodon's rule, tested on its own in test/channels/mastodon.test.ts), so a post
// the driver thinks fits and Mastodon would refuse shows up as a 422 here. Failures come on cue
// by index among status POSTs: 429 with X-RateLimit-Reset, 422, 5xx, a reset, a stall.

export const testAccessToken = 'mastodon-test-token-Qe7vX2pL9sK4wR8t'
export const testAcct = 'northwalespolice'

export interface MastodonPlanOptions {
  accessToken?: string
  /** The account's username, as verify_credentials reports `acct`. */
  acct?: string
  /** The token's scopes; default read and write. */
  scopes?: Array<'read' | 'write'>
  /** The instance's limit per post. Default 500. */
  maxCharacters?: number
  /** Where status URLs point (the fake cannot know its own port when the plan is made). */
  host?: string
  /** A server older than Mastodon 4.0: no /api/v2/instance. */
  v1InstanceOnly?: boolean
  /** Answers for status POSTs by 0-based index among the status POSTs this plan sees. */
  cueAt?: Record<number, Answer>
}

/** One status POST as received, whatever it was answered. */
export interface MastodonPost {
  /** The request's index in the fake's log. */
  index: number
  idempotencyKey?: string
  /** The parameters exactly as received. */
  parameters: Record<string, unknown>
  /** The status created or, for a repeated Idempotency-Key, found. */
  statusId?: string
  /** Answered from an earlier request with the same Idempotency-Key: nothing new was posted. */
  duplicate: boolean
  /** The HTTP status answered (a cued reset or stall: undefined). */
  httpStatus?: number
  error?: string
}

/** A status the fake published, in the order published. */
export interface MastodonStatus {
  id: string
  url: string
  text: string
  spoilerText: string
  visibility: string
  language: string | null
  inReplyToId: string | null
  idempotencyKey?: string
}

export interface MastodonFake {
  plan: ResponsePlan
  /** Every status POST, in arrival order. */
  posts: MastodonPost[]
  /** What was published, once each, in order. */
  statuses: MastodonStatus[]
}

const jsonHeaders = {'Content-Type': 'application/json; charset=utf-8'}

/** Mastodon's error document, `{"error": "…"}`, with that HTTP status. */
export function mastodonError(status: number, error: string, headers: Record<string, string> = {}): Answer {
  return {status, headers: {...jsonHeaders, ...headers}, body: JSON.stringify({error})}
}

/** The failures the mastodon driver classifies, as Mastodon (and the proxy in front of it) answers them. */
export const mastodonFaults = {
  /** Rack::Attack's throttle: 429 with the window's end in X-RateLimit-Reset (ISO 8601). */
  rateLimited: (resetAt: string): Answer =>
    mastodonError(429, 'Too many requests', {'X-RateLimit-Limit': '300', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': resetAt}),
  /** A 429 as a proxy in front of the instance sends it: Retry-After only. */
  retryAfter: (seconds: number): Answer => ({status: 429, headers: {'Content-Type': 'text/plain', 'Retry-After': String(seconds)}, body: 'Too Many Requests'}),
  unprocessable: (message: string): Answer => mastodonError(422, `Validation failed: ${message}`),
  /** nginx in front of a Mastodon whose Puma is down. */
  badGateway: (): Answer => ({status: 502, headers: {'Content-Type': 'text/html'}, body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n'}),
  serverError: (): Answer => mastodonError(500, 'Internal Server Error'),
}

const invalidToken = () => mastodonError(401, 'The access token is invalid')
const outsideScopes = () => mastodonError(403, 'This action is outside the authorized scopes')

/** A plan answering as a Mastodon instance does; every other path is a 404. */
export function mastodonPlan(options: MastodonPlanOptions = {}): MastodonFake {
  const token = options.accessToken ?? testAccessToken
  const acct = options.acct ?? testAcct
  const scopes = new Set(options.scopes ?? ['read', 'write'])
  const maxCharacters = options.maxCharacters ?? 500
  const host = options.host ?? 'social.example'
  const posts: MastodonPost[] = []
  const statuses: MastodonStatus[] = []
  const byIdempotencyKey = new Map<string, MastodonStatus>()
  let postsSeen = 0

  const authorised = (request: IncomingRequest, scope: 'read' | 'write'): Answer | undefined => {
    if (request.headers.authorization !== `Bearer ${token}`) return invalidToken()
    return scopes.has(scope) ? undefined : outsideScopes()
  }

  const createStatus = (request: IncomingRequest): Answer => {
    const cued = options.cueAt?.[postsSeen++]
    const parameters = parametersOf(request)
    const idempotencyKey = headerOf(request, 'idempotency-key')
    const post: MastodonPost = {index: request.index, parameters: parameters ?? {}, duplicate: false, ...(idempotencyKey && {idempotencyKey})}
    posts.push(post)
    const answer = cued ?? authorised(request, 'write') ?? publish(parameters, idempotencyKey, post)
    if ('status' in answer) {
      post.httpStatus = answer.status
      if (answer.status >= 400) post.error = errorOf(answer.body)
    }
    return answer
  }

  const publish = (parameters: Record<string, unknown> | undefined, idempotencyKey: string | undefined, post: MastodonPost): Answer => {
    if (!parameters) return mastodonError(400, 'Error occurred while parsing request parameters.')
    const known = idempotencyKey ? byIdempotencyKey.get(idempotencyKey) : undefined
    if (known) {
      post.statusId = known.id
      post.duplicate = true
      return statusAnswer(known, acct)
    }
    const text = typeof parameters.status === 'string' ? parameters.status : ''
    const spoilerText = typeof parameters.spoiler_text === 'string' ? parameters.spoiler_text : ''
    const visibility = typeof parameters.visibility === 'string' ? parameters.visibility : 'public'
    const inReplyToId = parameters.in_reply_to_id === undefined || parameters.in_reply_to_id === '' ? null : String(parameters.in_reply_to_id)
    if (inReplyToId !== null && !statuses.some((status) => status.id === inReplyToId)) return mastodonError(404, 'The post you are trying to reply to does not appear to exist.')
    if (!text.trim()) return mastodonFaults.unprocessable("Text can't be blank")
    if (!['public', 'unlisted', 'private', 'direct'].includes(visibility)) return mastodonFaults.unprocessable('Visibility is not included in the list')
    if (mastodonLength(text, spoilerText) > maxCharacters) return mastodonFaults.unprocessable(`Text character limit of ${maxCharacters} exceeded`)
    const id = statusId(statuses.length)
    const status: MastodonStatus = {
      id,
      url: `https://${host}/@${acct}/${id}`,
      text,
      spoilerText,
      visibility,
      language: typeof parameters.language === 'string' ? parameters.language : null,
      inReplyToId,
      ...(idempotencyKey && {idempotencyKey}),
    }
    statuses.push(status)
    if (idempotencyKey) byIdempotencyKey.set(idempotencyKey, status)
    post.statusId = id
    return statusAnswer(status, acct)
  }

  const plan: ResponsePlan = (request) => {
    const path = request.path.split('?')[0]!
    if (request.method === 'POST' && path === '/api/v1/statuses') return createStatus(request)
    if (request.method === 'GET' && path === '/api/v1/accounts/verify_credentials') {
      const refused = authorised(request, 'read')
      if (refused) return refused
      return json(200, {id: '109371923411234567', username: acct, acct, display_name: 'North Wales Police', locked: false, bot: false, url: `https://${host}/@${acct}`})
    }
    if (request.method === 'GET' && path === '/api/v2/instance' && !options.v1InstanceOnly) {
      return json(200, {
        domain: host,
        title: 'Social Example',
        version: '4.3.2',
        configuration: {statuses: {max_characters: maxCharacters, max_media_attachments: 4, characters_reserved_per_url: 23}},
      })
    }
    if (request.method === 'GET' && path === '/api/v1/instance') {
      return json(200, {uri: host, title: 'Social Example', version: '3.5.19', configuration: {statuses: {max_characters: maxCharacters, max_media_attachments: 4, characters_reserved_per_url: 23}}})
    }
    return mastodonError(404, 'Record not found')
  }

  return {plan, posts, statuses}
}

/** Snowflake-like ids, as Mastodon's: long digit strings, increasing. */
export function statusId(sequence: number): string {
  return `1124${String(sequence + 1).padStart(14, '0')}`
}

function statusAnswer(status: MastodonStatus, acct: string): Answer {
  return json(200, {
    id: status.id,
    uri: status.url.replace(`/@${acct}/`, `/users/${acct}/statuses/`),
    url: status.url,
    content: `<p>${status.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</p>`,
    spoiler_text: status.spoilerText,
    visibility: status.visibility,
    language: status.language,
    in_reply_to_id: status.inReplyToId,
  })
}

function json(status: number, body: unknown): Answer {
  return {
    status,
    headers: {...jsonHeaders, 'X-RateLimit-Limit': '300', 'X-RateLimit-Remaining': '299', 'X-RateLimit-Reset': new Date(Date.now() + 3 * 3_600_000).toISOString()},
    body: JSON.stringify(body),
  }
}

/** Mastodon reads parameters from JSON or a form, as Rails does; undefined when the JSON is broken. */
function parametersOf(request: IncomingRequest): Record<string, unknown> | undefined {
  const type = headerOf(request, 'content-type') ?? ''
  if (type.startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(request.body)
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined
    } catch {
      return undefined
    }
  }
  return Object.fromEntries(new URLSearchParams(request.body))
}

function headerOf(request: IncomingRequest, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function errorOf(body: string | undefined): string | undefined {
  try {
    const parsed = JSON.parse(body ?? '') as {error?: unknown}
    return typeof parsed.error === 'string' ? parsed.error : body
  } catch {
    return body
  }
}

/** A mastodon channel for config.yaml pointing at the fake; the token comes from MASTODON_TOKEN. JSON is YAML. */
export function mastodonChannelConfig(fakeUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {type: 'mastodon', baseUrl: fakeUrl, accessToken: '${MASTODON_TOKEN}', ...overrides}
}

/** The environment mastodonChannelConfig needs. */
export const mastodonEnv = {MASTODON_TOKEN: testAccessToken}
