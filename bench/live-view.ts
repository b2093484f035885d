import {spawn} from 'node:child_process'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import pty from 'node-pty'
import {openStore} from '../src/store/index.js'
import {accountSid, authToken, formatSeconds, insertSubscribers, listName, runCli, smsConfigYaml} from './audience.js'
import {startChildServer} from './child-server.js'
import {packageRoot, tempDir} from './fixtures.js'
import {formatMs, formatRatio, summarise, table, type Summary, type Verdict} from './stats.js'

// The live view, as an officer meets it: under a real pseudo-terminal (node-pty), the built
// CLI's `crier status ID --watch` from spawn to the first frame's headline on the screen,
// against `node -e ''` spawned the same way; and the CPU the watcher uses while another
// process (`crier run`) sends a 100,000-recipient SMS broadcast, from /proc/PID/stat.

const bin = join(packageRoot, 'bin', 'run.js')
const headline = 'A55 closed westbound J11 to J12'
const columns = 80
const rows = 24

function benchEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !['CRIER_CONFIG', 'CRIER_DEBUG', 'CI', 'NO_COLOR'].includes(key)) env[key] = value
  return {...env, CRIER_HOME: home, CRIER_USER: 'bench', TERM: 'xterm-256color'}
}

interface PtyTiming {
  /** Spawn to the marker on the screen (or to exit, with no marker). */
  ms: number
  pid: number
  exited: Promise<number>
  stop(): void
}

/** Spawns under a pty; resolves when `marker` is on the screen (or the process exits, when no marker). */
function timeInPty(args: string[], env: Record<string, string>, marker?: string): Promise<PtyTiming> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = pty.spawn(process.execPath, args, {cols: columns, rows, env, cwd: packageRoot})
    let output = ''
    let isDone = false
    let hasExited = false
    const exited = new Promise<number>((done) =>
      child.onExit(({exitCode}) => {
        hasExited = true
        done(exitCode)
      }),
    )
    const finish = () => {
      if (isDone) return
      isDone = true
      resolve({ms: performance.now() - started, pid: child.pid, exited, stop: () => void (hasExited || child.write('q'))})
    }
    child.onData((data) => {
      output += data
      if (marker && output.replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '').includes(marker)) finish()
    })
    void exited.then((code) => {
      if (!marker) finish()
      else if (!isDone) reject(new Error(`${args.slice(1).join(' ')} exited (${code}) before showing "${marker}": ${output.slice(-500)}`))
    })
  })
}

/** Whether the build bundled the live view into one file (scripts/bundle-live-view.js). */
function isLiveViewBundled(): boolean {
  return statSync(join(packageRoot, 'dist', 'src', 'views', 'live', 'ink-app.js')).size > 100_000
}

/** user + system CPU seconds of a process (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export interface FirstFrameResult {
  rows: Array<{label: string; summary: Summary; ratio: number}>
  baseline: Summary
}

/** `node -e ''` and the watch (and, for information, `status ID` and Ink's import alone), round-robin. */
export async function benchFirstFrame(runs: number): Promise<FirstFrameResult> {
  const home = tempDir('live-first-frame')
  writeFileSync(join(home, 'config.yaml'), 'channels:\n  partners: {type: webhook, url: "http://127.0.0.1:9/hooks/alerts"}\n', {mode: 0o600})
  const draft = await runCli(home, ['draft', 'The A55 is closed westbound between J11 and J12 after a collision.', '--headline', headline, '--severity', 'Moderate', '--channel', 'partners', '--json'])
  const id = (JSON.parse(draft.stdout) as {id: string}).id
  // Queued, and nobody sending it: the watch stays open on its first frame.
  await runCli(home, ['broadcast', id, '--no-wait'])
  const env = benchEnv(home)
  const scenarios: Array<{label: string; args: string[]; marker?: string}> = [
    {label: "node -e ''", args: ['-e', '']},
    {label: `crier status ID --watch (first frame)`, args: [bin, 'status', id, '--watch'], marker: headline},
    {label: 'crier status ID (plain, for comparison)', args: [bin, 'status', id], marker: headline},
    {label: "node: import('ink') alone", args: ['--input-type=module', '-e', "process.env.NODE_ENV = 'production'; await import('ink'); await import('react')"]},
  ]
  const samples = scenarios.map(() => [] as number[])
  // One untimed round warms the page cache and checks that each works.
  for (let run = 0; run <= runs; run++) {
    for (const [i, scenario] of scenarios.entries()) {
      const timing = await timeInPty(scenario.args, env, scenario.marker)
      timing.stop()
      await timing.exited
      if (run > 0) samples[i]!.push(timing.ms)
    }
  }
  const summaries = samples.map(summarise)
  const baseline = summaries[0]!
  return {baseline, rows: scenarios.slice(1).map((scenario, i) => ({label: scenario.label, summary: summaries[i + 1]!, ratio: summaries[i + 1]!.median / baseline.median}))}
}

export interface WatchCpuResult {
  recipients: number
  /** Watcher CPU over the watched window, as a share of one core (0..1). */
  share: number
  cpuSeconds: number
  wallSeconds: number
  /** How long crier run took to send them all. */
  runMs: number
  received: number
}

export async function benchWatchCpu(recipients: number, log: (line: string) => void): Promise<WatchCpuResult> {
  const server = await startChildServer('./twilio-fake.js', [accountSid, authToken])
  try {
    const home = tempDir('live-cpu')
    writeFileSync(join(home, 'config.yaml'), smsConfigYaml(`http://127.0.0.1:${server.port}`, 64, listName), {mode: 0o600})
    const store = openStore(join(home, 'crier.db'))
    insertSubscribers(store, listName, recipients, {phone: true})
    store.close()
    const draft = await runCli(home, ['draft', 'Water supply restored in Llandudno.', '--headline', headline, '--severity', 'Minor', '--channel', 'residents-sms', '--json'])
    const id = (JSON.parse(draft.stdout) as {id: string}).id
    await runCli(home, ['broadcast', id, '--no-wait'])
    await server.reset()
    log(`${recipients.toLocaleString('en-GB')} SMS deliveries queued; watching while crier run sends them`)

    const watcher = await timeInPty([bin, 'status', id, '--watch'], benchEnv(home), headline)
    const before = cpuSeconds(watcher.pid)
    const began = performance.now()
    const runStarted = performance.now()
    const sender = spawn(process.execPath, [bin, 'run'], {cwd: packageRoot, env: benchEnv(home), stdio: 'ignore'})
    const runStatus = await new Promise<number | null>((resolve) => sender.once('close', resolve))
    const runMs = performance.now() - runStarted
    // The watcher's CPU up to the moment the sending ended (it exits itself a moment later).
    const used = cpuSeconds(watcher.pid) - before
    const wallSeconds = (performance.now() - began) / 1000
    const exitCode = await Promise.race([watcher.exited, sleep(15_000).then(() => -1)])
    if (exitCode === -1) {
      watcher.stop()
      throw new Error('the watcher did not exit once every delivery was final')
    }
    const received = (await server.count()).count
    if (runStatus !== 0 || exitCode !== 0 || received !== recipients) throw new Error(`crier run exited ${runStatus}, the watcher ${exitCode}; the fake received ${received} of ${recipients}`)
    return {recipients, share: used / wallSeconds, cpuSeconds: used, wallSeconds, runMs, received}
  } finally {
    await server.close()
  }
}

/** The section for bench/index.ts: prints its figures and returns the summary rows. */
export async function liveViewSection(firstFrameRuns: number, recipients: number): Promise<Verdict[]> {
  console.log(`\n10. Live view: under a pseudo-terminal (node-pty, ${columns}×${rows}); time to first frame, ${firstFrameRuns} runs each, round-robin; CPU of a watcher\n`)
  const frame = await benchFirstFrame(firstFrameRuns)
  console.log(
    table(
      ['command', 'median', 'min', 'max', 'runs', `× node -e ''`],
      [{label: "node -e ''", summary: frame.baseline, ratio: 1}, ...frame.rows].map((row) => [row.label, formatMs(row.summary.median), row.summary.min.toFixed(1), row.summary.max.toFixed(1), String(row.summary.runs), formatRatio(row.ratio)]),
    ).replace(/^/gm, '  '),
  )
  console.log(`  (first frame: spawn until "${headline}" is on the screen; node -e '': spawn until exit)`)
  console.log(`  ${isLiveViewBundled() ? 'dist/src/views/live/ink-app.js is bundled (scripts/bundle-live-view.js): Ink and React load as one file' : 'dist/src/views/live/ink-app.js is not bundled: Ink and React load module by module from node_modules (node scripts/bundle-live-view.js after the build bundles them)'}\n`)
  const cpu = await benchWatchCpu(recipients, (line) => console.log(`  ${line}`))
  console.log(`  crier run sent ${cpu.received.toLocaleString('en-GB')} in ${formatSeconds(cpu.runMs)}; the watcher used ${cpu.cpuSeconds.toFixed(2)} s of CPU over ${cpu.wallSeconds.toFixed(1)} s: ${(cpu.share * 100).toFixed(1)}% of one core`)
  const watch = frame.rows[0]!
  return [
    {figure: 'live view: first frame (status --watch)', crier: formatMs(watch.summary.median), baseline: `${formatMs(frame.baseline.median)} (node -e '')`, ratio: watch.ratio, goal: '≤ 7.00×', isMet: watch.ratio <= 7},
    {
      figure: `live view: watcher CPU (${recipients.toLocaleString('en-GB')} SMS)`,
      crier: `${(cpu.share * 100).toFixed(1)}% of a core`,
      baseline: '—',
      goal: '< 10% of a core',
      isMet: cpu.share < 0.1,
    },
  ]
}
