import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Pool} from 'undici'
import {webhook} from '../src/channels/webhook.js'
import {loadConfig, type Config} from '../src/config/load.js'
import {resolvePaths} from '../src/config/paths.js'
import {primaryVariant} from '../src/core/announcement.js'
import {openStore} from '../src/store/index.js'
import {measureCpu, startChildServer, type ChildServer, type SideCpu} from './child-server.js'
import {benchAnnouncement, countQueueCalls, deliveryStates, emptyShape, insertDeliveries, tempDir, type QueueShape} from './fixtures.js'
import {FloorQueue} from './floor-queue.js'
import {keptDispatcher} from './kept-dispatcher.js'
import {collectGarbage, medianRun, warmRuns, type Summary, type WarmRuns} from './stats.js'

// Webhook fan-out against a local endpoint that answers 200 at once: crier's dispatcher and
// webhook driver (undici Agent underneath) against a bare undici keep-alive Pool doing the same
// POSTs with the same concurrency. The endpoint is a node:http server in a forked child
// (fake-server.ts). Each side's CPU per request, and the server's, show where the time goes on
// a machine whose cores are shared by the client and the server.

export interface WebhookResult {
  requests: number
  concurrency: number
  bodyBytes: number
  /** requests per second */
  crier: Summary
  blaster: Summary
  /** The blaster taking each delivery from crier's queue SQL on a bare connection (floor-queue.ts). */
  durable: Summary
  /** CPU per request (µs) in the median run of each side: this process and the server's. */
  cpu: {crier: SideCpu; blaster: SideCpu; durable: SideCpu}
  /** How crier's median run claimed and committed. */
  shape: QueueShape
  /** crier and the bare blaster again, compiled code kept between runs. */
  warm: WarmRuns<Run>
}

interface Run {
  rate: number
  cpu: SideCpu
}

const concurrency = 64
/** What the dispatcher holds claimed for an idempotent channel this fast (claim-size.ts: up to 8× the concurrency). */
export const claimTarget = concurrency * 8
const path = '/hooks/alerts'

export async function benchWebhook(requests: number, runs: number): Promise<WebhookResult> {
  const server = await startChildServer('./fake-server.js')
  const url = `http://127.0.0.1:${server.port}`
  try {
    const home = tempDir('webhook')
    // Through loadConfig, so the channel is validated and defaulted exactly as a user's would be.
    writeFileSync(
      join(home, 'config.yaml'),
      `sender: alerts@northwales.example\ntimezone: Europe/London\nchannels:\n  partners: {type: webhook, url: "${url}${path}", concurrency: ${concurrency}, maxAttempts: 8}\n`,
    )
    const config = loadConfig(resolvePaths({CRIER_HOME: home}))
    const sample = benchAnnouncement({now: Date.now(), channels: ['partners'], state: 'sending'})
    const body = webhook.render(sample, primaryVariant(sample), {channel: config.channels.partners as never}).payload.body

    // One small untimed round of each: JIT, undici's module load, the server's first sockets.
    await crierRun(config, server, Math.min(1000, requests))
    await blasterRun(server, url, body, Math.min(1000, requests))
    await blasterRun(server, url, body, Math.min(1000, requests), true)
    const crier: Array<Run & {shape: QueueShape}> = []
    const blaster: Run[] = []
    const durable: Run[] = []
    for (let run = 0; run < runs; run++) {
      crier.push(await crierRun(config, server, requests))
      blaster.push(await blasterRun(server, url, body, requests))
      durable.push(await blasterRun(server, url, body, requests, true))
    }
    const worker = webhookCrier(config, server)
    const warm = await warmRuns(
      runs,
      () => worker.run(requests),
      () => blasterRun(server, url, body, requests),
    ).finally(() => worker.close())
    const [crierSummary, crierMedian] = medianRun(crier)
    const [blasterSummary, blasterMedian] = medianRun(blaster)
    const [durableSummary, durableMedian] = medianRun(durable)
    return {
      warm,
      requests,
      concurrency,
      bodyBytes: Buffer.byteLength(body),
      crier: crierSummary,
      blaster: blasterSummary,
      durable: durableSummary,
      cpu: {crier: crierMedian.cpu, blaster: blasterMedian.cpu, durable: durableMedian.cpu},
      shape: crierMedian.shape,
    }
  } finally {
    await server.close()
  }
}

/** One announcement, `count` deliveries on the one webhook channel, sent by a new store and dispatcher: a new crier process. */
async function crierRun(config: Config, server: ChildServer, count: number): Promise<Run & {shape: QueueShape}> {
  const crier = webhookCrier(config, server)
  try {
    return await crier.run(count)
  } finally {
    await crier.close()
  }
}

/** One store and one dispatcher (kept-dispatcher.ts), run once per announcement of `count` deliveries on the one webhook channel (inserted directly). */
function webhookCrier(config: Config, server: ChildServer): {run(count: number): Promise<Run & {shape: QueueShape}>; close(): Promise<void>} {
  const store = openStore(join(tempDir('webhook-store'), 'crier.db'))
  const shape = countQueueCalls(store)
  const dispatcher = keptDispatcher(store, config, server)
  return {
    async run(count) {
      const announcement = benchAnnouncement({now: Date.now(), channels: ['partners'], state: 'sending'})
      store.transaction(() => store.announcements.insert(announcement))
      insertDeliveries(store, announcement, ['partners'], count, 8)
      Object.assign(shape, emptyShape())
      const {ms, cpu, summary, queueThread} = await dispatcher.run(count)
      const {count: received} = await server.count()
      const states = deliveryStates(store, announcement.id)
      if (states.sent !== count || received !== count) {
        throw new Error(`webhook: expected ${count} sent and received; the database says ${JSON.stringify(states)}, the server got ${received}, the dispatcher ${JSON.stringify(summary)}`)
      }
      return {rate: (count / ms) * 1000, cpu, shape: {...shape, queueThread}}
    },
    async close() {
      await dispatcher.close()
      store.close()
    },
  }
}

/**
 * A bare undici keep-alive Pool: `concurrency` loops POSTing the same body until `count` are
 * done. Durable: each POST is a delivery taken from crier's queue SQL (floor-queue.ts), its id
 * the Idempotency-Key, and recorded once answered.
 */
async function blasterRun(server: ChildServer, url: string, body: string, count: number, durable = false): Promise<Run> {
  await server.reset()
  const queue = durable ? new FloorQueue('webhook-floor', ['partners'], count, 8) : undefined
  collectGarbage()
  const pool = new Pool(url, {connections: concurrency})
  let started = 0
  let failed = 0
  const loop = async () => {
    while (started < count) {
      const key = queue ? queue.next(claimTarget) : String(started).padStart(26, '0')
      if (key === undefined) break
      started++
      const begun = Date.now()
      const response = await pool.request({
        path,
        method: 'POST',
        headers: {'Content-Type': 'application/json', 'User-Agent': 'crier', 'Idempotency-Key': key},
        body,
      })
      await response.body.text()
      if (response.statusCode !== 200) failed++
      queue?.done(key, begun, String(response.statusCode))
    }
  }
  const measure = measureCpu(server)
  const begun = performance.now()
  await Promise.all(Array.from({length: concurrency}, loop))
  const ms = performance.now() - begun
  const cpu = measure(count)
  await pool.close()
  queue?.finish()
  const {count: received} = await server.count()
  if (failed > 0 || received !== count) throw new Error(`blaster: ${failed} failed; the server got ${received} of ${count}`)
  return {rate: (count / ms) * 1000, cpu}
}
