import {mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {setTimeout as sleep} from 'node:timers/promises'
import pty from 'node-pty'
import {crierBin} from './cli.js'

// The built CLI under a real pseudo-terminal (node-pty), as an officer runs it over SSH: what
// it wrote to the terminal, keys typed into it, and its exit code.

export interface PtyRun {
  pid: number
  /** Everything written to the terminal so far, escape sequences included. */
  output(): string
  /** The same with escape sequences removed: the words as a screen would show them. */
  text(): string
  write(keys: string): void
  resize(columns: number, rows: number): void
  /** Waits (bounded) until the text matches; throws with the text so far when it does not. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>
  exited: Promise<{exitCode: number; signal?: number}>
  kill(signal?: string): void
}

export function runInPty(args: string[], options: {env: NodeJS.ProcessEnv; columns?: number; rows?: number; nodeArgs?: string[]; cwd?: string}): PtyRun {
  // A terminal that shows colour; CI makes Ink print only its last frame.
  const env: Record<string, string> = {TERM: 'xterm-256color'}
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined && key !== 'CI') env[key] = value
  const child = pty.spawn(process.execPath, [...(options.nodeArgs ?? []), crierBin, ...args], {cols: options.columns ?? 80, rows: options.rows ?? 24, env, cwd: options.cwd ?? options.env.CRIER_HOME})
  let output = ''
  child.onData((data) => (output += data))
  const exited = new Promise<{exitCode: number; signal?: number}>((resolve) => child.onExit(resolve))
  const text = () => stripEscapes(output)
  return {
    pid: child.pid,
    output: () => output,
    text,
    write: (keys) => child.write(keys),
    resize: (columns, rows) => child.resize(columns, rows),
    async waitFor(pattern, timeoutMs = 30_000) {
      for (let waited = 0; waited < timeoutMs; waited += 25) {
        if (pattern.test(text())) return
        await sleep(25)
      }
      throw new Error(`the terminal never showed ${pattern} in ${timeoutMs} ms; it shows:\n${text()}`)
    },
    exited,
    kill: (signal) => child.kill(signal),
  }
}

/** Terminal text without CSI, OSC and two-character escapes; carriage returns dropped. */
export function stripEscapes(text: string): string {
  return text
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '')
    .replace(/\u001b[@-Z\\-_]/g, '')
    .replace(/\r/g, '')
}

/**
 * A module loader hook for `node --import`: every module the process resolves is written to a
 * file, so a test can say which ones a command loaded (Ink, React) and which it never touched.
 */
export function importRecorder(): {nodeArgs: string[]; loaded(): string[]; cleanup(): void} {
  const dir = mkdtempSync(join(tmpdir(), 'crier-imports-'))
  const log = join(dir, 'resolved.txt')
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import {appendFileSync} from 'node:fs'
let log
export function initialize(data) { log = data.log }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(log, result.url + '\\n')
  return result
}
`,
  )
  writeFileSync(join(dir, 'register.mjs'), `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, {data: {log: ${JSON.stringify(log)}}})\n`)
  return {
    nodeArgs: ['--import', pathToFileURL(join(dir, 'register.mjs')).href],
    loaded: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    cleanup: () => rmSync(dir, {recursive: true, force: true}),
  }
}

/** Whether any of these resolved URLs is a file of the package (node_modules/<name>/…). */
export function loadedPackage(urls: string[], name: string): boolean {
  return urls.some((url) => url.includes(`/node_modules/${name}/`))
}
