import {createHash} from 'node:crypto'
import {createRequire} from 'node:module'
import {z} from 'zod'
import {stripTerminalControls} from '../core/terminal-text.js'
import type {ChannelConfig, CheckResult, Driver, PostedPart} from './driver.js'
import {PermanentSendError, RateLimitedError, TransientSendError} from './errors.js'
import type {HttpClient, HttpResponse} from './http.js'
import {channelTimeoutMs, firstBodyLine, headerValue, isRefusedRequest, networkReason, parseRetryAfter, safeReason, parseJsonObject} from './http-failures.js'
import {socialText} from './social-text.js'
import {postThread, threadPosts} from './thread.js'
import {httpUrl, isHttpUrl} from './http-url.js'

// Posts to a Bluesky account (or any atproto PDS) as app.bsky.feed.post records, long
// announcements as a thread of replies.
//
// The XRPC calls go through the shared undici pool rather than @atproto/api's agent: measured
// against a local PDS stand-in, the agent costs 3–10× a plain request per post (fetch, and
// lexicon validation of every answer), over the 1.5× the issue allows. The library still does
// what it is for: finding link and hashtag facets, loaded on first render (~10 ms, not the
// ~700 ms of its index).
//
// Idempotency: each post is written with com.atproto.repo.putRecord under a record key derived
// from the delivery id and the part's index, with `swapRecord: null` ("only if there is no
// record there yet"). A resend finds its own post already there (the PDS answers InvalidSwap)
// and takes it as posted, so a retry whose first answer was lost cannot post twice.
// (createRecord and applyWrites with an existing key fail with a bare 500, which would retry
// forever; putRecord's swap check says what happened.)

const postCollection = 'app.bsky.feed.post'
/** app.bsky.feed.post text: at most 300 graphemes and 3,000 UTF-8 bytes (the lexicon's limits). */
const maxGraphemes = 300
const maxTextBytes = 3000
/** When a 429 says neither ratelimit-reset nor Retry-After. */
const defaultRateLimitMs = 60_000

/** `@police.bsky.social` and `police.bsky.social` are the same handle. */
const account = z
  .string()
  .trim()
  .min(1)
  .transform((text) => text.replace(/^@/, ''))

const blueskySettings = z
  .object({
    /** The account's PDS, or the entryway that signs it in (bsky.social hands over to the account's PDS). */
    baseUrl: httpUrl.default('https://bsky.social'),
    /** Handle (police.bsky.social) or DID (did:plc:…) of the account that posts. */
    identifier: account.optional(),
    /** The same as identifier, as DESIGN.md's example config spells it. */
    handle: account.optional(),
    /** An app password (Settings → Privacy and security → App passwords); written `${ENV}` in config. */
    appPassword: z.string().min(1),
    /** Split a long announcement into a numbered thread; when false, over 300 graphemes is a policy error. */
    threads: z.boolean().default(true),
    /** Start the first post with the severity ("🟠 SEVERE"). */
    severityTag: z.boolean().default(true),
  })
  .superRefine((settings, context) => {
    if (!settings.identifier && !settings.handle) context.addIssue({code: 'custom', path: ['identifier'], message: 'required: the handle or DID of the account that posts'})
    if (settings.identifier && settings.handle) context.addIssue({code: 'custom', path: ['handle'], message: 'give identifier or handle, not both'})
  })
export type BlueskySettings = z.infer<typeof blueskySettings>

/** A link or hashtag span of a post, in UTF-8 byte offsets (app.bsky.richtext.facet). */
export interface Facet {
  index: {byteStart: number; byteEnd: number}
  features: Array<{$type: 'app.bsky.richtext.facet#link'; uri: string} | {$type: 'app.bsky.richtext.facet#tag'; tag: string}>
}

export interface BlueskyPost {
  text: string
  facets?: Facet[]
}

/** render() output and send() input: the posts of the thread, in order. */
export interface BlueskyPayload {
  posts: BlueskyPost[]
  /** The variant's language, when it is a well-formed BCP 47 tag (the lexicon's `langs`). */
  langs?: string[]
}

export const bluesky: Driver<BlueskySettings, BlueskyPayload> = {
  type: 'bluesky',
  kind: 'broadcast',
  config: blueskySettings,
  capabilities: {maxLength: maxGraphemes, counts: 'graphemes', threads: true, media: false, idempotent: true, reconcile: true},

  render(announcement, variant, context) {
    const {channel} = context
    const text = socialText(announcement, variant, {severityTag: channel.severityTag, capUrl: context.capUrl})
    const posts = threadPosts(text, {limit: maxGraphemes, count: splitLength, threads: channel.threads})
    const langs = isLanguageTag(variant.language) ? [variant.language] : undefined
    return {
      parts: posts.map((post, index) => ({
        label: posts.length === 1 ? 'post' : `post ${index + 1}/${posts.length}`,
        text: post,
        // Over the limit is reported, not thrown: the policy check turns it into an error.
        length: {count: graphemeLength(post), limit: maxGraphemes, unit: 'graphemes'},
      })),
      payload: {posts: posts.map((post) => withFacets(post)), ...(langs && {langs})},
    }
  },

  async send(payload, context) {
    const {channel} = context
    const io: Io = {http: context.http, signal: context.signal, now: context.now}
    return postThread(payload.posts, context, async (post, index, replyTo, root) => {
      const reply = replyTo && root ? {root: await strongRef(root, channel, io), parent: await strongRef(replyTo, channel, io)} : undefined
      const record = {
        $type: postCollection,
        text: post.text,
        ...(post.facets && {facets: post.facets}),
        ...(payload.langs && {langs: payload.langs}),
        ...(reply && {reply}),
        createdAt: new Date(context.now()).toISOString(),
      }
      return putPost(record, recordKey(context.deliveryId, index), channel, io)
    })
  },

  async check(channel, context) {
    const io: Io = {http: context.http, signal: context.signal, now: Date.now}
    let session: Session
    try {
      session = await currentSession(channel, io)
    } catch (error) {
      return {ok: false, detail: error instanceof Error ? error.message : String(error)}
    }
    return describeSession(session, channel)
  },

  /**
   * Looks the thread up by its record keys: the first post, and when it is numbered `1/n`, the
   * last. Both there → sent; otherwise undefined, and a resend posts only what is missing.
   */
  async reconcile(deliveryId, context) {
    const {channel} = context
    const io: Io = {http: context.http, signal: context.signal, now: context.now}
    const session = await currentSession(channel, io)
    const first = await getPost(session, recordKey(deliveryId, 0), channel, io)
    if (!first) return undefined
    const count = /\n1\/(\d+)$/.exec(first.text)
    if (count && Number(count[1]) > 1 && !(await getPost(session, recordKey(deliveryId, Number(count[1]) - 1), channel, io))) return undefined
    return {providerId: first.uri, url: postUrl(first.uri)}
  },

  async close() {
    sessions.clear()
  },
}

// Counting and facets.

let graphemes: Intl.Segmenter | undefined
/** Characters that may join a neighbour into one grapheme: CR (CR LF), and everything from U+0300 (combining marks, surrogates, ZWJ…). */
const joining = /[^\u0000-\u000c\u000e-\u02ff]+/g

/**
 * Bluesky's own count (RichText.graphemeLength): extended grapheme clusters, as Intl.Segmenter
 * splits them. Segmenting is ~2 µs a character and a thread split counts each text many times
 * (~30 ms for 2,000 characters), so only the stretches around characters that can join a
 * neighbour are segmented; below U+0300, CR aside, every character is a grapheme of its own.
 */
export function graphemeLength(text: string): number {
  let count = 0
  let counted = 0
  let stretchStart = 0
  let stretchEnd = 0
  const countStretch = () => {
    graphemes ??= new Intl.Segmenter(undefined, {granularity: 'grapheme'})
    count += stretchStart - counted
    for (const _ of graphemes.segment(text.slice(stretchStart, stretchEnd))) count++
    counted = stretchEnd
  }
  for (const match of text.matchAll(joining)) {
    // With one neighbour each side: the base a combining mark joins, the character a prepended mark joins.
    const start = Math.max(0, match.index - 1)
    const end = Math.min(text.length, match.index + match[0].length + 1)
    if (stretchEnd > 0 && start <= stretchEnd) {
      stretchEnd = end
      continue
    }
    if (stretchEnd > 0) countStretch()
    stretchStart = start
    stretchEnd = end
  }
  if (stretchEnd > 0) countStretch()
  return count + text.length - counted
}

/** For splitting only: a post must also stay within 3,000 bytes (ZWJ emoji run to 25 bytes each). */
function splitLength(text: string): number {
  return Buffer.byteLength(text) > maxTextBytes ? Number.POSITIVE_INFINITY : graphemeLength(text)
}

type Detection = typeof import('@atproto/api/dist/rich-text/detection.js')
let detection: Detection | undefined

/**
 * Link and hashtag facets, found by @atproto/api's own detector (what RichText's
 * detectFacetsWithoutResolution runs), with byte offsets into the UTF-8 text. Mentions are left
 * as plain text: a mention facet needs the DID, which takes a lookup render may not make;
 * cashtags ($ABC) are not ours to tag.
 */
export function withFacets(text: string): BlueskyPost {
  // The detector alone, not the package index (which loads every lexicon); it needs only the
  // text and a UTF-16 → UTF-8 index conversion, which is all UnicodeString gives it here.
  detection ??= createRequire(import.meta.url)('@atproto/api/dist/rich-text/detection.js') as Detection
  const unicode = {utf16: text, utf16IndexToUtf8Index: (index: number) => Buffer.byteLength(text.slice(0, index))}
  const detected = detection.detectFacets(unicode as unknown as Parameters<Detection['detectFacets']>[0]) ?? []
  const facets: Facet[] = []
  for (const facet of detected) {
    const features: Facet['features'] = []
    for (const feature of facet.features as Array<{$type: string; uri?: unknown; tag?: unknown}>) {
      const {$type, uri, tag} = feature
      if ($type === 'app.bsky.richtext.facet#link' && typeof uri === 'string') features.push({$type, uri})
      else if ($type === 'app.bsky.richtext.facet#tag' && typeof tag === 'string' && !tag.startsWith('$')) features.push({$type, tag})
    }
    if (features.length) facets.push({index: {byteStart: facet.index.byteStart, byteEnd: facet.index.byteEnd}, features})
  }
  facets.sort((a, b) => a.index.byteStart - b.index.byteStart)
  return facets.length ? {text, facets} : {text}
}

function isLanguageTag(text: string): boolean {
  return /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i.test(text)
}

// Record keys.

const base32Sortable = '234567abcdefghijklmnopqrstuvwxyz'
const ulid = /^[0-9A-HJKMNP-TV-Z]{26}$/i
const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
/** Parts 0–63 of a thread share one hash and differ in the clock id's low 6 bits, so they sort in thread order. */
const partsPerGroup = 64

/**
 * The record key of part `partIndex` of a delivery: a TID (13 characters of sortable base32,
 * 64 bits: a zero bit, 53 bits of microseconds, 10 bits of clock id) that is the same on every
 * attempt. The time is the delivery id's ULID timestamp to the millisecond. Within that
 * millisecond, the first 512 microseconds and the clock id's top 4 bits carry the low 13 bits
 * of the ULID's random part, which a monotonic factory counts up within a millisecond — so up
 * to 8,192 deliveries made in one millisecond by one process get different keys, and two
 * processes' deliveries collide only in the same millisecond, with a chance of 1 in 8,192.
 * The clock id's low 6 bits are the part's index, so a thread's first 64 parts sort in order;
 * later parts take a hashed microsecond from 512 up, never a first part's key.
 */
export function recordKey(deliveryId: string, partIndex: number): string {
  const group = Math.floor(partIndex / partsPerGroup)
  const part = partIndex % partsPerGroup
  if (!ulid.test(deliveryId)) {
    const digest = createHash('sha256').update(`${deliveryId}\n${group}`).digest()
    const micros = (digest.readUInt32BE(8) % 2 ** 31) * 1_000_000 + (digest.readUInt32BE(0) % 1_000_000)
    return tid(micros, ((digest[4]! & 0x0f) << 6) | part)
  }
  const millisecond = ulidTime(deliveryId) * 1000
  if (group === 0) {
    const counter = crockfordValue(deliveryId.slice(-3)) & 0x1fff
    return tid(millisecond + (counter >> 4), ((counter & 0x0f) << 6) | part)
  }
  const digest = createHash('sha256').update(`${deliveryId}\n${group}`).digest()
  return tid(millisecond + 512 + (digest.readUInt32BE(0) % 488), ((digest[4]! & 0x0f) << 6) | part)
}

/** Microseconds since the epoch (under 2^53, so a Number holds them exactly) fill 11 characters, the clock id the last 2. */
function tid(micros: number, clockId: number): string {
  return sortableBase32(micros, 11) + sortableBase32(clockId, 2)
}

function sortableBase32(value: number, digits: number): string {
  let text = ''
  for (let rest = value, i = 0; i < digits; i++, rest = Math.floor(rest / 32)) text = base32Sortable[rest % 32]! + text
  return text
}

/** A ULID's first 10 characters: milliseconds since the epoch in Crockford base32. */
function ulidTime(id: string): number {
  return crockfordValue(id.slice(0, 10))
}

function crockfordValue(text: string): number {
  let value = 0
  for (const character of text.toUpperCase()) value = value * 32 + crockford.indexOf(character)
  return value
}

// Sessions.

interface Io {
  http: HttpClient
  signal: AbortSignal
  now: () => number
}

interface Session {
  did: string
  handle: string
  accessJwt: string
  refreshJwt: string
  /** Where the account's repo lives: the DID document's PDS, else baseUrl. */
  pdsUrl: string
  active: boolean
  status?: string
}

/** One session per account per process (createSession is limited to 30 per 5 minutes), shared by concurrent sends. */
const sessions = new Map<string, Promise<Session>>()

const sessionKeys = new WeakMap<object, string>()

function sessionKey(channel: ChannelConfig<BlueskySettings>): string {
  let key = sessionKeys.get(channel)
  if (key === undefined) {
    // The password's hash is in the key so that a changed password is never served an old session.
    const password = createHash('sha256').update(channel.appPassword).digest('base64url').slice(0, 16)
    key = `${trimmedBase(channel)}\n${identifierOf(channel)}\n${password}`
    sessionKeys.set(channel, key)
  }
  return key
}

function currentSession(channel: ChannelConfig<BlueskySettings>, io: Io): Promise<Session> {
  const key = sessionKey(channel)
  const cached = sessions.get(key)
  if (cached) return cached
  return remember(key, createSession(channel, io))
}

/**
 * A new session after the PDS refused `stale`: refreshed when it expired, created again when it
 * was refused outright (or the refresh was). Sends that hit the same refusal share one renewal.
 */
async function renewSession(channel: ChannelConfig<BlueskySettings>, io: Io, stale: Session, refusal: TokenRefusal): Promise<Session> {
  const key = sessionKey(channel)
  const cached = sessions.get(key)
  const current = cached && (await cached.catch(() => undefined))
  if (current && current.accessJwt !== stale.accessJwt) return current
  const renewed = refusal === 'expired' ? refreshSession(channel, io, stale).then((session) => session ?? createSession(channel, io)) : createSession(channel, io)
  return remember(key, renewed)
}

function remember(key: string, pending: Promise<Session>): Promise<Session> {
  sessions.set(key, pending)
  // A failed sign-in is not kept: the next send tries again.
  pending.catch(() => {
    if (sessions.get(key) === pending) sessions.delete(key)
  })
  return pending
}

async function createSession(channel: ChannelConfig<BlueskySettings>, io: Io): Promise<Session> {
  const answer = await xrpc(channel, io, trimmedBase(channel), 'com.atproto.server.createSession', {method: 'POST', body: {identifier: identifierOf(channel), password: channel.appPassword}})
  if (answer.status === 200) return parseSession(answer, channel)
  // AuthenticationRequired is a wrong identifier or password; AccountTakedown and the like say why themselves.
  if (answer.status === 401 && (answer.error ?? 'AuthenticationRequired') === 'AuthenticationRequired') {
    throw new PermanentSendError(`${reasonOf(answer, channel)} — check the channel's identifier and appPassword (an app password, not the account's)`)
  }
  if (answer.status === 401) throw new PermanentSendError(reasonOf(answer, channel))
  throw failureOf(answer, channel, io)
}

/** The refreshed session, or undefined when the refresh token is refused too (then sign in again). */
async function refreshSession(channel: ChannelConfig<BlueskySettings>, io: Io, stale: Session): Promise<Session | undefined> {
  const answer = await xrpc(channel, io, trimmedBase(channel), 'com.atproto.server.refreshSession', {method: 'POST', token: stale.refreshJwt})
  if (answer.status === 200) return parseSession(answer, channel)
  if (tokenRefusal(answer)) return undefined
  throw failureOf(answer, channel, io)
}

function parseSession(answer: XrpcAnswer, channel: ChannelConfig<BlueskySettings>): Session {
  const body = answer.json ?? {}
  const {did, handle, accessJwt, refreshJwt} = body
  if (typeof did !== 'string' || typeof accessJwt !== 'string' || typeof refreshJwt !== 'string') {
    throw new TransientSendError(`unexpected answer to sign-in: ${reasonOf(answer, channel)}`)
  }
  return {
    did,
    handle: typeof handle === 'string' ? handle : did,
    accessJwt,
    refreshJwt,
    pdsUrl: pdsEndpoint(body.didDoc) ?? trimmedBase(channel),
    active: body.active !== false,
    ...(typeof body.status === 'string' && {status: body.status}),
  }
}

/** The `#atproto_pds` service of a DID document, as @atproto/api's agent picks it. */
function pdsEndpoint(didDoc: unknown): string | undefined {
  if (!didDoc || typeof didDoc !== 'object') return undefined
  const {id, service} = didDoc as {id?: unknown; service?: unknown}
  if (!Array.isArray(service)) return undefined
  for (const entry of service as Array<Record<string, unknown>>) {
    const isPds = entry && (entry.id === '#atproto_pds' || entry.id === `${String(id)}#atproto_pds`) && entry.type === 'AtprotoPersonalDataServer'
    if (isPds && typeof entry.serviceEndpoint === 'string' && isHttpUrl(entry.serviceEndpoint)) return entry.serviceEndpoint.replace(/\/+$/, '')
  }
  return undefined
}

function describeSession(session: Session, channel: ChannelConfig<BlueskySettings>): CheckResult {
  const handle = stripTerminalControls(session.handle)
  const pds = session.pdsUrl === trimmedBase(channel) ? '' : `; repository on ${stripTerminalControls(session.pdsUrl)}`
  if (!session.active) {
    const status = stripTerminalControls(session.status ?? 'inactive')
    return {ok: false, detail: `signed in as @${handle}, but the account is ${status}: posts will be refused`}
  }
  return {ok: true, detail: `signed in as @${handle} (${stripTerminalControls(session.did)})${pds}`}
}

// Posting.

interface StrongRef {
  uri: string
  cid: string
}

/**
 * Writes one post under its record key, unless a post is already there. The one already there
 * is ours (a send whose answer was lost) when it says the same; anything else there is a
 * collision of record keys, reported rather than taken for ours.
 */
async function putPost(record: {text: string} & Record<string, unknown>, rkey: string, channel: ChannelConfig<BlueskySettings>, io: Io): Promise<Omit<PostedPart, 'index'>> {
  const {answer, session} = await authorized(channel, io, 'com.atproto.repo.putRecord', (current) => ({repo: current.did, collection: postCollection, rkey, record, swapRecord: null}))
  let ref: StrongRef
  if (answer.status === 200) {
    const uri = typeof answer.json?.uri === 'string' ? answer.json.uri : `at://${session.did}/${postCollection}/${rkey}`
    ref = {uri, cid: typeof answer.json?.cid === 'string' ? answer.json.cid : ''}
  } else if (answer.error === 'InvalidSwap') {
    const existing = await getPost(session, rkey, channel, io)
    // Deleted between the two requests: the next attempt writes it again.
    if (!existing) throw new TransientSendError(`${reasonOf(answer, channel)}, then not found`)
    if (existing.text !== record.text) {
      throw new PermanentSendError(`a different post already has this post's record key (${existing.uri}) — check the account before sending again`)
    }
    ref = {uri: existing.uri, cid: existing.cid}
  } else {
    throw failureOf(answer, channel, io)
  }
  return {providerId: ref.uri, url: postUrl(ref.uri), ...(ref.cid && {ref: ref.cid})}
}

/** A reply needs the post's uri and cid; the cid is fetched when an earlier attempt did not keep it. */
async function strongRef(part: PostedPart, channel: ChannelConfig<BlueskySettings>, io: Io): Promise<StrongRef> {
  if (part.ref) return {uri: part.providerId, cid: part.ref}
  const rkey = part.providerId.split('/').at(-1) ?? ''
  const found = await getPost(await currentSession(channel, io), rkey, channel, io)
  if (!found) throw new PermanentSendError(`the thread's post ${part.providerId} is gone; the rest cannot reply to it`)
  return {uri: found.uri, cid: found.cid}
}

/** com.atproto.repo.getRecord (public, no token): the post, or undefined when there is none. */
async function getPost(session: Session, rkey: string, channel: ChannelConfig<BlueskySettings>, io: Io): Promise<(StrongRef & {text: string}) | undefined> {
  const answer = await xrpc(channel, io, session.pdsUrl, 'com.atproto.repo.getRecord', {method: 'GET', query: {repo: session.did, collection: postCollection, rkey}})
  if (answer.status === 200) {
    const {uri, cid, value} = answer.json ?? {}
    const text = value && typeof value === 'object' ? (value as {text?: unknown}).text : undefined
    return {uri: typeof uri === 'string' ? uri : `at://${session.did}/${postCollection}/${rkey}`, cid: typeof cid === 'string' ? cid : '', text: typeof text === 'string' ? text : ''}
  }
  if (answer.error === 'RecordNotFound' || answer.status === 404) return undefined
  throw failureOf(answer, channel, io)
}

/** https://bsky.app/profile/<did>/post/<rkey> for at://<did>/app.bsky.feed.post/<rkey>. */
export function postUrl(uri: string): string | undefined {
  const match = /^at:\/\/([^/]+)\/app\.bsky\.feed\.post\/([^/]+)$/.exec(uri)
  return match ? `https://bsky.app/profile/${match[1]}/post/${match[2]}` : undefined
}

// XRPC over the shared pool.

interface XrpcAnswer {
  status: number
  response: HttpResponse
  json?: Record<string, unknown>
  /** XRPC error name: InvalidRequest, ExpiredToken, RateLimitExceeded… */
  error?: string
  message?: string
}

async function xrpc(
  channel: ChannelConfig<BlueskySettings>,
  io: Io,
  origin: string,
  nsid: string,
  request: {method: 'GET' | 'POST'; query?: Record<string, string>; body?: unknown; token?: string},
): Promise<XrpcAnswer> {
  const query = request.query ? `?${new URLSearchParams(request.query).toString()}` : ''
  const headers: Record<string, string> = {Accept: 'application/json', 'User-Agent': 'crier'}
  if (request.token) headers.Authorization = `Bearer ${request.token}`
  if (request.body !== undefined) headers['Content-Type'] = 'application/json'
  let response: HttpResponse
  try {
    response = await io.http.request(`${origin}/xrpc/${nsid}${query}`, {
      method: request.method,
      headers,
      ...(request.body !== undefined && {body: JSON.stringify(request.body)}),
      timeoutMs: channelTimeoutMs(channel),
      signal: io.signal,
    })
  } catch (error) {
    const reason = safeReason(networkReason(error), channelSecrets(channel))
    throw isRefusedRequest(error) ? new PermanentSendError(reason) : new TransientSendError(reason)
  }
  const json = parseJsonObject(response.body)
  return {
    status: response.status,
    response,
    ...(json && {json}),
    ...(typeof json?.error === 'string' && {error: json.error}),
    ...(typeof json?.message === 'string' && {message: json.message}),
  }
}

type TokenRefusal = 'expired' | 'refused'

function tokenRefusal(answer: XrpcAnswer): TokenRefusal | undefined {
  if (answer.error === 'ExpiredToken') return 'expired'
  if (answer.error === 'InvalidToken' || answer.status === 401) return 'refused'
  return undefined
}

/** A call with the session's token, renewing the session once if the PDS refuses the token. */
async function authorized(channel: ChannelConfig<BlueskySettings>, io: Io, nsid: string, body: (session: Session) => unknown): Promise<{answer: XrpcAnswer; session: Session}> {
  let session = await currentSession(channel, io)
  let answer = await xrpc(channel, io, session.pdsUrl, nsid, {method: 'POST', body: body(session), token: session.accessJwt})
  const refusal = tokenRefusal(answer)
  if (refusal) {
    session = await renewSession(channel, io, session, refusal)
    answer = await xrpc(channel, io, session.pdsUrl, nsid, {method: 'POST', body: body(session), token: session.accessJwt})
    if (tokenRefusal(answer)) throw new PermanentSendError(`${reasonOf(answer, channel)} — the PDS refused a new session's token; check the channel's identifier and appPassword`)
  }
  return {answer, session}
}

/**
 * What a failed answer means for the engine: 429 / RateLimitExceeded pauses the channel until
 * ratelimit-reset (epoch seconds); 5xx and 408/425 are worth retrying; any other 4xx
 * (InvalidRequest: a record the lexicon refuses, a deactivated account) will fail again.
 */
function failureOf(answer: XrpcAnswer, channel: ChannelConfig<BlueskySettings>, io: Io): Error {
  const reason = reasonOf(answer, channel)
  const {status, response} = answer
  const retryAfterMs = parseRetryAfter(headerValue(response, 'retry-after'), io.now())
  if (status === 429 || answer.error === 'RateLimitExceeded') {
    const reset = Number(headerValue(response, 'ratelimit-reset'))
    const untilReset = Number.isFinite(reset) && reset > 0 ? Math.max(1000, reset * 1000 - io.now()) : undefined
    return new RateLimitedError(reason, untilReset ?? retryAfterMs ?? defaultRateLimitMs)
  }
  if (status === 408 || status === 425 || status >= 500) return new TransientSendError(reason, retryAfterMs)
  return new PermanentSendError(reason)
}

/** "Bluesky InvalidRequest: Invalid app.bsky.feed.post record: …", safe to store and print. */
function reasonOf(answer: XrpcAnswer, channel: ChannelConfig<BlueskySettings>): string {
  const said = answer.message ?? (answer.error ? undefined : firstBodyLine(answer.response.body))
  const text = said ? safeReason(stripTerminalControls(said).trim(), channelSecrets(channel)) : ''
  if (answer.error) {
    const name = safeReason(stripTerminalControls(answer.error), channelSecrets(channel))
    return text ? `Bluesky ${name}: ${text}` : `Bluesky ${name} (HTTP ${answer.status})`
  }
  return text ? `HTTP ${answer.status}: ${text}` : `HTTP ${answer.status}`
}

function channelSecrets(channel: ChannelConfig<BlueskySettings>): string[] {
  return [channel.appPassword]
}

function identifierOf(channel: ChannelConfig<BlueskySettings>): string {
  return channel.identifier ?? channel.handle ?? ''
}

function trimmedBase(channel: ChannelConfig<BlueskySettings>): string {
  return channel.baseUrl.replace(/\/+$/, '')
}

