import {spawn, type ChildProcess} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'
import {crierBin, type CrierHome} from './cli.js'

// The built CLI as a long-lived child process (a worker, a broadcast being watched), as a
// service manager or cron starts it: no terminal, stdin closed, output collected as it comes.

export interface SpawnedCrier {
  child: ChildProcess
  stdout(): string
  stderr(): string
  exit: Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

const running = new Set<SpawnedCrier>()

/** `crier ARGS…` in h's home; `nodeArgs` go to node before the CLI (an --import that records what loads). */
export function spawnCrier(h: CrierHome, args: string[], nodeArgs: string[] = [], input = ''): SpawnedCrier {
  const child = spawn(process.execPath, [...nodeArgs, crierBin, ...args], {env: h.env, cwd: h.home, stdio: ['pipe', 'pipe', 'pipe']})
  child.stdin!.end(input)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => (stdout += chunk))
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exit = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.on('close', (code, signal) => resolve({code, signal})))
  const spawned = {child, stdout: () => stdout, stderr: () => stderr, exit}
  running.add(spawned)
  void exit.then(() => running.delete(spawned))
  return spawned
}

/** For afterEach: kills (SIGKILL) every spawned crier still running, and waits for each to be gone. */
export async function killSpawned(): Promise<void> {
  for (const spawned of running) spawned.child.kill('SIGKILL')
  await Promise.all([...running].map((spawned) => spawned.exit))
}

/** Polls every 25 ms until `condition` holds; fails after `maxMs`. */
export async function waitFor(what: string, condition: () => boolean, maxMs = 30_000): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i * 25 >= maxMs) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`)
    await sleep(25)
  }
}

/** `--json` output of a long-running command: one JSON document per line. */
export function jsonLines(text: string): Array<Record<string, any>> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, any>)
}
