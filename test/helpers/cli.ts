import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import Database from 'better-sqlite3'

// Runs the built CLI as a child process, the way people, scripts and cron do.

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const crierBin = join(repoRoot, 'bin', 'run.js')

export interface CliResult {
  status: number | null
  stdout: string
  stderr: string
}

export interface CrierHome {
  home: string
  env: NodeJS.ProcessEnv
  /** Runs `crier …` synchronously with this home; `input` is piped to stdin. */
  run(args: string[], options?: {input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string}): CliResult
  /** Runs `crier …` asynchronously (for servers in this process to answer it). */
  runAsync(args: string[], options?: {input?: string; env?: NodeJS.ProcessEnv}): Promise<CliResult>
  writeConfig(yaml: string): string
  db(): Database.Database
  cleanup(): void
}

export function makeCrierHome(): CrierHome {
  const home = mkdtempSync(join(tmpdir(), 'crier-test-'))
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    CRIER_HOME: home,
    CRIER_USER: 'officer.author',
    TZ: 'UTC',
    NO_COLOR: '1',
  }
  return {
    home,
    env,
    run(args, options = {}) {
      const result = spawnSync(process.execPath, [crierBin, ...args], {
        env: {...env, ...options.env},
        input: options.input ?? '',
        cwd: options.cwd,
        encoding: 'utf8',
        timeout: 60_000,
      })
      return {status: result.status, stdout: result.stdout, stderr: result.stderr}
    },
    runAsync(args, options = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [crierBin, ...args], {env: {...env, ...options.env}})
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (chunk) => (stdout += chunk))
        child.stderr.on('data', (chunk) => (stderr += chunk))
        child.on('error', reject)
        child.on('close', (status) => resolve({status, stdout, stderr}))
        child.stdin.end(options.input ?? '')
      })
    },
    writeConfig(yaml) {
      const file = join(home, 'config.yaml')
      writeFileSync(file, yaml)
      return file
    },
    db() {
      return new Database(join(home, 'crier.db'))
    },
    cleanup() {
      rmSync(home, {recursive: true, force: true})
    },
  }
}

/** PRAGMA integrity_check and the announcement count, to show that bad input changed nothing. */
export function storeFacts(home: CrierHome): {integrity: string; announcements: number; deliveries: number} {
  const db = home.db()
  try {
    const integrity = db.pragma('integrity_check', {simple: true}) as string
    const announcements = db.prepare('SELECT count(*) FROM announcement').pluck().get() as number
    const hasDelivery = db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'delivery'`).pluck().get() as number
    const deliveries = hasDelivery ? (db.prepare('SELECT count(*) FROM delivery').pluck().get() as number) : 0
    return {integrity, announcements, deliveries}
  } finally {
    db.close()
  }
}

export function jsonOf<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T
  } catch {
    throw new Error(`stdout is not JSON (status ${result.status}):\n${result.stdout}\nstderr:\n${result.stderr}`)
  }
}
