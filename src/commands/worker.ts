import type {Config} from '../config/load.js'
import {redact} from '../config/secrets.js'
import {CrierCommand} from '../cli/base-command.js'
import {watchConfig} from '../cli/config-watch.js'
import {stopSignals} from '../cli/stop-signals.js'
import type {CoreContext} from '../core/context.js'
import {oneLine} from '../core/terminal-text.js'
import {deliverQueued} from '../engine/deliver.js'
import {fireDueSchedules, type SchedulerEvent} from '../engine/scheduler.js'
import type {DispatchEvent} from '../engine/dispatcher.js'

export default class Worker extends CrierCommand {
  static override description = 'Run continuously: fire schedules on time and deliver as work arrives; SIGTERM/SIGINT drain and exit 0.'
  static override examples = ['<%= config.bin %> worker', '<%= config.bin %> worker --json   # JSON lines, one per event']

  async run() {
    await this.parse(Worker)
    // A channel with wrong settings is left out, not allowed to hold back the others.
    const ctx = await this.context({brokenChannelsAside: true})
    const json = this.jsonEnabled()
    // One line per event on stdout: plain, or a JSON document per line with --json.
    const log = (event: Record<string, unknown>, text: string) => process.stdout.write(json ? JSON.stringify({at: new Date().toISOString(), ...event}) + '\n' : `${new Date().toISOString()} ${text}\n`)
    const onSchedule = (event: SchedulerEvent) =>
      log({event: `occurrence-${event.kind}`, ...event, dueAt: new Date(event.dueAt).toISOString()}, `${event.kind} ${event.templateId} due ${new Date(event.dueAt).toISOString()}${event.announcementId ? ` → ${event.announcementId}` : ''}${event.reason ? `: ${oneLine(event.reason, 200)}` : ''}`)
    const onDelivery = (event: DispatchEvent) => {
      if (event.nextState === 'failed' || event.nextState === 'queued') return
      log({event: `delivery-${event.nextState}`, channel: event.channel, delivery: event.deliveryId, error: event.error}, `${event.channel} ${event.deliveryId} ${event.nextState}${event.error ? `: ${oneLine(event.error, 200)}` : ''}`)
    }
    const signals = stopSignals((signal) => log({event: 'stopping', signal}, `stopping (${signal}): finishing sends in flight, leaving the rest queued`))
    log({event: 'started', pid: process.pid}, `worker started (pid ${process.pid})`)
    const leftOut = (config: Config) => {
      for (const [channel, problem] of Object.entries(config.brokenChannels ?? {})) {
        log({event: 'channel-left-out', channel, problem}, `${channel} is left out until its settings are fixed (an edit to the config is picked up; a changed environment variable needs a restart): ${oneLine(problem, 300)}`)
      }
    }
    leftOut(ctx.config)

    // An edited config (or SIGHUP) is loaded beside the running dispatcher; only a config that
    // loads and differs replaces it: the dispatcher stops claiming, finishes what is in flight,
    // and a new one starts with the new settings. A config that does not load changes nothing.
    let current = ctx
    let next: CoreContext | undefined
    let restart = new AbortController()
    let reloading = Promise.resolve()
    const stopWatching = watchConfig(this.crierPaths().configFile, (why) => {
      reloading = reloading.then(async () => {
        let config: Config
        try {
          config = await this.reloadConfig({brokenChannelsAside: true})
        } catch (error) {
          const problem = redact(error instanceof Error ? error.message : String(error))
          log({event: 'config-invalid', problem}, `the config does not load, so the one in force stays: ${oneLine(problem, 300)}`)
          return
        }
        if (why === 'file' && JSON.stringify(config) === JSON.stringify((next ?? current).config)) return
        next = {...current, config}
        log({event: 'config-reloaded', source: config.source, trigger: why}, `config reloaded (${why === 'file' ? 'the file changed' : 'SIGHUP'}): finishing sends in flight, then going on with it`)
        leftOut(config)
        restart.abort()
      })
    })
    try {
      while (!signals.stop.aborted) {
        const ctxNow = current
        await deliverQueued(
          ctxNow,
          {stop: AbortSignal.any([signals.stop, restart.signal]), abort: signals.abort, keepRunning: true, tick: () => void fireDueSchedules(ctxNow, onSchedule), nextWake: () => ctxNow.store.schedules.nextDueAt()},
          onDelivery,
          ({channel, reason, until}) => {
            const when = until === Infinity ? undefined : new Date(until).toISOString()
            log({event: 'channel-stopped', channel, reason, until: when ?? null}, `${channel} cannot send${when ? `, stopped until ${when}` : ''} (its deliveries stay queued): ${oneLine(reason, 300)}`)
          },
        )
        if (next) {
          current = next
          next = undefined
        }
        restart = new AbortController()
      }
    } finally {
      stopWatching()
      await reloading
      signals.dispose()
    }
    log({event: 'stopped'}, 'worker stopped')
    // A drained stop is a clean exit for a service manager.
    process.exitCode = 0
    return undefined
  }
}

