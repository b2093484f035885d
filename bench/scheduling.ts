import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {loadConfig} from '../src/config/load.js'
import {resolvePaths} from '../src/config/paths.js'
import type {CoreContext} from '../src/core/context.js'
import {createDraft} from '../src/core/drafting.js'
import {scheduleAnnouncement} from '../src/core/scheduling.js'
import {openStore} from '../src/store/index.js'
import {packageRoot, tempDir} from './fixtures.js'

// Issue 6's figures: how late `crier worker` fires one-off schedules (due time → first delivery
// attempt, p50/p99 over 200 spread across two minutes), and what an idle worker costs (CPU over
// 60 s). The channel is a feed in a temp dir: no network in the way of the timing.

export interface SchedulingResult {
  schedules: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  idleCpuPercent: number
  idleSeconds: number
}

const bin = join(packageRoot, 'bin', 'run.js')

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

function startWorker(home: string): ChildProcess {
  return spawn(process.execPath, [bin, 'worker'], {env: {...process.env, CRIER_HOME: home, CRIER_USER: 'bench'}, stdio: 'ignore'})
}

async function stopWorker(worker: ChildProcess): Promise<void> {
  worker.kill('SIGTERM')
  await new Promise((resolve) => worker.once('exit', resolve))
}

/** user + system CPU seconds of a process, from /proc (clock ticks of 1/100 s on Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export async function benchScheduling(schedules = 200, spreadMs = 120_000, idleMs = 60_000): Promise<SchedulingResult> {
  const home = tempDir('scheduling')
  writeFileSync(join(home, 'config.yaml'), 'channels:\n  website: {type: feed, dir: ./public}\n')
  const store = openStore(join(home, 'crier.db'))
  const ctx: CoreContext = {config: loadConfig(resolvePaths({CRIER_HOME: home})), store, now: Date.now, user: 'bench'}
  const start = Date.now() + 8000
  for (let i = 0; i < schedules; i++) {
    const draft = createDraft(ctx, {text: `Scheduled bulletin ${i}.`, severity: 'Minor', channels: ['website']})
    const due = start + Math.round((i * spreadMs) / schedules)
    scheduleAnnouncement(ctx, draft.id, {at: new Date(due).toISOString()})
  }
  const worker = startWorker(home)
  const lastDue = start + spreadMs
  while (Date.now() < lastDue + 5000) await sleep(500)
  await stopWorker(worker)
  const delays = store.db
    .prepare(
      `SELECT min(a.started_at) - o.due_at AS delay FROM occurrence o JOIN delivery d ON d.announcement_id = o.announcement_id
        JOIN attempt a ON a.delivery_id = d.id GROUP BY o.schedule_id`,
    )
    .pluck()
    .all() as number[]
  store.close()
  if (delays.length !== schedules) throw new Error(`only ${delays.length} of ${schedules} schedules fired`)
  const sorted = delays.sort((a, b) => a - b)

  // Idle: a worker on the same (now quiet) store, measured after it has settled.
  const idle = startWorker(home)
  await sleep(3000)
  const before = cpuSeconds(idle.pid!)
  await sleep(idleMs)
  const used = cpuSeconds(idle.pid!) - before
  await stopWorker(idle)
  return {schedules, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1)!, idleCpuPercent: (used / (idleMs / 1000)) * 100, idleSeconds: idleMs / 1000}
}
