import type {Dispatcher, Pool} from 'undici'
import {CancelledError, DeadlineError, isUndiciTimeout, UnsentRequestError} from './http-failures.js'

// One keep-alive connection pool per origin per process, shared by every HTTP driver. undici
// is loaded on the first request, so commands that never send (list, show, preview) never pay
// for it (~150 ms to import). Measured on these machines: an undici Pool does ~37k keep-alive
// POSTs/s, global fetch ~4.7k; going through a Pool per origin instead of an Agent, and not
// awaiting the import on every request, roughly doubled the client's throughput (bench); and
// undici's dispatch() with a handler that collects the answer, instead of request() and its
// body stream, took the per-post bench from 1.68× to ~1.25× a bare Pool for X (1.50→1.13×
// for Bluesky).

export interface HttpRequest {
  method?: string
  headers?: Record<string, string>
  body?: string | Buffer
  timeoutMs: number
  signal?: AbortSignal
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface HttpClient {
  request(url: string, request: HttpRequest): Promise<HttpResponse>
  /** Loads undici now, before the first request (see Driver.load). */
  load?(): Promise<void>
  close(): Promise<void>
}

type PoolClass = typeof Pool

export function createHttpClient(options: {connectionsPerOrigin?: number} = {}): HttpClient {
  let PoolConstructor: PoolClass | undefined
  let loading: Promise<PoolClass> | undefined
  const pools = new Map<string, Pool>()

  const poolFor = (origin: string, Constructor: PoolClass): Pool => {
    let pool = pools.get(origin)
    if (!pool) {
      pool = new Constructor(origin, {
        connections: options.connectionsPerOrigin ?? 32,
        keepAliveTimeout: 30_000,
        connect: {timeout: 10_000},
      })
      pools.set(origin, pool)
    }
    return pool
  }

  const send = (pool: Pool, path: string, request: HttpRequest, abort: RequestAbort): Promise<HttpResponse> =>
    new Promise((resolve, reject) => {
      if (abort.aborted) return reject(new UnsentRequestError(abort.reason!))
      abort.rejectUnsent = reject
      const options = {
        path,
        method: (request.method ?? 'GET') as 'GET',
        headers: request.headers,
        body: request.body,
        // The deadline is ours (InFlight); undici's own idle timeouts are only a backstop, set
        // past it so that a stall of this thread (see sweep) cannot trip them first.
        headersTimeout: request.timeoutMs + stallAllowanceMs,
        bodyTimeout: request.timeoutMs + stallAllowanceMs,
      }
      pool.dispatch(options, new ResponseCollector(abort, resolve, reject))
    })

  const load = (): Promise<PoolClass> => (loading ??= import('undici').then((undici) => (PoolConstructor = undici.Pool)))

  const dispatch = (target: string, request: HttpRequest, abort: RequestAbort): Promise<HttpResponse> => {
    const {origin, path} = parseTarget(target)
    if (PoolConstructor) return send(poolFor(origin, PoolConstructor), path, request, abort)
    return load().then((Constructor) => send(poolFor(origin, Constructor), path, request, abort))
  }

  const inFlight = new InFlight()

  return {
    /**
     * One request bounded by `timeoutMs` as a whole (undici's own timeouts are per idle period,
     * and its connect timeout is the pool's) and by the caller's signal: DeadlineError or
     * CancelledError when either ends it.
     */
    async request(target, request) {
      const abort = inFlight.add(request.timeoutMs, request.signal)
      try {
        return await dispatch(target, request, abort)
      } catch (error) {
        // Whatever undici reports after our own abort, the reason is the abort — unless it came
        // before the request had a connection: then it is that it was never sent.
        if (error instanceof UnsentRequestError) throw error
        if (abort.aborted) throw abort.reason
        if (isUndiciTimeout(error)) throw new DeadlineError(request.timeoutMs)
        throw error
      } finally {
        inFlight.remove(abort)
      }
    },
    async load() {
      await load()
    },
    async close() {
      inFlight.stop()
      await Promise.all([...pools.values()].map((pool) => pool.close()))
      pools.clear()
    },
  }
}

const targets = new Map<string, {origin: string; path: string}>()

/** Drivers post to a handful of URLs again and again: parse each once. */
function parseTarget(target: string): {origin: string; path: string} {
  let parsed = targets.get(target)
  if (!parsed) {
    const url = new URL(target)
    parsed = {origin: url.origin, path: url.pathname + url.search}
    if (targets.size >= 1000) targets.clear()
    targets.set(target, parsed)
  }
  return parsed
}

/**
 * How one request may end early: its deadline passed or the caller gave up. An object per
 * request, rather than an AbortController, a timer and a listener each (those cost about half
 * again the CPU of the request itself, measured against a bare undici Pool).
 */
class RequestAbort {
  aborted = false
  reason: Error | undefined
  /** Ends the request inside undici; set once undici has started it on a connection. */
  cancel: ((reason: Error) => void) | undefined
  /** Settles the request as never sent, while it still waits in the pool's queue. */
  rejectUnsent: ((error: Error) => void) | undefined

  constructor(
    public deadline: number,
    readonly timeoutMs: number,
    readonly callerSignal: AbortSignal | undefined,
  ) {}

  abort(reason: Error): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    // Still queued, it is settled now; undici drops it unwritten when its turn comes (onConnect).
    if (this.cancel) this.cancel(reason)
    else this.rejectUnsent?.(new UnsentRequestError(reason))
  }
}

/**
 * undici's handler for one request: aborts it when its RequestAbort fires (from the moment undici
 * starts it on a connection; until then it waits in the pool's queue, and an abort there settles
 * it as never sent), and collects the status, raw headers and body into an HttpResponse.
 */
class ResponseCollector implements Dispatcher.DispatchHandler {
  private status = 0
  private rawHeaders: Buffer[] = []
  private chunks: Buffer[] = []

  constructor(
    private readonly abort: RequestAbort,
    private readonly resolve: (response: HttpResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  onConnect(cancel: (reason?: Error) => void): void {
    if (this.abort.aborted) cancel(this.abort.reason)
    else this.abort.cancel = cancel
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    // 1xx (100 Continue, 103 Early Hints) come before the answer itself.
    if (status < 200) return true
    this.status = status
    this.rawHeaders = rawHeaders
    return true
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk)
    return true
  }

  onComplete(): void {
    const body = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8')
    this.resolve(new CollectedResponse(this.status, this.rawHeaders, body))
  }

  onError(error: Error): void {
    this.reject(error)
  }
}

/** Headers are read only when a driver classifies a failure: parsed on first use. */
class CollectedResponse implements HttpResponse {
  private parsed: Record<string, string | string[]> | undefined

  constructor(
    readonly status: number,
    private readonly rawHeaders: Buffer[],
    readonly body: string,
  ) {}

  get headers(): Record<string, string | string[]> {
    if (this.parsed) return this.parsed
    const headers: Record<string, string | string[]> = {}
    for (let i = 0; i + 1 < this.rawHeaders.length; i += 2) {
      const name = this.rawHeaders[i]!.toString('latin1').toLowerCase()
      const value = this.rawHeaders[i + 1]!.toString('utf8')
      const seen = headers[name]
      headers[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
    }
    return (this.parsed = headers)
  }
}

/** How often deadlines are checked: a 10 s timeout may end up to this much late. */
const sweepEveryMs = 50
/** A sweep this much later than due means the thread was blocked, not the provider slow. */
const stallMs = 500
/** How long a stall of this thread undici's backstop timeouts allow for. */
const stallAllowanceMs = 60_000

/**
 * Requests in flight, their deadlines enforced by one sweeping timer rather than a timer each,
 * and one listener per caller signal (the run's shutdown signal) rather than one per request.
 */
class InFlight {
  private requests = new Set<RequestAbort>()
  private callers = new Map<AbortSignal, {count: number; onAbort: () => void}>()
  private sweeper: NodeJS.Timeout | undefined
  private sweepEvery = sweepEveryMs
  private lastSweep = 0

  add(timeoutMs: number, signal: AbortSignal | undefined): RequestAbort {
    const abort = new RequestAbort(performance.now() + timeoutMs, timeoutMs, signal)
    if (signal?.aborted) {
      abort.abort(new CancelledError())
      return abort
    }
    this.requests.add(abort)
    if (signal) {
      const caller = this.callers.get(signal)
      if (caller) caller.count++
      else {
        const onAbort = () => {
          for (const request of this.requests) if (request.callerSignal === signal) request.abort(new CancelledError())
        }
        signal.addEventListener('abort', onAbort, {once: true})
        this.callers.set(signal, {count: 1, onAbort})
      }
    }
    if (!this.sweeper) {
      this.sweepEvery = Math.min(sweepEveryMs, Math.max(1, timeoutMs))
      this.lastSweep = performance.now()
      this.sweeper = setInterval(() => this.sweep(), this.sweepEvery)
    }
    return abort
  }

  remove(abort: RequestAbort): void {
    if (!this.requests.delete(abort)) return
    const signal = abort.callerSignal
    const caller = signal && this.callers.get(signal)
    if (caller && --caller.count === 0) {
      signal.removeEventListener('abort', caller.onAbort)
      this.callers.delete(signal)
    }
    if (this.requests.size === 0) this.stop()
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  private sweep(): void {
    const now = performance.now()
    // Late by far: this thread was blocked (a synchronous wait on a locked database), and
    // answers that came meanwhile are still unread. The time it was not listening does not
    // count against the provider: without this, a 5 s wait turned 200s into "timed out".
    const stalled = now - this.lastSweep - this.sweepEvery
    this.lastSweep = now
    if (stalled > stallMs) for (const request of this.requests) request.deadline += stalled
    for (const request of this.requests) if (request.deadline <= now) request.abort(new DeadlineError(request.timeoutMs))
  }
}
