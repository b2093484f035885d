import type {ChannelConfig, Driver, SendContext} from '../../src/channels/driver.js'
import type {HttpClient} from '../../src/channels/http.js'
import {channelCommonSchema} from '../../src/config/schema.js'
import {makeAnnouncement} from './announcement.js'
import {partsInMemory} from './thread-parts.js'

// What a driver test gives send(): a channel validated as the config loader validates it, and a
// send context as the engine builds one, with thread progress kept in memory.

/** The time every driver test's context reports, unless it passes its own `now`. */
export const fixedNow = Date.parse('2025-03-01T12:00:00Z')

/** The driver's settings plus the common ones, strict, exactly as config load parses a channel. */
export function channelFor<Settings>(driver: Pick<Driver, 'type' | 'config'>, name: string, settings: Record<string, unknown>): ChannelConfig<Settings> {
  const parsed = driver.config.safeExtend(channelCommonSchema.shape).strict().parse({type: driver.type, ...settings})
  return {...parsed, name} as ChannelConfig<Settings>
}

/** Delivery `delivery-1` of a fresh test announcement, on the given client, at fixedNow. */
export function sendContextFor<Settings>(channel: ChannelConfig<Settings>, http: HttpClient, overrides: Partial<SendContext<Settings>> = {}): SendContext<Settings> {
  const deliveryId = overrides.deliveryId ?? 'delivery-1'
  return {
    channel,
    deliveryId,
    idempotencyKey: deliveryId,
    announcement: makeAnnouncement(),
    signal: new AbortController().signal,
    ...partsInMemory(),
    http,
    now: () => fixedNow,
    ...overrides,
  }
}
