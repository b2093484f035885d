import {getEventListeners} from 'node:events'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {createHttpClient, type HttpClient} from '../../src/channels/http.js'
import {CancelledError, DeadlineError, unansweredSend, UnsentRequestError} from '../../src/channels/http-failures.js'
import {InDoubtSendError, NotSentError} from '../../src/channels/errors.js'
import {alwaysOk, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'

let fake: ProviderFake | undefined
let client: HttpClient | undefined
afterEach(async () => {
  await client?.close()
  await fake?.close()
  client = undefined
  fake = undefined
})

describe('the shared HTTP client', () => {
  it('answers many concurrent requests and leaves no listener on the caller signal', async () => {
    fake = await startProviderFake({plan: alwaysOk()})
    client = createHttpClient()
    const controller = new AbortController()
    const answers = await Promise.all(Array.from({length: 50}, (_, i) => client!.request(`${fake!.url}/post?n=${i}`, {method: 'POST', body: `{"n":${i}}`, timeoutMs: 5000, signal: controller.signal})))
    expect(answers.every((answer) => answer.status === 200)).toBe(true)
    expect(fake.requests.map((request) => request.path).sort()).toEqual(Array.from({length: 50}, (_, i) => `/post?n=${i}`).sort())
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('a request over its whole deadline ends with DeadlineError, even while the server stalls', async () => {
    fake = await startProviderFake({plan: () => ({stallMs: Infinity})})
    client = createHttpClient()
    const error = await client.request(`${fake.url}/slow`, {timeoutMs: 200}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(DeadlineError)
    expect((error as DeadlineError).timeoutMs).toBe(200)
  })

  it('time this thread was blocked (a synchronous wait on a locked database) does not count against the provider', async () => {
    fake = await startProviderFake({plan: alwaysOk()})
    client = createHttpClient()
    expect((await client.request(`${fake.url}/warm`, {timeoutMs: 5000})).status).toBe(200)
    const answer = client.request(`${fake.url}/after-a-stall`, {timeoutMs: 300}).catch((caught: unknown) => caught)
    // What better-sqlite3's busy wait does to the event loop: nothing else runs meanwhile.
    const blockedUntil = performance.now() + 1000
    while (performance.now() < blockedUntil) Math.sqrt(blockedUntil)
    expect(((await answer) as {status?: number}).status).toBe(200)
    // A provider that truly does not answer still runs out of time, the stall aside.
    const stalling = await startProviderFake({plan: () => ({stallMs: Infinity})})
    try {
      const began = performance.now()
      const late = client.request(`${stalling.url}/slow`, {timeoutMs: 300}).catch((caught: unknown) => caught)
      const until = performance.now() + 800
      while (performance.now() < until) Math.sqrt(until)
      expect(await late).toBeInstanceOf(DeadlineError)
      expect(performance.now() - began).toBeGreaterThanOrEqual(1000)
    } finally {
      await stalling.close()
    }
  })

  it('the caller aborting ends every request it started with CancelledError, and none of the others', async () => {
    fake = await startProviderFake({plan: (request) => (request.path.startsWith('/stall') ? {stallMs: Infinity} : {status: 200, body: 'ok', delayMs: 300})})
    client = createHttpClient()
    const shutdown = new AbortController()
    const stalled = Array.from({length: 10}, (_, i) => client!.request(`${fake!.url}/stall/${i}`, {timeoutMs: 30_000, signal: shutdown.signal}).catch((caught: unknown) => caught))
    const other = client.request(`${fake.url}/other`, {timeoutMs: 30_000, signal: new AbortController().signal})
    setTimeout(() => shutdown.abort(), 100)
    for (const outcome of await Promise.all(stalled)) expect(outcome).toBeInstanceOf(CancelledError)
    expect((await other).status).toBe(200)
    // A signal already aborted never starts a request: it is said never to have been sent.
    const before = fake.requests.length
    await expect(client.request(`${fake.url}/late`, {timeoutMs: 1000, signal: shutdown.signal})).rejects.toThrow(new UnsentRequestError(new CancelledError()))
    expect(fake.requests.length).toBe(before)
  })

  it('a request whose deadline or caller ends it while it waits for a connection ends as never sent, and is never written', async () => {
    // Two SMS channels on one gateway, one connection between them: the second send waited in the
    // pool past its timeout, and was taken for one that may have gone out.
    fake = await startProviderFake({plan: (request) => (request.path === '/first' ? {status: 201, body: '{}', delayMs: 600} : {status: 201, body: '{}'})})
    client = createHttpClient({connectionsPerOrigin: 1})
    const first = client.request(`${fake.url}/first`, {method: 'POST', body: 'a', timeoutMs: 5000})
    const began = performance.now()
    const queued = client.request(`${fake.url}/queued`, {method: 'POST', body: 'b', timeoutMs: 150}).catch((caught: unknown) => caught)
    const shutdown = new AbortController()
    const stopped = client.request(`${fake.url}/stopped`, {method: 'POST', body: 'c', timeoutMs: 5000, signal: shutdown.signal}).catch((caught: unknown) => caught)
    setTimeout(() => shutdown.abort(), 50)
    const timedOut = await queued
    expect(timedOut).toBeInstanceOf(UnsentRequestError)
    expect((timedOut as Error).message).toBe('timed out after 150 ms waiting for a free connection; never sent')
    // Settled at its deadline, not when the connection came free.
    expect(performance.now() - began).toBeLessThan(550)
    expect(await stopped).toBeInstanceOf(UnsentRequestError)
    expect((await stopped as Error).message).toBe('request aborted before it was sent')
    expect((await first).status).toBe(201)
    // The connection is free again: the next request goes, and neither of the two ever did.
    expect((await client.request(`${fake.url}/after`, {timeoutMs: 5000})).status).toBe(201)
    expect(fake.requests.map((request) => request.path)).toEqual(['/first', '/after'])
    // A driver turns it into a send to try again, never one in doubt.
    expect(unansweredSend(timedOut, [])).toBeInstanceOf(NotSentError)
    expect(unansweredSend(new DeadlineError(150), [])).toBeInstanceOf(InDoubtSendError)
  })

  it('gives the answer whole: status, lower-cased headers (repeats as a list), a body sent in many chunks, after an early-hints 103', async () => {
    const chunk = 'é'.repeat(16_384)
    const server: Server = createServer((_request, response) => {
      response.writeEarlyHints({link: '</style.css>; rel=preload'})
      response.writeHead(429, [['Retry-After', '7'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['X-Note', 'Mixed Case']])
      let sent = 0
      const more = () => {
        if (sent++ === 8) return response.end()
        response.write(chunk, () => setImmediate(more))
      }
      more()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      client = createHttpClient()
      const answer = await client.request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {timeoutMs: 5000})
      expect(answer.status).toBe(429)
      expect(answer.headers['retry-after']).toBe('7')
      expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2'])
      expect(answer.headers['x-note']).toBe('Mixed Case')
      expect(answer.body).toBe(chunk.repeat(8))
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
