import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Pool} from 'undici'
import {loadConfig, type Config} from '../src/config/load.js'
import {resolvePaths} from '../src/config/paths.js'
import {primaryVariant} from '../src/core/announcement.js'
import {sms} from '../src/channels/sms.js'
import type {ChannelConfig} from '../src/channels/driver.js'
import {accountSid, audienceCrier, authToken, crierAudienceRun, listName, phoneFor, smsConfigYaml, smsFrom} from './audience.js'
import {measureCpu, startChildServer, type ChildServer, type SideCpu} from './child-server.js'
import {benchAnnouncement, tempDir, type QueueShape} from './fixtures.js'
import {FloorQueue} from './floor-queue.js'
import {collectGarbage, medianRun, warmRuns, type Summary, type WarmRuns} from './stats.js'

// SMS to an audience through the Twilio Messages API shape: crier (fan-out from the subscriber
// table, Dispatcher.run(), the sms driver over the shared undici pool) against a bare undici
// keep-alive Pool POSTing the same form body with the same Basic credentials, with as many
// connections and requests in flight as the channel's concurrency. The API is twilio-fake.ts,
// a node:http server in a forked child answering 201 at once.

export interface SmsResult {
  recipients: number
  concurrency: number
  bodyBytes: number
  /** messages per second */
  crier: Summary
  blaster: Summary
  /** The blaster taking each recipient's delivery from crier's queue SQL on a bare connection (floor-queue.ts). */
  durable: Summary
  /** CPU per message (µs), this process's and the server's, in the median run of each side. */
  cpu: {crier: SideCpu; blaster: SideCpu; durable: SideCpu}
  shape: QueueShape
  /** crier and the bare blaster again, compiled code kept between runs. */
  warm: WarmRuns<{rate: number; cpu: SideCpu}>
}

const concurrency = 64
/** What the dispatcher holds claimed for a channel this fast, its starts recorded (claim-size.ts: up to 8× the concurrency). */
export const claimTarget = concurrency * 8
const channelName = 'residents-sms'

export async function benchSms(recipients: number, runs: number): Promise<SmsResult> {
  const server = await startChildServer('./twilio-fake.js', [accountSid, authToken])
  try {
    const baseUrl = `http://127.0.0.1:${server.port}`
    const home = tempDir('sms')
    writeFileSync(join(home, 'config.yaml'), smsConfigYaml(baseUrl, concurrency, listName))
    const config = loadConfig(resolvePaths({CRIER_HOME: home}))
    const sample = benchAnnouncement({now: Date.now(), channels: [channelName], state: 'draft'})
    const text = sms.render(sample, primaryVariant(sample), {channel: config.channels[channelName] as ChannelConfig<never>}).payload.body

    await crierRun(config, server, Math.min(2000, recipients))
    await blasterRun(server, baseUrl, text, Math.min(2000, recipients))
    await blasterRun(server, baseUrl, text, Math.min(2000, recipients), true)
    const crier: Array<{rate: number; cpu: SideCpu; shape: QueueShape}> = []
    const blaster: Array<{rate: number; bytes: number; cpu: SideCpu}> = []
    const durable: Array<{rate: number; cpu: SideCpu}> = []
    for (let run = 0; run < runs; run++) {
      crier.push(await crierRun(config, server, recipients))
      blaster.push(await blasterRun(server, baseUrl, text, recipients))
      durable.push(await blasterRun(server, baseUrl, text, recipients, true))
    }
    const worker = audienceCrier('sms-worker', config, server, channelName, recipients, {phone: true})
    const warm = await warmRuns(
      runs,
      () => worker.run(),
      () => blasterRun(server, baseUrl, text, recipients),
    ).finally(() => worker.close())
    const [crierSummary, median] = medianRun(crier)
    const [blasterSummary, blasterMedian] = medianRun(blaster)
    const [durableSummary, durableMedian] = medianRun(durable)
    return {
      warm,
      recipients,
      concurrency,
      bodyBytes: Math.round(blaster[0]!.bytes),
      crier: crierSummary,
      blaster: blasterSummary,
      durable: durableSummary,
      cpu: {crier: median.cpu, blaster: blasterMedian.cpu, durable: durableMedian.cpu},
      shape: median.shape,
    }
  } finally {
    await server.close()
  }
}

async function crierRun(config: Config, server: ChildServer, count: number): Promise<{rate: number; cpu: SideCpu; shape: QueueShape}> {
  const run = await crierAudienceRun('sms', config, server, channelName, count, {phone: true})
  return {rate: run.rate, cpu: run.cpu, shape: run.shape}
}

/**
 * A bare undici keep-alive Pool: `concurrency` loops POSTing Twilio's form body until `count` are
 * done. Durable: each message is a delivery taken from crier's queue SQL (floor-queue.ts) and
 * recorded, with the provider's status as its receipt, once answered.
 */
async function blasterRun(server: ChildServer, baseUrl: string, text: string, count: number, durable = false): Promise<{rate: number; bytes: number; cpu: SideCpu}> {
  await server.reset()
  const queue = durable ? new FloorQueue('sms-floor', [channelName], count, 8) : undefined
  collectGarbage()
  const pool = new Pool(baseUrl, {connections: concurrency})
  const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`
  const headers = {
    Authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
    Accept: 'application/json',
    'User-Agent': 'crier',
    'Content-Type': 'application/x-www-form-urlencoded',
  }
  // The same fields in the same order as the driver's form; only To changes.
  const rest = `&From=${encodeURIComponent(smsFrom)}&Body=${new URLSearchParams({Body: text}).toString().slice('Body='.length)}`
  let next = 0
  let failed = 0
  const loop = async () => {
    while (next < count) {
      const id = queue?.next(claimTarget)
      if (queue && id === undefined) break
      const i = next++
      const begun = Date.now()
      const response = await pool.request({path, method: 'POST', headers, body: `To=${encodeURIComponent(phoneFor(i))}${rest}`})
      await response.body.text()
      if (response.statusCode !== 201) failed++
      if (id !== undefined) queue?.done(id, begun, String(response.statusCode))
    }
  }
  const measure = measureCpu(server)
  const begun = performance.now()
  await Promise.all(Array.from({length: concurrency}, loop))
  const ms = performance.now() - begun
  const cpu = measure(count)
  await pool.close()
  queue?.finish()
  const received = await server.count()
  if (failed > 0 || received.count !== count) throw new Error(`blaster: ${failed} failed; the server got ${received.count} of ${count}`)
  return {rate: (count / ms) * 1000, bytes: received.bytes / received.count, cpu}
}
