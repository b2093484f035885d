import {fork, type ChildProcess} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Pool} from 'undici'
import {webhook} from '../src/channels/webhook.js'
import {loadConfig, type Config} from '../src/config/load.js'
import {resolvePaths} from '../src/config/paths.js'
import {primaryVariant} from '../src/core/announcement.js'
import {Dispatcher} from '../src/engine/dispatcher.js'
import {openStore} from '../src/store/index.js'
import type {FakeServerMessage} from './fake-server.js'
import {benchAnnouncement, countQueueCalls, deliveryStates, insertDeliveries, tempDir, type QueueShape} from './fixtures.js'
import {collectGarbage, summarise, type Summary} from './stats.js'

// Webhook fan-out against a local endpoint that answers 200 at once: crier's dispatcher and
// webhook driver (undici Agent underneath) against a bare undici keep-alive Pool doing the same
// POSTs with the same concurrency. The endpoint is a node:http server in a forked child.

export interface WebhookResult {
  requests: number
  concurrency: number
  bodyBytes: number
  /** requests per second */
  crier: Summary
  blaster: Summary
  /** How crier's median run claimed and committed. */
  shape: QueueShape
}

const concurrency = 64
const path = '/hooks/alerts'

interface FakeServer {
  url: string
  count(): Promise<number>
  reset(): Promise<void>
  close(): Promise<void>
}

async function startFakeServer(): Promise<FakeServer> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./fake-server.js', import.meta.url)), [], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
  const next = (type: FakeServerMessage['type']) =>
    new Promise<FakeServerMessage>((resolve, reject) => {
      const onMessage = (message: FakeServerMessage) => {
        if (message.type !== type) return
        child.off('message', onMessage)
        child.off('exit', onExit)
        resolve(message)
      }
      const onExit = (code: number | null) => reject(new Error(`fake server exited (${code}) while waiting for ${type}`))
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
  const listening = await next('listening')
  const port = listening.type === 'listening' ? listening.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    async count() {
      const reply = next('count')
      child.send({type: 'count'})
      return ((await reply) as {count: number}).count
    },
    async reset() {
      const reply = next('reset')
      child.send({type: 'reset'})
      await reply
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.send({type: 'close'})
      }),
  }
}

export async function benchWebhook(requests: number, runs: number): Promise<WebhookResult> {
  const server = await startFakeServer()
  try {
    const home = tempDir('webhook')
    // Through loadConfig, so the channel is validated and defaulted exactly as a user's would be.
    writeFileSync(
      join(home, 'config.yaml'),
      `sender: alerts@northwales.example\ntimezone: Europe/London\nchannels:\n  partners: {type: webhook, url: "${server.url}${path}", concurrency: ${concurrency}, maxAttempts: 8}\n`,
    )
    const config = loadConfig(resolvePaths({CRIER_HOME: home}))
    const sample = benchAnnouncement({now: Date.now(), channels: ['partners'], state: 'sending'})
    const body = webhook.render(sample, primaryVariant(sample), {channel: config.channels.partners as never}).payload.body

    // One small untimed round of each: JIT, undici's module load, the server's first sockets.
    await crierRun(config, server, Math.min(1000, requests))
    await blasterRun(server, body, Math.min(1000, requests))
    const crier: Array<{rate: number; shape: QueueShape}> = []
    const blaster: number[] = []
    for (let run = 0; run < runs; run++) {
      crier.push(await crierRun(config, server, requests))
      blaster.push(await blasterRun(server, body, requests))
    }
    const crierSummary = summarise(crier.map((run) => run.rate))
    const shape = (crier.find((run) => run.rate === crierSummary.median) ?? crier[0]!).shape
    return {requests, concurrency, bodyBytes: Buffer.byteLength(body), crier: crierSummary, blaster: summarise(blaster), shape}
  } finally {
    await server.close()
  }
}

/** One announcement, `count` deliveries on the one webhook channel (inserted directly), run until idle. */
async function crierRun(config: Config, server: FakeServer, count: number): Promise<{rate: number; shape: QueueShape}> {
  const store = openStore(join(tempDir('webhook-store'), 'crier.db'))
  const announcement = benchAnnouncement({now: Date.now(), channels: ['partners'], state: 'sending'})
  store.transaction(() => store.announcements.insert(announcement))
  insertDeliveries(store, announcement, ['partners'], count, 8)
  const shape = countQueueCalls(store)
  await server.reset()
  collectGarbage()
  const dispatcher = new Dispatcher({store, config})
  const started = performance.now()
  const summary = await dispatcher.run()
  const ms = performance.now() - started
  await dispatcher.close()
  const received = await server.count()
  const states = deliveryStates(store, announcement.id)
  store.close()
  if (states.sent !== count || received !== count) {
    throw new Error(`webhook: expected ${count} sent and received; the database says ${JSON.stringify(states)}, the server got ${received}, the dispatcher ${JSON.stringify(summary)}`)
  }
  return {rate: (count / ms) * 1000, shape}
}

/** A bare undici keep-alive Pool: `concurrency` loops POSTing the same body until `count` are done. */
async function blasterRun(server: FakeServer, body: string, count: number): Promise<number> {
  await server.reset()
  collectGarbage()
  const pool = new Pool(server.url, {connections: concurrency})
  let started = 0
  let failed = 0
  const loop = async () => {
    while (started < count) {
      const key = String(started++).padStart(26, '0')
      const response = await pool.request({
        path,
        method: 'POST',
        headers: {'Content-Type': 'application/json', 'User-Agent': 'crier', 'Idempotency-Key': key},
        body,
      })
      await response.body.text()
      if (response.statusCode !== 200) failed++
    }
  }
  const begun = performance.now()
  await Promise.all(Array.from({length: concurrency}, loop))
  const ms = performance.now() - begun
  await pool.close()
  const received = await server.count()
  if (failed > 0 || received !== count) throw new Error(`blaster: ${failed} failed; the server got ${received} of ${count}`)
  return (count / ms) * 1000
}
