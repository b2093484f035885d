import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Config} from '../src/config/load.js'
import {fanOut} from '../src/engine/fan-out.js'
import {openStore, type Store} from '../src/store/index.js'
import type {ChildServer, ServerCounts, SideCpu} from './child-server.js'
import {benchAnnouncement, countQueueCalls, deliveryStates, emptyShape, packageRoot, tempDir, type QueueShape} from './fixtures.js'
import {keptDispatcher} from './kept-dispatcher.js'

// Shared bits of the audience scenarios (e-mail, SMS, memory, import): subscribers as a county
// has them, put straight into the store, and the built CLI run as a child process with its
// wall time and peak resident memory.

/** The subscriber list the audience sections fan out to. */
export const listName = 'residents'

export const accountSid = 'AC' + 'b'.repeat(32)
export const authToken = 'bench-twilio-token-5f3a'
export const smsFrom = '+447700900999'

/** +447700000000 … +447700999999: a UK mobile number for every subscriber up to a million. */
export function phoneFor(i: number): string {
  if (i >= 1_000_000) throw new Error('phoneFor: only a million distinct numbers')
  return `+447700${String(i).padStart(6, '0')}`
}

export function emailFor(i: number): string {
  return `resident${i}@northwales.example`
}

/**
 * `count` subscribers of `list` through the store's own upsert, in one transaction (what an
 * import does without the CSV); with e-mail addresses, phone numbers or both. Returns ms.
 */
export function insertSubscribers(store: Store, list: string, count: number, contacts: {email?: boolean; phone?: boolean}): number {
  const now = Date.now()
  const started = performance.now()
  store.transaction(() => {
    for (let i = 0; i < count; i++) {
      const outcome = store.subscribers.upsert(
        {
          list,
          name: `Resident ${i}`,
          email: contacts.email ? emailFor(i) : null,
          phone: contacts.phone ? phoneFor(i) : null,
          language: i % 3 === 0 ? 'en-GB' : null,
          lat: null,
          lon: null,
          zone: null,
          tags: [],
        },
        now,
      )
      if (outcome !== 'inserted') throw new Error(`subscriber ${i}: ${outcome}, expected inserted`)
    }
  })
  return performance.now() - started
}

/** The config.yaml of a CRIER_HOME with one SMS channel to the Twilio-shaped fake. */
export function smsConfigYaml(baseUrl: string, concurrency: number, list: string): string {
  return [
    'sender: alerts@northwales.example',
    'timezone: Europe/London',
    'defaultRegion: GB',
    'channels:',
    `  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "${authToken}", from: "${smsFrom}", baseUrl: "${baseUrl}", audience: ${list}, concurrency: ${concurrency}}`,
    '',
  ].join('\n')
}

export const canTimeWithGnuTime = existsSync('/usr/bin/time')

export interface CliRun {
  ms: number
  /** Peak resident set size of the crier process, in bytes. */
  peakRss: number
  stdout: string
  stderr: string
  status: number | null
}

/**
 * `crier ARGS` (the built bin/run.js) in CRIER_HOME=`home`: wall time, and peak RSS from GNU
 * time's %M (max RSS in KiB, from wait4) or, without /usr/bin/time, from polling VmHWM in
 * /proc/PID/status. Throws unless the exit code is one of `okStatuses`.
 */
export function runCli(home: string, args: string[], okStatuses: number[] = [0]): Promise<CliRun> {
  const bin = join(packageRoot, 'bin', 'run.js')
  const env: NodeJS.ProcessEnv = {...process.env, CRIER_HOME: home, CRIER_USER: 'bench'}
  delete env.CRIER_CONFIG
  delete env.CRIER_DEBUG
  const rssFile = join(tempDir('rss'), 'max-rss')
  const [command, commandArgs] = canTimeWithGnuTime
    ? ['/usr/bin/time', ['-o', rssFile, '-f', '%M', process.execPath, bin, ...args]]
    : [process.execPath, [bin, ...args]]
  return new Promise<CliRun>((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, commandArgs as string[], {cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    let polledKiB = 0
    const poll = canTimeWithGnuTime
      ? undefined
      : setInterval(() => {
          try {
            const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
            if (match) polledKiB = Math.max(polledKiB, Number(match[1]))
          } catch {
            // Gone between two polls: the last reading stands.
          }
        }, 20)
    child.once('error', reject)
    child.once('close', (status) => {
      const ms = performance.now() - started
      if (poll) clearInterval(poll)
      const label = `crier ${args.join(' ')}`
      if (status === null || !okStatuses.includes(status)) {
        return reject(new Error(`${label} exited with ${status}: ${stderr.trim() || stdout.trim()}`))
      }
      const kib = canTimeWithGnuTime ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : polledKiB
      if (!Number.isFinite(kib) || kib <= 0) return reject(new Error(`${label}: could not read its peak RSS`))
      resolve({ms, peakRss: kib * 1024, stdout, stderr, status})
    })
  })
}

/** "123.4 MB" (10⁶ bytes: the goal is in MB, and this is the stricter reading). */
export function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`
}

/** "12.3 s" */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

/** What one of crier's audience runs measured. */
export interface AudienceRun {
  rate: number
  cpu: SideCpu
  shape: QueueShape
  received: ServerCounts
}

/**
 * crier's side of an audience figure: `count` subscribers, one announcement fanned out with
 * fanOut(), Dispatcher.run() until idle, by a new store and dispatcher (a new crier process);
 * fails unless every delivery was sent and received.
 */
export async function crierAudienceRun(...args: Parameters<typeof audienceCrier>): Promise<AudienceRun> {
  const crier = audienceCrier(...args)
  try {
    return await crier.run()
  } finally {
    await crier.close()
  }
}

/** One store holding `count` subscribers and one dispatcher (kept-dispatcher.ts), run once per announcement fanned out to them. */
export function audienceCrier(
  label: string,
  config: Config,
  server: ChildServer,
  channel: string,
  count: number,
  contacts: {email?: boolean; phone?: boolean},
): {run(): Promise<AudienceRun>; close(): Promise<void>} {
  const store = openStore(join(tempDir(`${label}-store`), 'crier.db'))
  insertSubscribers(store, listName, count, contacts)
  const shape = countQueueCalls(store)
  const dispatcher = keptDispatcher(store, config, server)
  return {
    async run() {
      const announcement = benchAnnouncement({now: Date.now(), channels: [channel], state: 'draft'})
      store.transaction(() => store.announcements.insert(announcement))
      const fanned = fanOut({config, store, now: Date.now, user: 'bench'}, announcement.id)
      if (fanned.queued !== count) throw new Error(`${label}: fan-out queued ${fanned.queued}, expected ${count}`)
      Object.assign(shape, emptyShape())
      const {ms, cpu, summary, queueThread} = await dispatcher.run(count)
      const received = await server.count()
      const states = deliveryStates(store, announcement.id)
      if (states.sent !== count || received.count !== count || received.refused !== 0) {
        throw new Error(`${label}: expected ${count} sent and received; the database says ${JSON.stringify(states)}, the server got ${received.count} (refused ${received.refused}), the dispatcher ${JSON.stringify(summary)}`)
      }
      return {rate: (count / ms) * 1000, cpu, shape: {...shape, queueThread}, received}
    },
    async close() {
      await dispatcher.close()
      store.close()
    },
  }
}
