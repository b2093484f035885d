import type {z} from 'zod'
import type {Announcement, Variant} from '../core/announcement.js'
import type {ChannelCommon} from '../config/schema.js'
import type {HttpClient} from './http.js'

// The driver contract of DESIGN.md "Channel drivers". A driver is one object per file; it
// never opens the database, never reads the environment, and gets everything external
// through the contexts below.

/**
 * `broadcast` drivers post once per announcement; `per-recipient` drivers (email, SMS) send to
 * each subscriber of the channel's `audience` (a subscriber list; their config schema must have
 * `audience: z.string()`), and declare which contact they need.
 */
export type DriverKind = 'broadcast' | 'per-recipient'

/** How a driver's limit is counted, so preview can say "212/280 (weighted)". */
export type LengthUnit = 'characters' | 'graphemes' | 'x-weighted' | 'sms-segments' | 'bytes'

export interface Capabilities {
  maxLength?: number
  counts: LengthUnit
  threads: boolean
  media: boolean
  /** Sending twice with the same idempotency key cannot publish twice. */
  idempotent: boolean
  /** How long the provider remembers an idempotency key, where it forgets (Mastodon: 1 h). */
  idempotencyWindowMs?: number
  /** The driver can look up whether an in-doubt send actually went out. */
  reconcile: boolean
  /** Per-recipient drivers: the contact a subscriber needs to be sent to. */
  contact?: 'email' | 'phone'
}

/** A configured channel: its name, the engine settings and the driver's own settings. */
export type ChannelConfig<Settings = Record<string, unknown>> = ChannelCommon & Settings & {name: string}

/** One subscriber, as a per-recipient driver sees them (never the whole audience). */
export interface Recipient {
  /** The subscriber's id in the store, as text. */
  id: string
  name?: string
  /** Lower-cased, syntax-checked. */
  email?: string
  /** E.164, e.g. +447700900123. */
  phone?: string
  /** Preferred language (BCP 47), when known. */
  language?: string
}

export interface RenderContext<Settings> {
  channel: ChannelConfig<Settings>
  /** Public address of the announcement's CAP document, where a feed channel publishes one. */
  capUrl?: string
  recipient?: Recipient
  /** The announcement an Update or Cancel refers to, for CAP <references>. */
  referenced?: Announcement
  /** The messages `referenced` follows up in turn, nearest first: <references> names them too. */
  earlier?: Announcement[]
  /** The configured time zone: times people read (an e-mail's expiry) are in it. Default UTC. */
  timeZone?: string
}

/** One piece of what will be published, as preview shows it. */
export interface RenderedPart {
  label: string
  text: string
  length?: {count: number; limit: number; unit: LengthUnit}
}

/** render() output: what preview prints and, unchanged, what send() receives. */
export interface Rendered<Payload = unknown> {
  parts: RenderedPart[]
  payload: Payload
}

/**
 * One post of a thread that went out. The engine keeps these across attempts (and processes),
 * so a thread whose third post failed is resumed from the third post, never reposted.
 */
export interface PostedPart {
  /** 0-based position in the thread. */
  index: number
  providerId: string
  url?: string
  /** What a reply needs beyond the id, where the platform wants more (Bluesky: the record's cid). */
  ref?: string
}

export interface SendContext<Settings> {
  channel: ChannelConfig<Settings>
  deliveryId: string
  /** Stable across retries of one delivery: the provider's Idempotency-Key where it has one. */
  idempotencyKey: string
  announcement: Announcement
  signal: AbortSignal
  http: HttpClient
  now: () => number
  /** For drivers that publish a collection (the feed): current announcements on this channel, read afresh each time. */
  collection?: Announcement[]
  recipient?: Recipient
  /** Thread drivers: the parts earlier attempts already posted, in order. Empty on a first try. */
  postedParts: PostedPart[]
  /** Thread drivers: records a posted part durably before the next one is sent. */
  recordPart(part: PostedPart): void
  /**
   * Thread drivers, for an Update or Cancel: the original's first and last posts on this
   * channel. The follow-up replies to the last, in the original's thread (root: the first).
   */
  followUpOf?: {root: PostedPart; parent: PostedPart}
  /**
   * Drivers that find a lost post by its text (X): whether another delivery already recorded
   * this post as its own — an identical post of another announcement, never this one's.
   */
  postedElsewhere?(providerId: string): boolean
}

export interface Receipt {
  providerId?: string
  url?: string
}

export interface CheckResult {
  ok: boolean
  detail: string
  /**
   * Facts about the account or instance that render needs and may not guess (Mastodon's
   * `max_characters`). `channels test` keeps them in CRIER_HOME, and config load gives them
   * back to the channel as settings (an explicit setting in config.yaml wins).
   */
  learned?: Record<string, string | number | boolean>
}

export interface Driver<Settings = Record<string, unknown>, Payload = unknown> {
  type: string
  kind: DriverKind
  /** The driver's own settings; validated when config loads, never in send. */
  config: z.ZodObject
  /** Settings that are file paths, resolved against the config file's folder at load. */
  pathSettings?: string[]
  capabilities: Capabilities
  /** Pure: no I/O. Used by preview and by send, so what the officer previews is what goes out. */
  render(announcement: Announcement, variant: Variant, context: RenderContext<Settings>): Rendered<Payload>
  /**
   * Returns a receipt, or throws TransientSendError / RateLimitedError / PermanentSendError.
   * Must give up within the channel's `timeout` (a timeout is transient) and honour `signal`.
   */
  send(payload: Payload, context: SendContext<Settings>): Promise<Receipt>
  /** For `channels test`: credentials and reachability, without posting. */
  check(channel: ChannelConfig<Settings>, context: {http: HttpClient; signal: AbortSignal}): Promise<CheckResult>
  reconcile?(deliveryId: string, context: SendContext<Settings>): Promise<Receipt | undefined>
  /**
   * For drivers that publish a collection (the feed): writes it again, nothing new in it — one
   * of its entries has expired. `collection` reads what is current; `publisher` names the
   * feed when the channel has no title (as the announcements' sender does); throws as send does.
   */
  republish?(channel: ChannelConfig<Settings>, collection: () => Announcement[], now: number, publisher: {sender: string; senderName?: string}): Promise<void>
  /**
   * Loads what its sends need (a library that commands which never send do not load), so that
   * a send the engine has recorded as started goes out at once rather than after the import.
   */
  load?(): Promise<void>
  /** Releases what sends kept open (an SMTP pool), so a finished run can exit. */
  close?(): Promise<void>
}
