import {parentPort, workerData} from 'node:worker_threads'
import {openStore, type Store, type StoreOptions} from '../store/index.js'
import {claimForChannels, writeResults} from './queue-writes.js'
import type {QueueReply, QueueRequest} from './queue-writer.js'

// The queue thread: its own connection to the dispatcher's database, doing the dispatcher's
// claims and group commits (queue-writes.ts) in the order they were asked for, so that their
// SQL and fsyncs run beside the sends instead of between them.

const {path, options} = workerData as {path: string; options: StoreOptions}
const port = parentPort!
let store: Store | undefined
try {
  store = openStore(path, options)
  port.postMessage({ready: true} satisfies QueueReply)
} catch (error) {
  port.postMessage({failed: (error as Error).message} satisfies QueueReply)
  port.close()
}

port.on('message', (request: QueueRequest) => {
  if (!store) return
  if (request.op === 'close') {
    store.close()
    store = undefined
    port.close()
    return
  }
  try {
    const value = request.op === 'claim' ? claimForChannels(store, request.owner, request.now, request.requests, request.pending) : writeResults(store, request.pending, request.now)
    port.postMessage({id: request.id, value} satisfies QueueReply)
  } catch (error) {
    const {message, code} = error as {message?: string; code?: string}
    port.postMessage({id: request.id, error: {message: message ?? String(error), code}} satisfies QueueReply)
  }
})
