import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Pool} from 'undici'
import {loadConfig, type Config} from '../src/config/load.js'
import {resolvePaths} from '../src/config/paths.js'
import {primaryVariant} from '../src/core/announcement.js'
import {sms} from '../src/channels/sms.js'
import type {ChannelConfig} from '../src/channels/driver.js'
import {accountSid, authToken, crierAudienceRun, listName, phoneFor, smsConfigYaml, smsFrom} from './audience.js'
import {measureCpu, startChildServer, type ChildServer, type SideCpu} from './child-server.js'
import {benchAnnouncement, tempDir, type QueueShape} from './fixtures.js'
import {collectGarbage, summarise, type Summary} from './stats.js'

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
  /** CPU per message (µs), this process's and the server's, in the median run of each side. */
  cpu: {crier: SideCpu; blaster: SideCpu}
  shape: QueueShape
}

const concurrency = 64
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
    const crier: Array<{rate: number; cpu: SideCpu; shape: QueueShape}> = []
    const blaster: Array<{rate: number; bytes: number; cpu: SideCpu}> = []
    for (let run = 0; run < runs; run++) {
      crier.push(await crierRun(config, server, recipients))
      blaster.push(await blasterRun(server, baseUrl, text, recipients))
    }
    const crierSummary = summarise(crier.map((run) => run.rate))
    const median = crier.find((run) => run.rate === crierSummary.median) ?? crier[0]!
    const blasterSummary = summarise(blaster.map((run) => run.rate))
    const blasterMedian = blaster.find((run) => run.rate === blasterSummary.median) ?? blaster[0]!
    return {
      recipients,
      concurrency,
      bodyBytes: Math.round(blaster[0]!.bytes),
      crier: crierSummary,
      blaster: blasterSummary,
      cpu: {crier: median.cpu, blaster: blasterMedian.cpu},
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

/** A bare undici keep-alive Pool: `concurrency` loops POSTing Twilio's form body until `count` are done. */
async function blasterRun(server: ChildServer, baseUrl: string, text: string, count: number): Promise<{rate: number; bytes: number; cpu: SideCpu}> {
  await server.reset()
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
      const i = next++
      const response = await pool.request({path, method: 'POST', headers, body: `To=${encodeURIComponent(phoneFor(i))}${rest}`})
      await response.body.text()
      if (response.statusCode !== 201) failed++
    }
  }
  const measure = measureCpu(server)
  const begun = performance.now()
  await Promise.all(Array.from({length: concurrency}, loop))
  const ms = performance.now() - begun
  const cpu = measure(count)
  await pool.close()
  const received = await server.count()
  if (failed > 0 || received.count !== count) throw new Error(`blaster: ${failed} failed; the server got ${received.count} of ${count}`)
  return {rate: (count / ms) * 1000, bytes: received.bytes / received.count, cpu}
}
