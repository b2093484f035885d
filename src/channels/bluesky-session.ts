import {createHash} from 'node:crypto'
import {rememberSecret} from '../config/secrets.js'
import {stripTerminalControls} from '../core/terminal-text.js'
import type {BlueskySettings} from './bluesky.js'
import type {ChannelConfig, CheckResult} from './driver.js'
import {ChannelUnusableError, PermanentSendError, RateLimitedError, TransientSendError} from './errors.js'
import type {HttpClient, HttpResponse} from './http.js'
import {firstBodyLine, headerValue, isRefusedRequest, networkReason, parseRetryAfter, safeReason, parseJsonObject} from './http-failures.js'
import {channelTimeoutMs} from './timeout.js'
import {isHttpUrl} from './http-url.js'

// Talking to the account's PDS: XRPC calls over the shared undici pool, in a session signed in
// once per account per process (createSession is limited to 30 per 5 minutes) and renewed when
// the PDS refuses its token; and what a failed call means for the delivery.

/** When a 429 says neither ratelimit-reset nor Retry-After. */
const defaultRateLimitMs = 60_000

export interface Io {
  http: HttpClient
  signal: AbortSignal
  now: () => number
}

export interface Session {
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

/** Signs out of nothing (sessions simply lapse), but lets the process exit holding none. */
export function forgetSessions(): void {
  sessions.clear()
}

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

export function currentSession(channel: ChannelConfig<BlueskySettings>, io: Io): Promise<Session> {
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
  // Either way no post can go until the settings or the account are put right: the channel waits, its deliveries queued.
  if (answer.status === 401 && (answer.error ?? 'AuthenticationRequired') === 'AuthenticationRequired') {
    throw new ChannelUnusableError(`${reasonOf(answer, channel)} — check the channel's identifier and appPassword (an app password, not the account's)`)
  }
  if (answer.status === 401) throw new ChannelUnusableError(reasonOf(answer, channel))
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
  // They post as the account: never shown, whatever a provider's error quotes.
  rememberSecret(accessJwt)
  rememberSecret(refreshJwt)
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

export function describeSession(session: Session, channel: ChannelConfig<BlueskySettings>): CheckResult {
  const handle = stripTerminalControls(session.handle)
  const pds = session.pdsUrl === trimmedBase(channel) ? '' : `; repository on ${stripTerminalControls(session.pdsUrl)}`
  if (!session.active) {
    const status = stripTerminalControls(session.status ?? 'inactive')
    return {ok: false, detail: `signed in as @${handle}, but the account is ${status}: posts will be refused`}
  }
  return {ok: true, detail: `signed in as @${handle} (${stripTerminalControls(session.did)})${pds}`}
}

// XRPC over the shared pool.

export interface XrpcAnswer {
  status: number
  response: HttpResponse
  json?: Record<string, unknown>
  /** XRPC error name: InvalidRequest, ExpiredToken, RateLimitExceeded… */
  error?: string
  message?: string
}

export async function xrpc(
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
export async function authorized(channel: ChannelConfig<BlueskySettings>, io: Io, nsid: string, body: (session: Session) => unknown): Promise<{answer: XrpcAnswer; session: Session}> {
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
export function failureOf(answer: XrpcAnswer, channel: ChannelConfig<BlueskySettings>, io: Io): Error {
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
export function reasonOf(answer: XrpcAnswer, channel: ChannelConfig<BlueskySettings>): string {
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
