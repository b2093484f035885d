import {CrierCommand} from '../cli/base-command.js'
import {stopSignals} from '../cli/stop-signals.js'
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
    for (const [channel, problem] of Object.entries(ctx.config.brokenChannels ?? {})) {
      log({event: 'channel-left-out', channel, problem}, `${channel} is left out until its settings are fixed (and the worker restarted): ${oneLine(problem, 300)}`)
    }
    try {
      await deliverQueued(
        ctx,
        {stop: signals.stop, abort: signals.abort, keepRunning: true, tick: () => void fireDueSchedules(ctx, onSchedule), nextWake: () => ctx.store.schedules.nextDueAt()},
        onDelivery,
        ({channel, reason, until}) => {
          const when = until === Infinity ? undefined : new Date(until).toISOString()
          log({event: 'channel-stopped', channel, reason, until: when ?? null}, `${channel} cannot send${when ? `, stopped until ${when}` : ''} (its deliveries stay queued): ${oneLine(reason, 300)}`)
        },
      )
    } finally {
      signals.dispose()
    }
    log({event: 'stopped'}, 'worker stopped')
    // A drained stop is a clean exit for a service manager.
    process.exitCode = 0
    return undefined
  }
}
