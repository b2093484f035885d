import {driverFor} from '../channels/registry.js'
import type {CoreContext} from '../core/context.js'
import {oneLine} from '../core/terminal-text.js'
import {publishedCollection} from './published-collection.js'

// A feed lists what is current; an entry that expires must leave it then, not when the next
// announcement happens to be sent on the channel (a reader has no other way to know that the
// road has reopened). `crier run` and the worker look, on each pass, for a feed channel one of
// whose announcements expired since it was last brought up to date, and write it again.

/** After a failed rewrite (a folder not writable), how long before the next try: a worker passes every second. */
const retryAfterFailureMs = 60_000

export class FeedRefresher {
  private running: Promise<void> | undefined
  private readonly failedUntil = new Map<string, number>()

  constructor(
    private readonly ctx: () => CoreContext,
    /** One line per problem (a feed that could not be written), for stderr or the worker's log. */
    private readonly onProblem: (channel: string, line: string) => void,
  ) {}

  /** Starts a pass unless one is going on (the dispatcher's tick is synchronous). */
  tick(): void {
    this.running ??= this.pass().finally(() => (this.running = undefined))
  }

  /** The pass going on, if any, to its end (a worker stopping). */
  async settle(): Promise<void> {
    await this.running
  }

  /** A pass to its end, after the one going on: a run's last word before it exits. */
  async finish(): Promise<void> {
    await this.running
    await this.pass()
  }

  private async pass(): Promise<void> {
    const ctx = this.ctx()
    for (const [name, channel] of Object.entries(ctx.config.channels)) {
      const driver = driverFor(channel.type)
      if (!driver?.republish) continue
      const now = ctx.now()
      if ((this.failedUntil.get(name) ?? 0) > now) continue
      const since = ctx.store.deliveries.feedCheckedUntil(name)
      if (!ctx.store.deliveries.expiredOnChannelSince(name, since, now)) continue
      try {
        await driver.republish(channel, () => publishedCollection(ctx.store, name, ctx.now()), now, ctx.config)
        ctx.store.transaction(() => ctx.store.deliveries.setFeedCheckedUntil(name, now))
        this.failedUntil.delete(name)
      } catch (error) {
        this.failedUntil.set(name, now + retryAfterFailureMs)
        this.onProblem(name, `${name}: an entry expired, but the feed could not be written again: ${oneLine(error instanceof Error ? error.message : String(error), 300)}`)
      }
    }
  }
}
