import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {openStore} from '../src/store/index.js'
import {benchAnnouncement, packageRoot, tempDir} from './fixtures.js'
import {summarise, type Summary} from './stats.js'

// Start-up: wall time of whole processes, spawned one after another in round-robin order so
// that drift (CPU frequency, a noisy neighbour, the page cache) touches every command alike.

export interface StartupRow {
  label: string
  summary: Summary
  /** Median over the baseline's median (`node -e ''`). */
  ratio: number
}

export interface ImportCost {
  module: string
  summary: Summary
}

export interface StartupResult {
  baseline: StartupRow
  rows: StartupRow[]
  imports: ImportCost[]
  /** Whether V8 took the build's code cache for oclif.cjs in a fresh process (else every start compiles oclif). */
  codeCacheAccepted: boolean
}

interface Scenario {
  label: string
  args: string[]
  home: string
  /** Lines `list` must print, checked on the untimed warm-up run. */
  expectLines?: number
}

const storedAnnouncements = 10_000
/** Modules the start-up path must not load (each is imported alone, in a fresh process). */
export const heavyModules = ['undici', 'xmlbuilder2', 'zod', 'better-sqlite3', '@oclif/core']

export function benchStartup(runs: number, importRuns: number): StartupResult {
  const bin = join(packageRoot, 'bin', 'run.js')
  const emptyHome = tempDir('empty')
  createStore(emptyHome, 0)
  const fullHome = tempDir('full')
  createStore(fullHome, storedAnnouncements)
  const scenarios: Scenario[] = [
    {label: "node -e ''", args: ['-e', ''], home: tempDir('baseline')},
    {label: 'crier --version', args: [bin, '--version'], home: tempDir('version')},
    {label: 'crier list (empty store)', args: [bin, 'list'], home: emptyHome, expectLines: 1},
    {label: `crier list (${storedAnnouncements.toLocaleString('en-GB')} announcements; newest 50)`, args: [bin, 'list'], home: fullHome, expectLines: 50},
    {label: `crier list --all (${storedAnnouncements.toLocaleString('en-GB')} announcements)`, args: [bin, 'list', '--all'], home: fullHome, expectLines: storedAnnouncements},
  ]

  // One untimed round warms the page cache and checks that every command works.
  for (const scenario of scenarios) {
    const {stdout} = spawnTimed(scenario)
    if (scenario.expectLines !== undefined) {
      const lines = stdout.split('\n').filter((line) => line.length > 0).length
      if (lines !== scenario.expectLines) throw new Error(`${scenario.label} printed ${lines} lines, expected ${scenario.expectLines}`)
    }
  }
  const samples = scenarios.map(() => [] as number[])
  for (let run = 0; run < runs; run++) {
    scenarios.forEach((scenario, i) => samples[i]!.push(spawnTimed(scenario).ms))
  }
  const summaries = samples.map(summarise)
  const baselineMedian = summaries[0]!.median
  const rows = scenarios.map((scenario, i) => ({label: scenario.label, summary: summaries[i]!, ratio: summaries[i]!.median / baselineMedian}))
  return {baseline: rows[0]!, rows: rows.slice(1), imports: benchImports(importRuns), codeCacheAccepted: isCodeCacheAccepted()}
}

/** Loads oclif.cjs in a fresh node as bin/run.js does, and asks whether V8 took its cache. */
function isCodeCacheAccepted(): boolean {
  const loader = pathToFileURL(join(packageRoot, 'dist', 'src', 'cli', 'code-cache.js')).href
  const script = join(packageRoot, 'dist', 'src', 'cli', 'oclif.cjs')
  const probe = `const {loadWithCodeCache} = await import(${JSON.stringify(loader)}); process.stdout.write(String(loadWithCodeCache(${JSON.stringify(script)}).cacheAccepted))`
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {cwd: packageRoot, encoding: 'utf8'})
  if (result.status !== 0) throw new Error(`code cache probe failed: ${result.stderr}`)
  return result.stdout === 'true'
}

function createStore(home: string, count: number): void {
  const store = openStore(join(home, 'crier.db'))
  const start = Date.now() - count * 60_000
  store.transaction(() => {
    for (let i = 0; i < count; i++) {
      store.announcements.insert(benchAnnouncement({now: start + i * 60_000, channels: ['website'], state: i % 10 === 0 ? 'sent_with_failures' : 'sent'}))
    }
  })
  store.close()
}

function spawnTimed(scenario: Scenario): {ms: number; stdout: string} {
  const env: NodeJS.ProcessEnv = {...process.env, CRIER_HOME: scenario.home, CRIER_USER: 'bench'}
  delete env.CRIER_CONFIG
  delete env.CRIER_DEBUG
  const started = performance.now()
  const result = spawnSync(process.execPath, scenario.args, {cwd: packageRoot, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024})
  const ms = performance.now() - started
  if (result.status !== 0) throw new Error(`${scenario.label} exited with ${result.status ?? result.signal}: ${result.stderr || result.error?.message}`)
  return {ms, stdout: result.stdout}
}

/** `await import(name)` timed inside a fresh `node --input-type=module` child, run round-robin. */
function benchImports(runs: number): ImportCost[] {
  const samples = heavyModules.map(() => [] as number[])
  for (let run = 0; run < runs + 1; run++) {
    heavyModules.forEach((name, i) => {
      const script = `const t = performance.now(); await import(${JSON.stringify(name)}); process.stdout.write(String(performance.now() - t))`
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {cwd: packageRoot, encoding: 'utf8'})
      if (result.status !== 0) throw new Error(`import('${name}') failed: ${result.stderr}`)
      // The first round only warms the page cache.
      if (run > 0) samples[i]!.push(Number(result.stdout))
    })
  }
  return heavyModules.map((name, i) => ({module: name, summary: summarise(samples[i]!)}))
}
