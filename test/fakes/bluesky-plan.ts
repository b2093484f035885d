import {createHash} from 'node:crypto'
import type {Answer, IncomingRequest, ResponsePlan} from './provider-server.js'

// A Bluesky PDS as a plan for startProviderFake: the XRPC methods the bluesky driver uses, with
// sessions and tokens checked the way the PDS checks them, and a repository of posts that
// behaves like a real one where idempotency depends on it:
//
//   POST /xrpc/com.atproto.server.createSession   {identifier, password} → tokens (401 AuthenticationRequired)
//   POST /xrpc/com.atproto.server.refreshSession  Bearer refreshJwt → new tokens
//   POST /xrpc/com.atproto.repo.putRecord         Bearer accessJwt; swapRecord: null and a record
//                                                 already there → 400 InvalidSwap "Record was at <cid>"
//   POST /xrpc/com.atproto.repo.createRecord      an rkey already there → 500, as the PDS's MST throws
//   GET  /xrpc/com.atproto.repo.getRecord         public; 400 RecordNotFound
//
// Tokens: no token → 401 AuthMissing; an unknown one → 400 InvalidToken; an expired one → 400
// ExpiredToken (expireAccessTokens() expires every access token issued so far). Records are
// validated as the app.bsky.feed.post lexicon does (300 graphemes, 3,000 bytes, facets, reply
// refs, TID record keys). Failures come on cue per write (putRecord/createRecord) or per
// sign-in, including RateLimitExceeded with ratelimit-* headers.

export const blueskyTestAccount = {
  handle: 'police.bsky.social',
  did: 'did:plc:northwalespolice0000001',
  appPassword: 'abcd-efgh-ijkl-mnop',
}

export interface BlueskyPlanOptions {
  handle?: string
  did?: string
  appPassword?: string
  /** Answers for writes by 0-based index among the writes this plan sees; nothing is stored. */
  cueWriteAt?: Record<number, Answer>
  /** Writes (by the same index) that are stored, then answered with a connection reset: the answer is lost. */
  loseAnswerAt?: number[]
  /** Answers for createSession by 0-based index among sign-ins. */
  cueSessionAt?: Record<number, Answer>
  /** createSession's `active: false` and `status`, as for a deactivated or suspended account. */
  inactiveStatus?: 'deactivated' | 'suspended' | 'takendown'
}

/** One post in the fake's repository. */
export interface StoredPost {
  rkey: string
  uri: string
  cid: string
  text: string
  facets?: Array<{index: {byteStart: number; byteEnd: number}; features: Array<Record<string, unknown>>}>
  reply?: {root: {uri: string; cid: string}; parent: {uri: string; cid: string}}
  langs?: string[]
  createdAt: string
  /** The whole record as written. */
  record: Record<string, unknown>
}

export interface BlueskyFake {
  plan: ResponsePlan
  /** Posts in the repository, in the order they were first written. */
  posts: StoredPost[]
  /** Times each method was called (whatever the answer). */
  calls: Record<string, number>
  /** Writes that replaced an existing record (a real duplicate would show here or in posts). */
  overwrites: number
  /** The `#atproto_pds` service endpoint createSession puts in the DID document, when set. */
  pdsEndpoint?: string
  /** Every access token issued so far is expired from now on (refresh tokens stay valid). */
  expireAccessTokens(): void
  /** Every token issued so far is refused from now on, as after an app password is revoked and re-created. */
  revokeTokens(): void
  /** A post already in the repository at `rkey`, as another client wrote it. */
  seedPost(rkey: string, text: string): StoredPost
}

const json = {'Content-Type': 'application/json; charset=utf-8'}

/** An XRPC error document `{error, message}` with that status. */
export function xrpcError(status: number, error: string, message: string, headers: Record<string, string> = {}): Answer {
  return {status, headers: {...json, ...headers}, body: JSON.stringify({error, message})}
}

/** The failures the driver classifies, as a PDS answers them. */
export const blueskyFaults = {
  /** 429 with the PDS's rate-limit headers; reset is in epoch seconds. */
  rateLimited: (resetEpochSeconds: number): Answer =>
    xrpcError(429, 'RateLimitExceeded', 'Rate Limit Exceeded', {
      'RateLimit-Limit': '5000',
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': String(resetEpochSeconds),
      'RateLimit-Policy': '5000;w=3600',
    }),
  serverError: (): Answer => xrpcError(500, 'InternalServerError', 'Internal Server Error'),
  /** A proxy in front of the PDS, answering in HTML. */
  badGateway: (): Answer => ({status: 502, headers: {'Content-Type': 'text/html'}, body: '<html><body>502 Bad Gateway</body></html>'}),
  invalidRequest: (message: string): Answer => xrpcError(400, 'InvalidRequest', message),
}

interface Token {
  kind: 'access' | 'refresh'
  expired: boolean
  revoked: boolean
}

const tid = /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/
const graphemes = new Intl.Segmenter(undefined, {granularity: 'grapheme'})

export function blueskyPlan(options: BlueskyPlanOptions = {}): BlueskyFake {
  const handle = options.handle ?? blueskyTestAccount.handle
  const did = options.did ?? blueskyTestAccount.did
  const appPassword = options.appPassword ?? blueskyTestAccount.appPassword
  const tokens = new Map<string, Token>()
  const records = new Map<string, StoredPost>()
  const loseAnswerAt = new Set(options.loseAnswerAt ?? [])
  let writesSeen = 0
  let sessionsSeen = 0
  let tokenSerial = 0

  const issue = (kind: Token['kind']): string => {
    tokenSerial += 1
    const header = Buffer.from(JSON.stringify({alg: 'ES256K', typ: kind === 'access' ? 'at+jwt' : 'refresh+jwt'})).toString('base64url')
    const payload = Buffer.from(JSON.stringify({scope: kind === 'access' ? 'com.atproto.appPass' : 'com.atproto.refresh', sub: did, jti: tokenSerial})).toString('base64url')
    const token = `${header}.${payload}.${createHash('sha256').update(`${kind}${tokenSerial}`).digest('base64url')}`
    tokens.set(token, {kind, expired: false, revoked: false})
    return token
  }

  const session = (): Answer => {
    const body: Record<string, unknown> = {did, handle, accessJwt: issue('access'), refreshJwt: issue('refresh'), email: 'alerts@northwales.example', emailConfirmed: true}
    if (fake.pdsEndpoint) {
      body.didDoc = {
        '@context': ['https://www.w3.org/ns/did/v1'],
        id: did,
        alsoKnownAs: [`at://${handle}`],
        service: [{id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: fake.pdsEndpoint}],
      }
    }
    if (options.inactiveStatus) Object.assign(body, {active: false, status: options.inactiveStatus})
    else body.active = true
    return {status: 200, headers: json, body: JSON.stringify(body)}
  }

  /** The PDS's bearer check; undefined when the token is good for `kind`. */
  const refusal = (request: IncomingRequest, kind: Token['kind']): Answer | undefined => {
    const header = request.headers.authorization
    const bearer = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined
    if (!bearer) return xrpcError(401, 'AuthMissing', 'Authentication Required')
    const token = tokens.get(bearer)
    if (!token || token.revoked || token.kind !== kind) return xrpcError(400, 'InvalidToken', 'Token could not be verified')
    if (token.expired) return xrpcError(400, 'ExpiredToken', 'Token has expired')
    return undefined
  }

  const write = (request: IncomingRequest, method: 'putRecord' | 'createRecord'): Answer => {
    const refused = refusal(request, 'access')
    if (refused) return refused
    const index = writesSeen++
    const cued = options.cueWriteAt?.[index]
    if (cued) return cued
    const input = parseObject(request.body)
    if (!input) return xrpcError(400, 'InvalidRequest', 'Request body must be a JSON object')
    if (input.repo !== did && input.repo !== handle) return xrpcError(401, 'AuthRequired', 'Authentication Required')
    if (input.collection !== 'app.bsky.feed.post') return xrpcError(400, 'InvalidRequest', `this fake stores app.bsky.feed.post only, not ${String(input.collection)}`)
    const rkey = method === 'createRecord' && input.rkey === undefined ? nextTid(records.size) : input.rkey
    if (typeof rkey !== 'string' || !tid.test(rkey)) return xrpcError(400, 'InvalidRequest', `Invalid record key for app.bsky.feed.post: must be a TID, got ${JSON.stringify(rkey)}`)
    const record = input.record
    const problem = postProblem(record)
    if (problem) return xrpcError(400, 'InvalidRequest', `Invalid app.bsky.feed.post record: ${problem}`)
    const post = toStoredPost(did, rkey, record as Record<string, unknown>)
    const existing = records.get(rkey)
    if (existing) {
      // The repository's MST refuses a second create of a key with a plain Error: an HTTP 500.
      if (method === 'createRecord') return xrpcError(500, 'InternalServerError', 'Internal Server Error')
      if (existing.cid === post.cid) return written(existing)
      if (input.swapRecord === null || (typeof input.swapRecord === 'string' && input.swapRecord !== existing.cid)) {
        return xrpcError(400, 'InvalidSwap', `Record was at ${existing.cid}`)
      }
      fake.overwrites += 1
      Object.assign(existing, post)
      return written(existing)
    }
    records.set(rkey, post)
    fake.posts.push(post)
    return loseAnswerAt.has(index) ? {reset: true} : written(post)
  }

  const getRecord = (request: IncomingRequest): Answer => {
    const query = new URL(request.path, 'http://pds.invalid').searchParams
    const repo = query.get('repo')
    if (repo !== did && repo !== handle) return xrpcError(400, 'InvalidRequest', `Could not find repo: ${repo ?? ''}`)
    const rkey = query.get('rkey') ?? ''
    const post = query.get('collection') === 'app.bsky.feed.post' ? records.get(rkey) : undefined
    if (!post) return xrpcError(400, 'RecordNotFound', `Could not locate record: at://${did}/${query.get('collection') ?? ''}/${rkey}`)
    return {status: 200, headers: json, body: JSON.stringify({uri: post.uri, cid: post.cid, value: post.record})}
  }

  const fake: BlueskyFake = {
    posts: [],
    calls: {},
    overwrites: 0,
    plan: (request) => {
      const url = new URL(request.path, 'http://pds.invalid')
      const method = url.pathname.startsWith('/xrpc/') ? url.pathname.slice('/xrpc/'.length) : undefined
      if (!method) return {status: 404, headers: {'Content-Type': 'text/plain'}, body: 'Not Found'}
      fake.calls[method] = (fake.calls[method] ?? 0) + 1
      switch (`${request.method} ${method}`) {
        case 'POST com.atproto.server.createSession': {
          const cued = options.cueSessionAt?.[sessionsSeen++]
          if (cued) return cued
          const input = parseObject(request.body)
          if (typeof input?.identifier !== 'string') return xrpcError(400, 'InvalidRequest', 'Input must have the property "identifier"')
          if (typeof input.password !== 'string') return xrpcError(400, 'InvalidRequest', 'Input must have the property "password"')
          const known = input.identifier.toLowerCase() === handle || input.identifier === did
          if (!known || input.password !== appPassword) return xrpcError(401, 'AuthenticationRequired', 'Invalid identifier or password')
          return session()
        }
        case 'POST com.atproto.server.refreshSession': {
          const refused = refusal(request, 'refresh')
          if (refused) return refused
          // The old refresh token is spent once used.
          tokens.get((request.headers.authorization as string).slice(7))!.revoked = true
          return session()
        }
        case 'POST com.atproto.repo.putRecord':
          return write(request, 'putRecord')
        case 'POST com.atproto.repo.createRecord':
          return write(request, 'createRecord')
        case 'GET com.atproto.repo.getRecord':
          return getRecord(request)
        default:
          return xrpcError(501, 'MethodNotImplemented', 'Method Not Implemented')
      }
    },
    expireAccessTokens() {
      for (const token of tokens.values()) if (token.kind === 'access') token.expired = true
    },
    revokeTokens() {
      for (const token of tokens.values()) token.revoked = true
    },
    seedPost(rkey, text) {
      const post = toStoredPost(did, rkey, {$type: 'app.bsky.feed.post', text, createdAt: '2024-05-09T09:00:00.000Z'})
      records.set(rkey, post)
      fake.posts.push(post)
      return post
    },
  }
  return fake
}

function written(post: StoredPost): Answer {
  return {status: 200, headers: json, body: JSON.stringify({uri: post.uri, cid: post.cid, commit: {cid: cidOf(post.uri), rev: nextTid(0)}, validationStatus: 'valid'})}
}

function toStoredPost(did: string, rkey: string, record: Record<string, unknown>): StoredPost {
  return {
    rkey,
    uri: `at://${did}/app.bsky.feed.post/${rkey}`,
    cid: cidOf(JSON.stringify(record)),
    text: record.text as string,
    ...(record.facets !== undefined && {facets: record.facets as StoredPost['facets']}),
    ...(record.reply !== undefined && {reply: record.reply as StoredPost['reply']}),
    ...(record.langs !== undefined && {langs: record.langs as string[]}),
    createdAt: record.createdAt as string,
    record,
  }
}

/** CID-shaped (bafyrei + base32 of a sha-256), from the record's bytes: the same record, the same cid. */
function cidOf(content: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  const digest = createHash('sha256').update(content).digest()
  let bits = ''
  for (const byte of digest) bits += byte.toString(2).padStart(8, '0')
  let encoded = ''
  for (let i = 0; i + 5 <= bits.length; i += 5) encoded += alphabet[parseInt(bits.slice(i, i + 5), 2)]
  return `bafyrei${encoded}`
}

/** A TID of the fake's own (for createRecord without an rkey, and commit revs), from a serial number. */
function nextTid(serial: number): string {
  const alphabet = '234567abcdefghijklmnopqrstuvwxyz'
  let tail = ''
  for (let rest = serial, i = 0; i < 8; i++, rest = Math.floor(rest / 32)) tail = alphabet[rest % 32] + tail
  return `3kfak${tail}`
}

/** What the app.bsky.feed.post lexicon refuses, in its words; undefined for a valid post. */
function postProblem(record: unknown): string | undefined {
  if (!record || typeof record !== 'object') return 'Record must be an object'
  const post = record as Record<string, unknown>
  if (post.$type !== 'app.bsky.feed.post') return 'Record/$type must be app.bsky.feed.post'
  if (typeof post.text !== 'string') return 'Record/text must be a string'
  if (Buffer.byteLength(post.text) > 3000) return 'Record/text must not be longer than 3000 characters'
  if ([...graphemes.segment(post.text)].length > 300) return 'Record/text must not be longer than 300 graphemes'
  if (typeof post.createdAt !== 'string' || Number.isNaN(Date.parse(post.createdAt))) return 'Record/createdAt must be an valid datetime'
  if (post.langs !== undefined && (!Array.isArray(post.langs) || post.langs.length > 3)) return 'Record/langs must not have more than 3 elements'
  if (post.reply !== undefined) {
    const reply = post.reply as Record<string, unknown>
    for (const key of ['root', 'parent']) {
      const ref = reply[key] as Record<string, unknown> | undefined
      if (!ref || typeof ref.uri !== 'string' || !ref.uri.startsWith('at://') || typeof ref.cid !== 'string' || !ref.cid) return `Record/reply/${key} must be a strong ref {uri, cid}`
    }
  }
  if (post.facets !== undefined) {
    if (!Array.isArray(post.facets)) return 'Record/facets must be an array'
    const bytes = Buffer.byteLength(post.text)
    for (const [i, facet] of (post.facets as Array<Record<string, unknown>>).entries()) {
      const index = facet.index as {byteStart?: unknown; byteEnd?: unknown} | undefined
      const {byteStart, byteEnd} = index ?? {}
      if (!Number.isInteger(byteStart) || !Number.isInteger(byteEnd) || (byteStart as number) < 0 || (byteEnd as number) > bytes || (byteStart as number) > (byteEnd as number)) {
        return `Record/facets/${i}/index must be a byte range within the text`
      }
      const features = facet.features
      if (!Array.isArray(features) || features.length === 0) return `Record/facets/${i}/features must not be empty`
      for (const feature of features as Array<Record<string, unknown>>) {
        if (feature.$type === 'app.bsky.richtext.facet#link' && typeof feature.uri === 'string') continue
        if (feature.$type === 'app.bsky.richtext.facet#tag' && typeof feature.tag === 'string') continue
        if (feature.$type === 'app.bsky.richtext.facet#mention' && typeof feature.did === 'string' && feature.did.startsWith('did:')) continue
        return `Record/facets/${i}/features must be a link, a tag or a mention with a DID`
      }
    }
  }
  return undefined
}

function parseObject(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body)
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The text each post's facets cover, decoded from the UTF-8 byte offsets: what a client would underline. */
export function facetSpans(post: Pick<StoredPost, 'text' | 'facets'>): Array<{text: string; feature: Record<string, unknown>}> {
  const bytes = Buffer.from(post.text, 'utf8')
  return (post.facets ?? []).flatMap((facet) => facet.features.map((feature) => ({text: bytes.subarray(facet.index.byteStart, facet.index.byteEnd).toString('utf8'), feature})))
}

/** The channel settings for a bluesky channel against a fake at `fakeUrl`, the password from ${BLUESKY_APP_PASSWORD}. */
export function blueskyChannelConfig(fakeUrl: string, settings: Record<string, unknown> = {}): Record<string, unknown> {
  return {type: 'bluesky', baseUrl: fakeUrl, identifier: blueskyTestAccount.handle, appPassword: '${BLUESKY_APP_PASSWORD}', retryBase: '20ms', retryCap: '200ms', ...settings}
}

/** The environment blueskyChannelConfig's `${BLUESKY_APP_PASSWORD}` reads. */
export const blueskyEnv = {BLUESKY_APP_PASSWORD: blueskyTestAccount.appPassword}
