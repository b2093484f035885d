import type {Config} from '../src/config/load.js'
import {Dispatcher, type RunSummary} from '../src/engine/dispatcher.js'
import type {Store} from '../src/store/index.js'
import {measureCpu, type ChildServer, type SideCpu} from './child-server.js'
import {collectGarbage} from './stats.js'

// crier's side of the webhook and SMS figures: one dispatcher on one store, timed over each run
// until idle. Run once, it is a `crier run`; again and again, a worker, whose queue thread, once
// started, serves every announcement after (its start-up counted in the first run only).

export interface TimedRun {
  ms: number
  cpu: SideCpu
  summary: RunSummary
  queueThread: boolean
}

export interface KeptDispatcher {
  /** Resets the server, collects garbage, then times Dispatcher.run() over what is queued: `items` sends. */
  run(items: number): Promise<TimedRun>
  close(): Promise<void>
}

export function keptDispatcher(store: Store, config: Config, server: ChildServer): KeptDispatcher {
  let dispatcher: Dispatcher | undefined
  const ownThreads = new Set<number>()
  return {
    async run(items) {
      await server.reset()
      collectGarbage()
      // Made after the collection (made before it, the cold runs measured 15–20% slower).
      dispatcher ??= new Dispatcher({store, config})
      const measure = measureCpu(server, ownThreads)
      const started = performance.now()
      const summary = await dispatcher.run()
      const ms = performance.now() - started
      return {ms, cpu: measure(items), summary, queueThread: dispatcher.queueRunsOn === 'queue thread'}
    },
    async close() {
      await dispatcher?.close()
    },
  }
}
