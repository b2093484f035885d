import {createServer} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import type {IncomingRequest, RecordedRequest, ResponsePlan} from '../fakes/provider-server.js'

// A provider fake on 127.0.0.1 whose answers wait behind a gate the test opens: a broadcast can
// be held mid-send for as long as a test needs (to look at the live view, to press q) without
// guessing at timings. Answers come from the same plans as startProviderFake (twilioPlan, …);
// only {status, headers, body} answers are supported.

export interface GatedFake {
  url: string
  /** Every request, in arrival order, with how it was answered (acceptedMessages() reads these). */
  requests: RecordedRequest[]
  /** Requests waiting behind the closed gate. */
  held(): number
  /** Answers every held request, and the ones after it at once. */
  open(): void
  close(): Promise<void>
}

export async function startGatedFake(plan: ResponsePlan, options: {isOpen?: boolean} = {}): Promise<GatedFake> {
  let isOpen = options.isOpen ?? false
  const waiting: Array<() => void> = []
  const requests: RecordedRequest[] = []
  const sockets = new Set<Socket>()
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const incoming: IncomingRequest = {index: requests.length, method: request.method ?? 'GET', path: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8')}
      const recorded: RecordedRequest = {...incoming, receivedAt: Date.now(), answer: {status: 500}, outcome: 'pending'}
      requests.push(recorded)
      response.on('close', () => {
        if (recorded.outcome === 'pending') recorded.outcome = 'abandoned'
      })
      const answer = () => {
        if (response.destroyed) return
        const planned = plan(incoming)
        recorded.answer = planned
        if (!('status' in planned)) throw new Error('the gated fake answers only with a status')
        recorded.outcome = 'answered'
        recorded.status = planned.status
        response.writeHead(planned.status, planned.headers ?? {})
        response.end(planned.body ?? '')
      }
      if (isOpen) answer()
      else waiting.push(answer)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    held: () => waiting.length,
    open() {
      isOpen = true
      for (const answer of waiting.splice(0)) answer()
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}
