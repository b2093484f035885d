import {createServer, type IncomingHttpHeaders, type ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

// A real HTTP server on 127.0.0.1 that stands in for a provider's API (DESIGN.md "Testing"):
// it records every request and answers as a plan says, failures included (5xx, 429 with
// Retry-After, stalls, dropped connections). Provider-specific fakes (Mastodon, Telegram…)
// are plans that route on method and path; the server itself stays the same.

/** What the plan sees of a request, once its body has arrived. */
export interface IncomingRequest {
  /** 0-based, counted from the server's start. */
  index: number
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
}

/** A plan's decision for one request. `delayMs` waits before acting. */
export type Answer =
  | {status: number; headers?: Record<string, string>; body?: string; delayMs?: number}
  /** Answer 200 after stallMs, or never when Infinity (close() still ends it). */
  | {stallMs: number; delayMs?: number}
  /** Drop the connection with a TCP reset, answering nothing. */
  | {reset: true; delayMs?: number}

export type ResponsePlan = (request: IncomingRequest) => Answer

/**
 * How the request ended for the client: `answered` (see status), `reset`, `abandoned` (the
 * client went away before the answer, e.g. its timeout), or still `pending`.
 */
export type Outcome = 'pending' | 'answered' | 'reset' | 'abandoned'

export interface RecordedRequest extends IncomingRequest {
  receivedAt: number
  answer: Answer
  outcome: Outcome
  status?: number
}

/** Every request the fake received, in arrival order. */
export interface RequestLog extends Array<RecordedRequest> {
  /** Distinct values of a header (lowercase or not) among requests that carried it. */
  distinct(header: string): Set<string>
}

export interface ProviderFake {
  /** http://127.0.0.1:<port>, no trailing slash. */
  url: string
  port: number
  requests: RequestLog
  /** Replaces the plan; it applies to requests arriving from now on. */
  respondWith(plan: ResponsePlan): void
  /** Ends every connection, keep-alive and stalled ones included, and stops listening. */
  close(): Promise<void>
}

export async function startProviderFake(options: {plan?: ResponsePlan} = {}): Promise<ProviderFake> {
  let plan = options.plan ?? alwaysOk()
  const requests = createRequestLog()
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let isClosing = false

  const later = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      action()
    }, ms)
    timers.add(timer)
    return timer
  }

  const server = createServer((request, response) => {
    const receivedAt = Date.now()
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const incoming: IncomingRequest = {
        index: requests.length,
        method: request.method ?? 'GET',
        path: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      const recorded: RecordedRequest = {...incoming, receivedAt, answer: {status: 500}, outcome: 'pending'}
      requests.push(recorded)
      try {
        recorded.answer = plan(incoming)
      } catch (error) {
        recorded.answer = {status: 500, body: `fake plan failed: ${(error as Error).message}`}
      }
      const pendingTimers = new Set<NodeJS.Timeout>()
      response.on('close', () => {
        for (const timer of pendingTimers) {
          clearTimeout(timer)
          timers.delete(timer)
        }
        if (recorded.outcome === 'pending') recorded.outcome = 'abandoned'
      })
      const act = () => {
        if (isClosing || response.destroyed) return
        answerRequest(recorded, response, (ms, action) => {
          // Beyond setTimeout's range (~24.8 days) counts as never.
          if (ms <= 2_147_483_647) pendingTimers.add(later(ms, action))
        })
      }
      const delayMs = recorded.answer.delayMs ?? 0
      if (delayMs > 0) pendingTimers.add(later(delayMs, act))
      else act()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respondWith(next) {
      plan = next
    },
    async close() {
      isClosing = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}

function answerRequest(recorded: RecordedRequest, response: ServerResponse, schedule: (ms: number, action: () => void) => void): void {
  const {answer} = recorded
  if ('reset' in answer) {
    recorded.outcome = 'reset'
    // A TCP RST, as a crashed proxy would send; the client sees ECONNRESET.
    response.socket?.resetAndDestroy()
    return
  }
  if ('stallMs' in answer) {
    schedule(answer.stallMs, () => send(recorded, response, 200, {'Content-Type': 'application/json'}, '{"stalled":true}'))
    return
  }
  send(recorded, response, answer.status, answer.headers ?? {}, answer.body ?? '')
}

function send(recorded: RecordedRequest, response: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  if (response.destroyed) return
  recorded.outcome = 'answered'
  recorded.status = status
  response.writeHead(status, headers)
  response.end(body)
}

function createRequestLog(): RequestLog {
  const log: RecordedRequest[] = []
  return Object.assign(log, {
    distinct(header: string) {
      const name = header.toLowerCase()
      const values = new Set<string>()
      for (const request of log) {
        const value = request.headers[name]
        if (typeof value === 'string') values.add(value)
        else if (Array.isArray(value)) for (const each of value) values.add(each)
      }
      return values
    },
  })
}

/** A URL on 127.0.0.1 where nothing listens, for "connection refused". */
export async function closedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

// Plans.

const okHeaders = {'Content-Type': 'application/json'}

/** 200 with a JSON body `{"id": "fake-<index>"}`, like a provider returning its message id. */
export function alwaysOk(): ResponsePlan {
  return (request) => ({status: 200, headers: okHeaders, body: JSON.stringify({id: `fake-${request.index}`})})
}

/** 200 as alwaysOk, each after delayMs. */
export function slow(delayMs: number): ResponsePlan {
  const ok = alwaysOk()
  return (request) => ({...ok(request), delayMs})
}

export interface FaultMix {
  /** Same seed, same answers in the same order. */
  seed: number
  /** Share of requests answered 503, 0..1, drawn from the seeded PRNG. */
  fail503Rate: number
  /** Plan-local request indexes (0 = first request this plan sees) answered 429. */
  rateLimitAt?: number[]
  /** Retry-After sent with each 429; default 1. */
  retryAfterSeconds?: number
  /** Plan-local request indexes whose connection is reset. */
  resetAt?: number[]
  /** Requests answered 400 (a provider refusing the content). */
  badRequestWhen?: (body: string) => boolean
  okDelayMs?: number
}

/**
 * A reproducible mix of failures. Precedence per request: reset, 429, 400, 503, else 200.
 * The PRNG is drawn once per request whatever the answer, so changing rateLimitAt or resetAt
 * does not shift which other requests get a 503.
 */
export function faultMix(mix: FaultMix): ResponsePlan {
  const random = mulberry32(mix.seed)
  const rateLimitAt = new Set(mix.rateLimitAt ?? [])
  const resetAt = new Set(mix.resetAt ?? [])
  const ok = alwaysOk()
  let seen = 0
  return (request) => {
    const index = seen++
    const draw = random()
    if (resetAt.has(index)) return {reset: true}
    if (rateLimitAt.has(index)) {
      return {status: 429, headers: {...okHeaders, 'Retry-After': String(mix.retryAfterSeconds ?? 1)}, body: '{"error":"rate limited"}'}
    }
    if (mix.badRequestWhen?.(request.body)) return {status: 400, headers: okHeaders, body: '{"error":"bad request"}'}
    if (draw < mix.fail503Rate) return {status: 503, headers: okHeaders, body: '{"error":"service unavailable"}'}
    return {...ok(request), delayMs: mix.okDelayMs}
  }
}

/** Small, fast, seedable PRNG (public domain); uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
