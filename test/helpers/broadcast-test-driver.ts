import {z} from 'zod'
import type {SendContext} from '../../src/channels/driver.js'
import {driverFor, registerDriver} from '../../src/channels/registry.js'

/**
 * Registers (once per process) a broadcast driver for engine tests: it posts the first
 * variant's description, runs `send` for each delivery and answers `sent-<delivery id>`.
 */
export function registerBroadcastTestDriver(type: string, options: {idempotent?: boolean; send?: (context: SendContext<unknown>) => Promise<void> | void} = {}): void {
  if (driverFor(type)) return
  registerDriver({
    type,
    kind: 'broadcast',
    config: z.object({}),
    capabilities: {counts: 'characters', threads: false, media: false, idempotent: options.idempotent ?? false, reconcile: false},
    render: (announcement) => ({parts: [{label: 'text', text: announcement.variants[0]!.description}], payload: null}),
    send: async (_payload, context) => {
      await options.send?.(context as SendContext<unknown>)
      return {providerId: `sent-${context.deliveryId}`}
    },
    check: async () => ({ok: true, detail: type}),
  })
}
