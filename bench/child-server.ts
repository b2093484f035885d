import {fork, type ChildProcess} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import type {Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {fileURLToPath} from 'node:url'

// The parent's side of a bench server running in its own process (child_process.fork), so that
// the server never shares an event loop (or a core's time slice in the same process) with the
// client being measured. The children (smtp-sink.ts, twilio-fake.ts, social-fake-server.ts)
// speak this protocol (HTTP fakes through serveAsChild below):
//
//   child → parent on start: {type: 'listening', port}
//   parent → child {type: 'count'} → {type: 'count', count, bytes, refused}
//   parent → child {type: 'reset'} → {type: 'reset', count: 0, bytes: 0, refused: 0}
//   parent → child {type: 'close'}: ends every connection and exits.
//
// `count` is what the server accepted, `bytes` the request bodies (SMTP: DATA) it read for
// them, `refused` what it turned away (wrong credentials, unknown path).

export type ServerCounts = {count: number; bytes: number; refused: number}
export type ChildServerMessage = {type: 'listening'; port: number} | ({type: 'count' | 'reset'} & ServerCounts)

export interface ChildServer {
  port: number
  pid: number
  /** The server process's CPU time so far (user + system, ms), or undefined off Linux. */
  cpuMs(): number | undefined
  count(): Promise<ServerCounts>
  reset(): Promise<void>
  close(): Promise<void>
}

/** Forks `module` (a sibling of this file in dist/bench) with `args`; resolves once it listens. */
export async function startChildServer(module: string, args: string[] = []): Promise<ChildServer> {
  const child: ChildProcess = fork(fileURLToPath(new URL(module, import.meta.url)), args, {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
  const next = (type: ChildServerMessage['type']) =>
    new Promise<ChildServerMessage>((resolve, reject) => {
      const onMessage = (message: ChildServerMessage) => {
        if (message.type !== type) return
        child.off('message', onMessage)
        child.off('exit', onExit)
        resolve(message)
      }
      const onExit = (code: number | null) => reject(new Error(`${module} exited (${code}) while waiting for ${type}`))
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
  const listening = await next('listening')
  return {
    port: listening.type === 'listening' ? listening.port : 0,
    pid: child.pid ?? 0,
    cpuMs: () => processCpuMs(child.pid),
    async count() {
      const reply = next('count')
      child.send({type: 'count'})
      const {count, bytes, refused} = (await reply) as ServerCounts
      return {count, bytes, refused}
    },
    async reset() {
      const reply = next('reset')
      child.send({type: 'reset'})
      await reply
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.send({type: 'close'})
      }),
  }
}

/** CPU per request or message (µs) of one side of a figure: this process, and the server's. */
export interface SideCpu {
  client: number
  /** Undefined where the server's CPU cannot be read (off Linux). */
  server?: number
  /** The client's CPU by thread (Linux): where crier's goes beyond the blaster's. */
  threads?: ThreadCpu
}

export interface ThreadCpu {
  /** The JavaScript thread that sends. */
  main: number
  /** Threads started during the run (or the runs before it, with `ownThreads`): crier's queue thread. */
  started: number
  /** The rest: V8's garbage collector and compiler threads, libuv's pool. */
  helpers: number
}

/**
 * Starts counting this process's and the server's CPU; the function returned gives µs per item.
 * `ownThreads`, kept from run to run by a dispatcher that outlives one run (a worker's), holds
 * the threads its runs started: its queue thread is counted as started in every run, not only
 * the first.
 */
export function measureCpu(server: ChildServer, ownThreads = new Set<number>()): (items: number) => SideCpu {
  const client = process.cpuUsage()
  const serverMs = server.cpuMs()
  const threadsBefore = threadCpuMs()
  return (items) => {
    // Read first, while a queue thread is still running (it is closed after this).
    const threadsNow = threadCpuMs()
    const {user, system} = process.cpuUsage(client)
    const serverNow = server.cpuMs()
    if (threadsBefore && threadsNow) for (const tid of threadsNow.keys()) if (!threadsBefore.has(tid)) ownThreads.add(tid)
    return {
      client: (user + system) / items,
      ...(serverMs !== undefined && serverNow !== undefined && {server: ((serverNow - serverMs) * 1000) / items}),
      ...(threadsBefore && threadsNow && {threads: threadShares(threadsBefore, threadsNow, ownThreads, items)}),
    }
  }
}

function threadShares(before: Map<number, number>, now: Map<number, number>, own: Set<number>, items: number): ThreadCpu {
  const shares = {main: 0, started: 0, helpers: 0}
  for (const [tid, ms] of now) {
    const was = before.get(tid)
    if (tid === process.pid) shares.main += ms - (was ?? 0)
    else if (own.has(tid)) shares.started += ms - (was ?? 0)
    else shares.helpers += ms - (was ?? 0)
  }
  return {main: (shares.main * 1000) / items, started: (shares.started * 1000) / items, helpers: (shares.helpers * 1000) / items}
}

/** utime + stime of each of this process's threads, by thread id (Linux), as ms. */
function threadCpuMs(): Map<number, number> | undefined {
  if (process.platform !== 'linux') return undefined
  const threads = new Map<number, number>()
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const ms = statCpuMs(`/proc/self/task/${tid}/stat`)
      if (ms !== undefined) threads.set(Number(tid), ms)
    }
  } catch {
    return undefined
  }
  return threads
}

/** utime + stime of a process from /proc, as ms. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || process.platform !== 'linux') return undefined
  return statCpuMs(`/proc/${pid}/stat`)
}

/** utime + stime from a /proc stat file (in USER_HZ, 100 per second on Linux), as ms. */
function statCpuMs(file: string): number | undefined {
  try {
    // Fields after the command name, which sits in parentheses and may hold spaces.
    const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/**
 * The child's side of the protocol for an HTTP fake: keep-alive longer than any client's, the
 * count / reset / close messages, and listening on loopback. The fake adds to the counts it
 * returns as it answers.
 */
export function serveAsChild(server: Server): ServerCounts {
  const counts: ServerCounts = {count: 0, bytes: 0, refused: 0}
  // Clients keep connections alive between runs; never be the side that drops them first.
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 125_000
  const send = (message: ChildServerMessage) => process.send?.(message)
  process.on('message', (message: {type: string}) => {
    if (message.type === 'count') send({type: 'count', ...counts})
    else if (message.type === 'reset') {
      Object.assign(counts, {count: 0, bytes: 0, refused: 0})
      send({type: 'reset', ...counts})
    } else if (message.type === 'close') {
      server.closeAllConnections()
      server.close(() => process.exit(0))
    }
  })
  process.on('disconnect', () => process.exit(0))
  server.listen(0, '127.0.0.1', () => send({type: 'listening', port: (server.address() as AddressInfo).port}))
  return counts
}
