import {Dispatcher, type DispatcherOptions} from '../../src/engine/dispatcher.js'

// Every dispatcher a test makes is closed after it. One left open may start its queue thread
// after its run has ended, and that thread's connection then creates the database again in a
// folder the test is removing (CI: ENOTEMPTY in removeWorld).

const open: Dispatcher[] = []

export function openDispatcher(options: DispatcherOptions): Dispatcher {
  const dispatcher = new Dispatcher(options)
  open.push(dispatcher)
  return dispatcher
}

/** Closes the dispatchers made since the last call; for an afterEach, before the world is removed. */
export async function closeDispatchers(): Promise<void> {
  await Promise.all(open.splice(0).map((dispatcher) => dispatcher.close()))
}
