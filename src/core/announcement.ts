// The Announcement of DESIGN.md, shaped after OASIS CAP 1.2. Enumerations are CAP's own
// (shared/schemas/CAP-v1.2.xsd); crier adds the lifecycle state and the channels it goes to.

export const capStatuses = ['Actual', 'Exercise', 'System', 'Test', 'Draft'] as const
export const msgTypes = ['Alert', 'Update', 'Cancel', 'Ack', 'Error'] as const
export const scopes = ['Public', 'Restricted', 'Private'] as const
export const categories = ['Geo', 'Met', 'Safety', 'Security', 'Rescue', 'Fire', 'Health', 'Env', 'Transport', 'Infra', 'CBRNE', 'Other'] as const
export const urgencies = ['Immediate', 'Expected', 'Future', 'Past', 'Unknown'] as const
export const severities = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'] as const
export const certainties = ['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown'] as const

export type CapStatus = (typeof capStatuses)[number]
export type MsgType = (typeof msgTypes)[number]
export type Scope = (typeof scopes)[number]
export type Category = (typeof categories)[number]
export type Urgency = (typeof urgencies)[number]
export type Severity = (typeof severities)[number]
export type Certainty = (typeof certainties)[number]

export const lifecycleStates = [
  'draft',
  'pending_approval',
  'approved',
  'scheduled',
  'sending',
  'sent',
  'sent_with_failures',
  'cancelled',
  'expired',
] as const
export type LifecycleState = (typeof lifecycleStates)[number]

/** One language of an announcement: what a bilingual force writes twice. */
export interface Variant {
  language: string
  headline: string
  /** CAP `description`: the body text. */
  description: string
  instruction?: string
}

export interface Circle {
  lat: number
  lon: number
  radiusKm: number
}

/** CAP `area`: a description and, optionally, shapes and named zones (geocodes). */
export interface Area {
  description: string
  polygons: Array<Array<[number, number]>>
  circles: Circle[]
  geocodes: Array<{name: string; value: string}>
}

export interface Announcement {
  id: string
  /** CAP identifier: unique per sender, never reused. */
  identifier: string
  sender: string
  senderName?: string
  status: CapStatus
  msgType: MsgType
  scope: Scope
  /** Id of the announcement this one updates or cancels. */
  references?: string
  category: Category
  event: string
  urgency: Urgency
  severity: Severity
  certainty: Certainty
  web?: string
  area?: Area
  variants: Variant[]
  channels: string[]
  effectiveAt?: number
  expiresAt?: number
  state: LifecycleState
  author: string
  rejectReason?: string
  createdAt: number
  updatedAt: number
  sentAt?: number
  /** When its broadcast began: CAP's <sent>, and the feed's order (the draft's time until then). */
  issuedAt?: number
  /**
   * How its CAP times wrote UTC when it was published, where that was not CAP 1.2's "-00:00":
   * crier wrote "+00:00" before it followed §3.3.2. A reference to it quotes its <sent> as sent.
   */
  utcWrittenAs?: string
  /** Present when it was sent by emergency override. */
  override?: Override
  /** Each channel's type when it was queued (its deliveries were made for that type). */
  channelTypes?: Record<string, string>
}

/** An emergency override: sent without its remaining approvals, flagged until another officer reviews it. */
export interface Override {
  by: string
  reason: string
  at: number
  /** contentHash of the text that went out under the override. */
  contentHash: string
  reviewedBy?: string
  reviewedAt?: number
  reviewNote?: string
}

/** The first variant is the announcement's primary language. */
export function primaryVariant(announcement: Pick<Announcement, 'variants'>): Variant {
  const variant = announcement.variants[0]
  if (!variant) throw new Error('announcement has no language variant')
  return variant
}

/**
 * Which variant is in `language`, or -1: the same tag in any case (cy-gb is cy-GB), else one
 * that is the same language said more or less precisely (en-GB and en, the default tag when no
 * languages are configured).
 */
export function variantIndexFor(variants: readonly Variant[], language: string): number {
  const exact = variants.findIndex((variant) => variant.language.toLowerCase() === language.toLowerCase())
  return exact >= 0 ? exact : variants.findIndex((variant) => narrows(language, variant.language) || narrows(variant.language, language))
}

/**
 * The text a subscriber whose language is `language` reads: the variant variantIndexFor finds
 * (any case, cy for cy-GB and back), else one in the same language however tagged (cy-Latn-GB
 * reads cy-GB), else the first. Tags come from CSV files written by hand: a Welsh speaker tagged
 * CY-gb must not get the English.
 */
export function readerVariant(variants: readonly Variant[], language: string | null | undefined): Variant {
  if (!language) return variants[0]!
  let index = variantIndexFor(variants, language)
  if (index < 0) {
    const primary = language.split('-')[0]!.toLowerCase()
    index = variants.findIndex((variant) => variant.language.split('-')[0]!.toLowerCase() === primary)
  }
  return variants[index] ?? variants[0]!
}

/** Whether `tag` is `broader` with more subtags: en-GB narrows en; cy-GB does not narrow en. */
export function narrows(tag: string, broader: string): boolean {
  return tag.toLowerCase().startsWith(`${broader.toLowerCase()}-`)
}

/**
 * `id` and every earlier message it follows up, newest first, read through `get`: an Update of
 * an Update of an Alert is a thread of three, withdrawn together by one Cancel.
 */
export function followUpThread(id: string, get: (id: string) => Pick<Announcement, 'references'> | undefined): string[] {
  const thread = [id]
  for (let earlier = get(id)?.references; earlier && !thread.includes(earlier); earlier = get(earlier)?.references) thread.push(earlier)
  return thread
}
