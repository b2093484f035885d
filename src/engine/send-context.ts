import type {ChannelConfig, PostedPart, Recipient, SendContext} from '../channels/driver.js'
import type {HttpClient} from '../channels/http.js'
import {followUpThread, type Announcement} from '../core/announcement.js'
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

  /**
   * For an Update or Cancel: the post it replies to — the last of the message it follows up, when
   * that was sent on this channel — and the thread's top. A reply's root is its parent's root
   * (Bluesky hides one whose root differs): the first post of the earliest message in the unbroken
   * run of the thread sent here, not the first of the message followed up, itself perhaps a reply.
   */
  get followUpOf(): {root: PostedPart; parent: PostedPart} | undefined {
    const original = this.announcement.references
    if (!original || this.recipient) return undefined
    const followed = this.#postsOf(original)
    if (!followed) return undefined
    let root = followed.first
    for (const earlier of followUpThread(original, (id) => this.#store.announcements.get(id)).slice(1)) {
      const posts = this.#postsOf(earlier)
      if (!posts) break
      root = posts.first
    }
    return {root, parent: followed.last}
  }

  /**
   * The first and last posts announcement `id` made on this channel: when it was sent here, or
   * when part of its thread was (the rest refused or stopped) — those parts are public.
   */
  #postsOf(id: string): {first: PostedPart; last: PostedPart} | undefined {
    const here = this.#store.deliveries.broadcastDeliveries(id).find((delivery) => delivery.channel === this.channel.name)
    if (!here) return undefined
    const parts = this.#store.deliveries.postedParts(here.id)
    if (parts.length > 0) return {first: parts[0]!, last: parts.at(-1)!}
    if (here.state !== 'sent' || !here.receiptId) return undefined
    const only: PostedPart = {index: 0, providerId: here.receiptId, ...(here.receiptUrl && {url: here.receiptUrl})}
    return {first: only, last: only}
  }

  /** Whether another delivery on this channel recorded the post as its own. */
  postedElsewhere(providerId: string): boolean {
    return this.#store.deliveries.isPartOfAnother(this.deliveryId, this.channel.name, providerId)
  }

  /** Commits a posted part at once, so a crash or failure after part 2 resumes at part 3. */
  recordPart(part: PostedPart): void {
    this.#store.transaction(() => this.#store.deliveries.recordPart(this.deliveryId, part, this.now()))
  }
}
