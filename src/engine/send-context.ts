import type {ChannelConfig, PostedPart, Recipient, SendContext} from '../channels/driver.js'
import type {HttpClient} from '../channels/http.js'
import type {Announcement} from '../core/announcement.js'
import type {Store} from '../store/index.js'
import {publishedCollection} from './published-collection.js'

export interface DeliveryContextOptions {
  store: Store
  channel: ChannelConfig<Record<string, unknown>>
  deliveryId: string
  announcement: Announcement
  signal: AbortSignal
  http: HttpClient
  now: () => number
  recipient?: Recipient
}

/**
 * What a driver's send and reconcile get for one delivery. What costs a query — the channel's
 * published collection (the feed), the thread parts earlier attempts posted — is read only when
 * a driver asks, through getters on the class: one object per send, no per-send property
 * definitions (bench: those cost ~6 µs a send).
 */
export class DeliveryContext implements SendContext<Record<string, unknown>> {
  readonly channel: ChannelConfig<Record<string, unknown>>
  readonly deliveryId: string
  /** Stable across retries: the delivery id. */
  readonly idempotencyKey: string
  readonly announcement: Announcement
  readonly signal: AbortSignal
  readonly http: HttpClient
  readonly now: () => number
  readonly recipient?: Recipient
  readonly #store: Store

  constructor(options: DeliveryContextOptions) {
    this.#store = options.store
    this.channel = options.channel
    this.deliveryId = options.deliveryId
    this.idempotencyKey = options.deliveryId
    this.announcement = options.announcement
    this.signal = options.signal
    this.http = options.http
    this.now = options.now
    this.recipient = options.recipient
  }

  /** Current announcements on this channel, this one included: what a feed publishes (published-collection.ts). */
  get collection(): Announcement[] {
    return publishedCollection(this.#store, this.channel.name, this.now(), this.announcement)
  }

  /** The parts of a thread earlier attempts posted, in order. */
  get postedParts(): PostedPart[] {
    return this.#store.deliveries.postedParts(this.deliveryId)
  }

  /** For an Update or Cancel: the original's first and last posts on this channel, when it was sent there. */
  get followUpOf(): {root: PostedPart; parent: PostedPart} | undefined {
    const original = this.announcement.references
    if (!original || this.recipient) return undefined
    const store = this.#store
    const sent = store.deliveries.broadcastDeliveries(original).find((delivery) => delivery.channel === this.channel.name && delivery.state === 'sent')
    if (!sent) return undefined
    const parts = store.deliveries.postedParts(sent.id)
    if (parts.length > 0) return {root: parts[0]!, parent: parts.at(-1)!}
    if (!sent.receiptId) return undefined
    const only: PostedPart = {index: 0, providerId: sent.receiptId, ...(sent.receiptUrl && {url: sent.receiptUrl})}
    return {root: only, parent: only}
  }

  /** Commits a posted part at once, so a crash or failure after part 2 resumes at part 3. */
  recordPart(part: PostedPart): void {
    this.#store.transaction(() => this.#store.deliveries.recordPart(this.deliveryId, part, this.now()))
  }
}
