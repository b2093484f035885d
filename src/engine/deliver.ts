import type {CoreContext} from '../core/context.js'
import {Dispatcher, type ChannelStop, type DispatchEvent, type RunLimits, type RunSummary} from './dispatcher.js'

/** Runs one dispatcher over the queue with these limits, and closes its connections after. */
export async function deliverQueued(ctx: CoreContext, limits: RunLimits, onEvent?: (event: DispatchEvent) => void, onChannelStopped?: (stop: ChannelStop) => void): Promise<RunSummary> {
  // From here the command is a sender: its waits for the lock are expected, not news.
  ctx.store.waitQuietly()
  const dispatcher = new Dispatcher({store: ctx.store, config: ctx.config, now: ctx.now, onEvent, onChannelStopped})
  try {
    return await dispatcher.run(limits)
  } finally {
    await dispatcher.close()
  }
}
