import {writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {join} from 'node:path'
import nodemailer from 'nodemailer'
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js'
import {email, type EmailSettings} from '../src/channels/email.js'
import type {EmailPayload} from '../src/channels/email-message.js'
import type {ChannelConfig} from '../src/channels/driver.js'
import {loadConfig, type Config} from '../src/config/load.js'
import {resolvePaths} from '../src/config/paths.js'
import {primaryVariant} from '../src/core/announcement.js'
import {crierAudienceRun, emailFor, listName} from './audience.js'
import {measureCpu, startChildServer, type ChildServer, type SideCpu} from './child-server.js'
import {benchAnnouncement, tempDir, type QueueShape} from './fixtures.js'
import {collectGarbage, medianRun, summarise, type Summary} from './stats.js'

// E-mail to an audience: crier (fan-out from the subscriber table, Dispatcher.run(), the email
// driver's pooled nodemailer transport) against a bare script that drives a pooled nodemailer
// transport with the same pool size and the same number of messages in flight, sending the
// same message (crier's own render). The mail server is smtp-server in a forked child
// (smtp-sink.ts) that accepts everything.
//
// crier's driver connects with TCP_NODELAY (email.ts, connectWithoutDelay); nodemailer's
// default does not, and then waits for the server's delayed ACK on every message. The raw
// script is measured both ways: with nodemailer's defaults, and with the same socket option as
// crier, which is the fair baseline for the ratio.

export interface EmailResult {
  recipients: number
  maxConnections: number
  /** Average bytes of DATA per message, as the server counted them. */
  crierBytes: number
  rawBytes: number
  /** messages per second */
  crier: Summary
  /** CPU per message (µs), this process's and the server's, in the median run of each side. */
  cpu: {crier: SideCpu; raw: SideCpu}
  /** The raw script with TCP_NODELAY, as crier's driver connects: the baseline. */
  raw: Summary
  /** The raw script with nodemailer's defaults (Nagle on). */
  rawDefault: Summary
  rawDefaultRecipients: number
  shape: QueueShape
}

const maxConnections = 5
const channelName = 'residents-email'
const fromMailbox = 'North Wales Police <alerts@northwales.example>'

export async function benchEmail(recipients: number, runs: number, defaultRecipients: number, defaultRuns: number): Promise<EmailResult> {
  const server = await startChildServer('./smtp-sink.js')
  try {
    const home = tempDir('email')
    // Through loadConfig, so the channel is validated and defaulted exactly as a user's would be.
    writeFileSync(
      join(home, 'config.yaml'),
      `sender: alerts@northwales.example\ntimezone: Europe/London\nchannels:\n  ${channelName}: {type: email, smtp: "smtp://127.0.0.1:${server.port}", from: "${fromMailbox}", audience: ${listName}, maxConnections: ${maxConnections}}\n`,
    )
    const config = loadConfig(resolvePaths({CRIER_HOME: home}))
    const channel = config.channels[channelName] as ChannelConfig<EmailSettings>
    // The raw script sends what crier renders for a subscriber, so both put the same bytes on the wire.
    const sample = benchAnnouncement({now: Date.now(), channels: [channelName], state: 'draft'})
    const template = email.render(sample, primaryVariant(sample), {channel, recipient: {id: '1', name: 'Resident 1', email: emailFor(1)}}).payload

    // One small untimed round of each: JIT, nodemailer's module load, the server's first sessions.
    await crierRun(config, server, Math.min(500, recipients))
    await rawRun(server, template, Math.min(500, recipients), true)
    await rawRun(server, template, Math.min(50, defaultRecipients), false)
    const crier: Array<{rate: number; bytes: number; cpu: SideCpu; shape: QueueShape}> = []
    const raw: Array<{rate: number; bytes: number; cpu: SideCpu}> = []
    const rawDefault: number[] = []
    for (let run = 0; run < runs; run++) {
      crier.push(await crierRun(config, server, recipients))
      raw.push(await rawRun(server, template, recipients, true))
      if (run < defaultRuns) rawDefault.push((await rawRun(server, template, defaultRecipients, false)).rate)
    }
    const [crierSummary, median] = medianRun(crier)
    const [rawSummary, rawMedian] = medianRun(raw)
    return {
      recipients,
      maxConnections,
      crierBytes: median.bytes,
      rawBytes: raw[0]!.bytes,
      crier: crierSummary,
      cpu: {crier: median.cpu, raw: rawMedian.cpu},
      raw: rawSummary,
      rawDefault: summarise(rawDefault),
      rawDefaultRecipients: defaultRecipients,
      shape: median.shape,
    }
  } finally {
    await server.close()
  }
}

/** `count` subscribers, one announcement fanned out by crier's fanOut, Dispatcher.run() until idle. */
async function crierRun(config: Config, server: ChildServer, count: number): Promise<{rate: number; bytes: number; cpu: SideCpu; shape: QueueShape}> {
  const run = await crierAudienceRun('email', config, server, channelName, count, {email: true})
  return {rate: run.rate, bytes: run.received.bytes / run.received.count, cpu: run.cpu, shape: run.shape}
}

/**
 * The bare script: one pooled nodemailer transport (maxConnections as crier's), as many send
 * loops as connections, each sending crier's rendered message to the next recipient.
 */
async function rawRun(server: ChildServer, template: EmailPayload, count: number, noDelay: boolean): Promise<{rate: number; bytes: number; cpu: SideCpu}> {
  await server.reset()
  collectGarbage()
  const options: SMTPPool.Options = {pool: true, maxConnections, host: '127.0.0.1', port: server.port, secure: false, logger: false}
  if (noDelay) {
    // As crier's driver does (email.ts, connectWithoutDelay): nodemailer's proxy hook hands it the socket.
    options.getSocket = (_options, callback) => callback(null, {connection: connect({host: '127.0.0.1', port: server.port, noDelay: true, keepAlive: true})})
  }
  const transport = nodemailer.createTransport(options)
  let next = 0
  const loop = async () => {
    while (next < count) {
      const i = next++
      const address = emailFor(i)
      await transport.sendMail({
        from: template.from,
        to: {name: `Resident ${i}`, address},
        subject: template.subject,
        text: template.text,
        html: template.html,
        headers: template.headers,
        // Shaped as crier's: <announcement.channel.subscriber@crier.domain>.
        messageId: `<${'0'.repeat(26)}.${channelName}.${i + 1}@crier.northwales.example>`,
        date: new Date(),
        envelope: {from: template.from.address, to: [address]},
      })
    }
  }
  const measure = measureCpu(server)
  const begun = performance.now()
  await Promise.all(Array.from({length: maxConnections}, loop))
  const ms = performance.now() - begun
  const cpu = measure(count)
  transport.close()
  const received = await server.count()
  if (received.count !== count) throw new Error(`raw nodemailer: the server got ${received.count} of ${count}`)
  return {rate: (count / ms) * 1000, bytes: received.bytes / received.count, cpu}
}
