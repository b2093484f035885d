import {copyFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {openStore} from '../src/store/index.js'
import {accountSid, authToken, insertSubscribers, runCli, smsConfigYaml} from './audience.js'
import {startChildServer, type ChildServer} from './child-server.js'
import {deliveryStates, tempDir} from './fixtures.js'
import {summarise, type Summary} from './stats.js'

// Memory at county scale: the built CLI as child processes, `crier broadcast ID --no-wait`
// (fan-out of the whole audience into the queue) and then `crier run` (delivers all of it to
// the Twilio-shaped fake, which answers 201 at once), each under GNU time for its peak RSS.
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
  /** Why fewer runs than asked, if so. */
  note?: string
}

export interface MemoryResult {
  concurrency: number
  rows: MemoryRow[]
}

const concurrency = 64
const list = 'residents'

/**
 * Runs each audience size `runs` times, except that a size stops early when one more run would
 * take the section past `budgetMs` (the 1M runs take minutes on a small machine).
 */
export async function benchMemory(sizes: number[], runs: number, budgetMs: number, log: (line: string) => void): Promise<MemoryResult> {
  const began = performance.now()
  const server = await startChildServer('./twilio-fake.js', [accountSid, authToken])
  try {
    const config = smsConfigYaml(`http://127.0.0.1:${server.port}`, concurrency, list)
    const rows: MemoryRow[] = []
    for (const [index, size] of sizes.entries()) {
      const template = join(tempDir('memory-template'), 'crier.db')
      const store = openStore(template)
      const insertMs = insertSubscribers(store, list, size, {phone: true})
      store.close()
      log(`${size.toLocaleString('en-GB')} subscribers inserted through the store in ${(insertMs / 1000).toFixed(1)} s`)
      const samples: Array<{broadcast: number; run: number; broadcastMs: number; runMs: number}> = []
      let note: string | undefined
      for (let run = 0; run < runs; run++) {
        const sample = await oneRun(server, config, template, size)
        samples.push(sample)
        log(`  run ${run + 1}: broadcast --no-wait ${(sample.broadcastMs / 1000).toFixed(1)} s, peak ${(sample.broadcast / 1e6).toFixed(1)} MB; run ${(sample.runMs / 1000).toFixed(1)} s, peak ${(sample.run / 1e6).toFixed(1)} MB`)
        const runTook = sample.broadcastMs + sample.runMs
        // Later sizes still need their first run: keep room for it (assume ×10 audience ≈ ×10 time).
        const reserve = sizes.slice(index + 1).reduce((sum, next) => sum + (runTook * next) / size, 0)
        if (run + 1 < runs && performance.now() - began + runTook + reserve > budgetMs) {
          note = `${run + 1} run${run === 0 ? '' : 's'} only: one run (broadcast + run) took ${(runTook / 1000).toFixed(0)} s, and ${runs} would take this section past ~${Math.round(budgetMs / 60_000)} minutes`
          break
        }
      }
      rows.push({
        recipients: size,
        broadcast: summarise(samples.map((s) => s.broadcast)),
        run: summarise(samples.map((s) => s.run)),
        broadcastMs: summarise(samples.map((s) => s.broadcastMs)),
        runMs: summarise(samples.map((s) => s.runMs)),
        note,
      })
    }
    return {concurrency, rows}
  } finally {
    await server.close()
  }
}

async function oneRun(server: ChildServer, config: string, template: string, size: number) {
  const home = tempDir('memory')
  writeFileSync(join(home, 'config.yaml'), config, {mode: 0o600})
  copyFileSync(template, join(home, 'crier.db'))
  const draft = await runCli(home, ['draft', 'Water supply restored in Llandudno. Run your taps for two minutes before drinking.', '--severity', 'Minor', '--channel', 'residents-sms', '--json'])
  const id = (JSON.parse(draft.stdout) as {id: string}).id
  await server.reset()
  const broadcast = await runCli(home, ['broadcast', id, '--no-wait'])
  const queued = countStates(home, id)
  if (queued.queued !== size) throw new Error(`memory: broadcast --no-wait queued ${JSON.stringify(queued)}, expected ${size} queued`)
  const run = await runCli(home, ['run'])
  const states = countStates(home, id)
  const received = await server.count()
  if (states.sent !== size || received.count !== size || received.refused !== 0) {
    throw new Error(`memory: expected ${size} sent and received; the database says ${JSON.stringify(states)}, the fake got ${received.count} (refused ${received.refused}); crier run said: ${run.stderr.trim()}`)
  }
  return {broadcast: broadcast.peakRss, run: run.peakRss, broadcastMs: broadcast.ms, runMs: run.ms}
}

function countStates(home: string, announcementId: string): Record<string, number> {
  const store = openStore(join(home, 'crier.db'))
  try {
    return deliveryStates(store, announcementId)
  } finally {
    store.close()
  }
}
