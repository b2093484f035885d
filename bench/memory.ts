import {copyFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {openStore} from '../src/store/index.js'
import {accountSid, authToken, formatMB, formatSeconds, insertSubscribers, runCli, smsConfigYaml} from './audience.js'
import {startChildServer, type ChildServer} from './child-server.js'
import {deliveryStates, tempDir} from './fixtures.js'
import {formatMs, summarise, type Summary} from './stats.js'

// Memory at county scale: the built CLI as child processes, `crier broadcast ID --no-wait`
// (fan-out of the whole audience into the queue) and then `crier run` (delivers all of it to
// the Twilio-shaped fake, which answers 201 at once), each under GNU time for its peak RSS; then
// how long `crier status ID` takes over that many deliveries.
// The subscribers go straight into crier.db through the store (one transaction), once per
// audience size; every run starts from a copy of that file in a fresh CRIER_HOME.

export interface MemoryRow {
  recipients: number
  /** Peak RSS in bytes. */
  broadcast: Summary
  run: Summary
  /** Wall time in ms. */
  broadcastMs: Summary
  runMs: Summary
  /** Wall time in ms of `crier status ID` once every recipient was sent: what an officer waits for. */
  statusMs: Summary
  /** Why fewer runs than asked, if so. */
  note?: string
}

export interface MemoryResult {
  concurrency: number
  /** The draft's text: what every recipient is sent. */
  text: string
  rows: MemoryRow[]
  /** Distinct lines crier broadcast / crier run wrote to stderr (warnings), with the command. */
  stderr: string[]
}

const concurrency = 64
const list = 'residents'
/** The README's example: one GSM-7 segment once crier puts "[Minor]" in front. */
export const memoryText = 'Water supply restored in Llandudno.'

/**
 * Runs each audience size `runs` times, except the largest: that one is repeated only while the
 * section stays within `budgetMs` (at 1,000,000 recipients one run can take many minutes), and
 * the row says so when it ran fewer times.
 */
export async function benchMemory(sizes: number[], runs: number, budgetMs: number, log: (line: string) => void): Promise<MemoryResult> {
  const began = performance.now()
  const server = await startChildServer('./twilio-fake.js', [accountSid, authToken])
  try {
    const config = smsConfigYaml(`http://127.0.0.1:${server.port}`, concurrency, list)
    const rows: MemoryRow[] = []
    const stderr = new Set<string>()
    for (const [index, size] of sizes.entries()) {
      const isLargest = index === sizes.length - 1
      const template = join(tempDir('memory-template'), 'crier.db')
      const store = openStore(template)
      const insertMs = insertSubscribers(store, list, size, {phone: true})
      store.close()
      log(`${size.toLocaleString('en-GB')} subscribers inserted through the store in ${(insertMs / 1000).toFixed(1)} s`)
      const samples: Array<{broadcast: number; run: number; broadcastMs: number; runMs: number; statusMs: number}> = []
      let note: string | undefined
      for (let run = 0; run < runs; run++) {
        const sample = await oneRun(server, config, template, size, stderr)
        samples.push(sample)
        log(`  run ${run + 1}: broadcast --no-wait ${formatSeconds(sample.broadcastMs)}, peak ${formatMB(sample.broadcast)}; run ${formatSeconds(sample.runMs)}, peak ${formatMB(sample.run)}; status ID ${formatMs(sample.statusMs)}`)
        const runTook = sample.broadcastMs + sample.runMs
        if (isLargest && run + 1 < runs && performance.now() - began + runTook * (runs - run - 1) > budgetMs) {
          note = `${run + 1} run${run === 0 ? '' : 's'} only: one run (broadcast + run) took ${formatSeconds(runTook)}, and ${runs} would take this section well past ~${Math.round(budgetMs / 60_000)} minutes`
          break
        }
      }
      rows.push({
        recipients: size,
        broadcast: summarise(samples.map((s) => s.broadcast)),
        run: summarise(samples.map((s) => s.run)),
        broadcastMs: summarise(samples.map((s) => s.broadcastMs)),
        runMs: summarise(samples.map((s) => s.runMs)),
        statusMs: summarise(samples.map((s) => s.statusMs)),
        note,
      })
    }
    return {concurrency, text: memoryText, rows, stderr: [...stderr]}
  } finally {
    await server.close()
  }
}

async function oneRun(server: ChildServer, config: string, template: string, size: number, stderr: Set<string>) {
  const home = tempDir('memory')
  writeFileSync(join(home, 'config.yaml'), config, {mode: 0o600})
  copyFileSync(template, join(home, 'crier.db'))
  const draft = await runCli(home, ['draft', memoryText, '--severity', 'Minor', '--channel', 'residents-sms', '--json'])
  const id = (JSON.parse(draft.stdout) as {id: string}).id
  await server.reset()
  const broadcast = await runCli(home, ['broadcast', id, '--no-wait'])
  const queued = countStates(home, id)
  if (queued.queued !== size) throw new Error(`memory: broadcast --no-wait queued ${JSON.stringify(queued)}, expected ${size} queued`)
  const run = await runCli(home, ['run'])
  for (const [command, output] of [['broadcast --no-wait', broadcast.stderr], ['run', run.stderr]] as const) {
    for (const line of output.split('\n')) if (line.trim()) stderr.add(`crier ${command}: ${line.trim().replace(/^\(node:\d+\) /, '')}`)
  }
  const states = countStates(home, id)
  const received = await server.count()
  if (states.sent !== size || received.count !== size || received.refused !== 0) {
    throw new Error(`memory: expected ${size} sent and received; the database says ${JSON.stringify(states)}, the fake got ${received.count} (refused ${received.refused}); crier run said: ${run.stderr.trim()}`)
  }
  const status = await runCli(home, ['status', id])
  if (!status.stdout.includes(`sent ${size.toLocaleString('en-GB')}/${size.toLocaleString('en-GB')}`)) throw new Error(`memory: crier status said: ${status.stdout.trim()}`)
  return {broadcast: broadcast.peakRss, run: run.peakRss, broadcastMs: broadcast.ms, runMs: run.ms, statusMs: status.ms}
}

function countStates(home: string, announcementId: string): Record<string, number> {
  const store = openStore(join(home, 'crier.db'))
  try {
    return deliveryStates(store, announcementId)
  } finally {
    store.close()
  }
}
