import {setTimeout as sleep} from 'node:timers/promises'
import type {Config} from '../config/load.js'
import {CrierCommand, lockWaitMs} from '../cli/base-command.js'
import {watchConfigReloads} from '../cli/config-watch.js'
import {stopSignals} from '../cli/stop-signals.js'
import type {CoreContext} from '../core/context.js'
import {oneLine} from '../core/terminal-text.js'
import {deliveryLog} from '../cli/delivery-log.js'
import {deliverQueued} from '../engine/deliver.js'
import {isBusy} from '../store/sqlite-errors.js'
import {FeedRefresher} from '../engine/feed-refresh.js'
import {fireDueSchedules, type SchedulerEvent} from '../engine/scheduler.js'
import type {ChannelStop, DispatchEvent} from '../engine/dispatcher.js'

export default class Worker extends CrierCommand {
  static override description = 'Run continuously: fire schedules on time and deliver as work arrives; SIGTERM/SIGINT drain and exit 0; an edited config.yaml, or SIGHUP, is reloaded without a restart.'
  static override allocatesInBulk = true
  static override examples = ['<%= config.bin %> worker', '<%= config.bin %> worker --json   # JSON lines, one per event']

  async run() {
    await this.parse(Worker)
    // A channel with wrong settings is left out, not allowed to hold back the others.
    const ctx = await this.context({brokenChannelsAside: true, missingSecretsAside: false, busyTimeoutMs: lockWaitMs})
    const json = this.jsonEnabled()
    // One line per event on stdout: plain, or a JSON document per line with --json.
    const log = (event: Record<string, unknown>, text: string) => process.stdout.write(json ? JSON.stringify({at: new Date().toISOString(), ...event}) + '\n' : `${new Date().toISOString()} ${text}\n`)
    const onSchedule = (event: SchedulerEvent) =>
      log({event: `occurrence-${event.kind}`, ...event, dueAt: new Date(event.dueAt).toISOString()}, `${event.kind} ${event.templateId} due ${new Date(event.dueAt).toISOString()}${event.announcementId ? ` → ${event.announcementId}` : ''}${event.reason ? `: ${oneLine(event.reason, 200)}` : ''}`)
    const deliveries = deliveryLog(log)
    // A provider's pause (429), said once per pause: the journal must not look healthy while a
    // channel is held (crier run says it at its end; a worker has no end).
    const toldPauses = new Map<string, number>()
    const onPause = (channel: string) => {
      const pause = current.store.deliveries.channelPauses(Date.now()).find((row) => row.channel === channel)
      if (!pause || toldPauses.get(channel) === pause.pausedUntil) return
      toldPauses.set(channel, pause.pausedUntil)
      const until = new Date(pause.pausedUntil).toISOString()
      log({event: 'channel-paused', channel, until, reason: pause.reason}, `${channel} is paused by its provider until ${until} (${oneLine(pause.reason, 200)}); its deliveries wait and go then`)
    }
    const onDelivery = (event: DispatchEvent) => {
      if (event.outcome === 'rate-limited') onPause(event.channel)
      if (event.nextState === 'failed' || event.nextState === 'queued') return
      deliveries.add(event)
    }
    const onChannelStopped = ({channel, reason, until}: ChannelStop) => {
      const when = until === Infinity ? undefined : new Date(until).toISOString()
      log({event: 'channel-stopped', channel, reason, until: when ?? null}, `${channel} cannot send${when ? `, stopped until ${when}` : ''} (its deliveries stay queued): ${oneLine(reason, 300)}`)
    }
    // SIGHUP reloads the config (below), not a stop.
    const signals = stopSignals((signal) => log({event: 'stopping', signal}, `stopping (${signal}): finishing sends in flight, leaving the rest queued`), {hangUp: false})
    log({event: 'started', pid: process.pid}, `worker started (pid ${process.pid})`)
    const leftOut = (config: Config) => {
      for (const [channel, problem] of Object.entries(config.brokenChannels ?? {})) {
        log({event: 'channel-left-out', channel, problem}, `${channel} is left out until its settings are fixed (an edit to the config is picked up; a changed environment variable needs a restart): ${oneLine(problem, 300)}`)
      }
    }
    leftOut(ctx.config)

    // An edited config (or SIGHUP) is loaded beside the running dispatcher; one that may replace
    // it does so: the dispatcher stops claiming, finishes what is in flight, and a new one starts
    // with the new settings. One that may not changes nothing (config-watch.ts says which).
    let current = ctx
    let next: CoreContext | undefined
    let restart = new AbortController()
    // A feed one of whose entries expired is written again (feed-refresh.ts), with the config in force.
    const feeds = new FeedRefresher(() => current, (channel, line) => log({event: 'feed-not-refreshed', channel, problem: line}, line))
    const stopReloads = watchConfigReloads({
      file: this.crierPaths().configFile,
      inForce: () => (next ?? current).config,
      load: () => this.loadConfigAgain({brokenChannelsAside: true}),
      onRefused: (problem) => log({event: 'config-invalid', problem}, `the config does not load, so the one in force stays: ${oneLine(problem, 300)}`),
      onReload: async (config, trigger) => {
        await this.configInForce(config)
        next = {...current, config}
        log({event: 'config-reloaded', source: config.source, trigger}, `config reloaded (${trigger === 'file' ? 'the file changed' : 'SIGHUP'}): finishing sends in flight, then going on with it`)
        leftOut(config)
        restart.abort()
      },
    })
    try {
      while (!signals.stop.aborted) {
        const ctxNow = current
        try {
          await deliverQueued(
            ctxNow,
            {stop: AbortSignal.any([signals.stop, restart.signal]), abort: signals.abort, keepRunning: true, tick: () => {
              fireDueSchedules(ctxNow, onSchedule)
              feeds.tick()
            }, nextWake: () => ctxNow.store.schedules.nextDueAt()},
            onDelivery,
            onChannelStopped,
          )
        } catch (error) {
          // Locked past the wait (a very long import): a service goes on once it is free.
          if (!isBusy(error)) throw error
          log({event: 'database-busy'}, `the database stayed locked by another crier for ${lockWaitMs / 1000} s; trying again in 5 s`)
          await sleep(5000, undefined, {signal: signals.stop}).catch(() => {})
        }
        if (next) {
          current = next
          next = undefined
        }
        restart = new AbortController()
      }
    } finally {
      await feeds.settle()
      deliveries.close()
      await stopReloads()
      signals.dispose()
    }
    log({event: 'stopped'}, 'worker stopped')
    // A drained stop is a clean exit for a service manager; a second signal aborted sends in
    // flight (they may end unknown), which is not: 128 + the signal, as crier run exits.
    process.exitCode = signals.abort.aborted ? (signals.exitCode() ?? 1) : 0
    return undefined
  }
}

