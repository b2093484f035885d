import type {Pool} from 'undici'
import {CancelledError, DeadlineError, isUndiciTimeout} from './http-failures.js'

// One keep-alive connection pool per origin per process, shared by every HTTP driver. undici
// is loaded on the first request, so commands that never send (list, show, preview) never pay
// for it (~150 ms to import). Measured on these machines: an undici Pool does ~37k keep-alive
// POSTs/s, global fetch ~4.7k; going through a Pool per origin instead of an Agent, and not
// awaiting the import on every request, roughly doubled the client's throughput (bench).

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

  const send = async (pool: Pool, url: URL, request: HttpRequest): Promise<HttpResponse> => {
    const response = await pool.request({
      path: url.pathname + url.search,
      method: (request.method ?? 'GET') as 'GET',
      headers: request.headers,
      body: request.body,
      headersTimeout: request.timeoutMs,
      bodyTimeout: request.timeoutMs,
      signal: request.signal,
    })
    const body = await response.body.text()
    return {status: response.statusCode, headers: response.headers, body}
  }

  const dispatch = (target: string, request: HttpRequest): Promise<HttpResponse> => {
    const url = new URL(target)
    if (PoolConstructor) return send(poolFor(url.origin, PoolConstructor), url, request)
    loading ??= import('undici').then((undici) => (PoolConstructor = undici.Pool))
    return loading.then((Constructor) => send(poolFor(url.origin, Constructor), url, request))
  }

  return {
    /**
     * One request bounded by `timeoutMs` as a whole (undici's own timeouts are per idle period,
     * and its connect timeout is the pool's) and by the caller's signal: DeadlineError or
     * CancelledError when either ends it.
     */
    async request(target, request) {
      const {timeoutMs, signal} = request
      const controller = new AbortController()
      // Listeners are removed afterwards rather than using AbortSignal.any: the caller's signal
      // lives as long as the worker, and every send would otherwise stay attached to it.
      const abortFromCaller = () => controller.abort(new CancelledError())
      if (signal?.aborted) abortFromCaller()
      else signal?.addEventListener('abort', abortFromCaller, {once: true})
      const deadline = setTimeout(() => controller.abort(new DeadlineError(timeoutMs)), timeoutMs)
      try {
        return await dispatch(target, {...request, signal: controller.signal})
      } catch (error) {
        // Whatever undici reports after our own abort, the reason is the abort.
        if (controller.signal.aborted) throw controller.signal.reason
        if (isUndiciTimeout(error)) throw new DeadlineError(timeoutMs)
        throw error
      } finally {
        clearTimeout(deadline)
        signal?.removeEventListener('abort', abortFromCaller)
      }
    },
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()))
      pools.clear()
    },
  }
}
