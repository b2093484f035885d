import {Worker} from 'node:worker_threads'
import type {Store, StoreOptions} from '../store/index.js'
import {claimForChannels, writeResults, type ChannelClaim, type ClaimRequest, type PendingWrites} from './queue-writes.js'

// Where the dispatcher's claims and group commits run. Inline, on the dispatcher's connection:
// simple, and what a small queue needs. On a queue thread with its own connection: for a big
// queue, so that the SQL and the commit's fsync (~80 µs per delivery here) run on the other
// core while this thread sends. Both run queue-writes.ts, in the order asked; either way a
// claim's rows come back only once its transaction has committed.

export interface QueueWriter {
  claim(owner: string, now: number, requests: ClaimRequest[], pending?: PendingWrites): Promise<ChannelClaim[]>
  write(pending: PendingWrites, now: number): Promise<void>
  close(): Promise<void>
  /** The queue thread has exited: whatever was asked of it since was refused, not done. */
  readonly stopped: boolean
}

export type QueueRequest =
  | {id: number; op: 'claim'; owner: string; now: number; requests: ClaimRequest[]; pending?: PendingWrites}
  | {id: number; op: 'write'; now: number; pending: PendingWrites}
  | {op: 'close'}

export type QueueReply = {ready: true} | {failed: string} | {id: number; value: unknown} | {id: number; error: {message: string; code?: string}}

/** A request waiting for the thread's answer. */
interface Waiter {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

export function inlineQueueWriter(store: Store): QueueWriter {
  return {
    claim: async (owner, now, requests, pending) => claimForChannels(store, owner, now, requests, pending),
    write: async (pending, now) => writeResults(store, pending, now),
    close: async () => {},
    stopped: false,
  }
}

// The thread runs the built file: from dist/src/engine (tsc), dist/src/chunks (bundled) and
// src/engine (tests run from the sources, after npm test's build) alike.
const threadFile = new URL(import.meta.url.includes('/dist/src/') ? '../engine/queue-thread.js' : '../../dist/src/engine/queue-thread.js', import.meta.url)

/**
 * Starts a queue thread on the store's database; resolves once its connection is open, or with
 * undefined when it cannot be started (the dispatcher then carries on inline).
 */
export function startQueueThread(origin: {path: string; options: StoreOptions}): Promise<QueueWriter | undefined> {
  let worker: Worker
  try {
    // What it allocates (messages, rows) dies young: a small young generation keeps the thread
    // to a few MB (crier run to 100,000 SMS recipients: peak RSS 232 → 226 MB; the bench asks ≤ 250 at 1,000,000).
    worker = new Worker(threadFile, {workerData: origin, resourceLimits: {maxYoungGenerationSizeMb: 2}})
  } catch {
    return Promise.resolve(undefined)
  }
  // Only its start, a request in flight or its closing keeps the process alive: a dispatcher
  // nobody closed must not, while an await on the thread with nothing else alive would end the
  // process with that promise unsettled.
  const waiting = new Map<number, Waiter>()
  let nextId = 0
  let exited = false
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  const ask = <T>(request: QueueRequest & {id: number}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error('the queue thread has stopped'))
      if (waiting.size === 0) worker.ref()
      waiting.set(request.id, {resolve: resolve as (value: unknown) => void, reject})
      worker.postMessage(request)
    })
  /** The request `id` is answered: no longer waited for. */
  const answered = (id: number): Waiter | undefined => {
    const waiter = waiting.get(id)
    waiting.delete(id)
    if (waiting.size === 0) worker.unref()
    return waiter
  }
  const writer: QueueWriter = {
    claim: (owner, now, requests, pending) => ask<ChannelClaim[]>({id: nextId++, op: 'claim', owner, now, requests, pending}),
    write: (pending, now) => ask<void>({id: nextId++, op: 'write', now, pending}),
    async close() {
      if (!exited) {
        worker.ref()
        worker.postMessage({op: 'close'} satisfies QueueRequest)
      }
      await exit
    },
    get stopped() {
      return exited
    },
  }
  return new Promise((resolve) => {
    worker.on('message', (reply: QueueReply) => {
      if ('ready' in reply) {
        if (waiting.size === 0) worker.unref()
        return resolve(writer)
      }
      if ('failed' in reply) return resolve(undefined)
      if ('error' in reply) answered(reply.id)?.reject(Object.assign(new Error(reply.error.message), {code: reply.error.code}))
      else answered(reply.id)?.resolve(reply.value)
    })
    worker.once('error', () => resolve(undefined))
    worker.once('exit', () => {
      exited = true
      resolve(undefined)
      for (const id of [...waiting.keys()]) answered(id)?.reject(new Error('the queue thread stopped before answering'))
    })
  })
}
