import type {Announcement, Category, Certainty, Severity, Urgency} from './announcement.js'
import type {CoreContext} from './context.js'
import {UsageError} from './errors.js'
import {defaultEvent, headlineFrom, parseCategory, parseCertainty, parseSeverity, parseUrgency, parseWebLink} from './fields.js'
import {newId} from './ids.js'
import {transition} from './lifecycle.js'
import {areaFrom, hasShapeFlags} from './area-targeting.js'
import type {Area} from './announcement.js'
import {channelConfig} from './render.js'
import {parseExpiry} from './time-input.js'
import {severities} from './announcement.js'

/** What an officer gives `crier draft`, as typed; everything is checked here. */
export interface DraftInput {
  text: string
  headline?: string
  channels: string[]
  severity?: string
  urgency?: string
  certainty?: string
  category?: string
  event?: string
  area?: string
  /** Shapes and zones that target the area (see area-targeting.ts), as typed. */
  circle?: string[]
  polygon?: string[]
  zone?: string[]
  expires?: string
  lang?: string
  instruction?: string
  web?: string
}

/**
 * What a follow-up (CAP Update or Cancel) is drafted from: the announcement it updates or
 * cancels gives every field the officer does not give again.
 */
export interface FollowUpBasis {
  msgType: 'Update' | 'Cancel'
  original: Announcement
}

/** Creates a draft in one write; nothing is written when any field is refused. */
export function createDraft(ctx: CoreContext, input: DraftInput, followUp?: FollowUpBasis): Announcement {
  const {config, now} = ctx
  const at = now()
  const original = followUp?.original
  if (!input.severity && !original) throw new UsageError(`--severity is required — one of ${severities.join(', ')}`)
  const severity: Severity = input.severity ? parseSeverity(input.severity) : original!.severity
  const urgency: Urgency = input.urgency ? parseUrgency(input.urgency) : (original?.urgency ?? 'Unknown')
  const certainty: Certainty = input.certainty ? parseCertainty(input.certainty) : (original?.certainty ?? 'Unknown')
  const category: Category = input.category ? parseCategory(input.category) : (original?.category ?? 'Other')
  const channels = original && input.channels.length === 0 ? original.channels.filter((name) => name in config.channels) : chooseChannels(ctx, input.channels)
  // A follow-up lasts as long as what it follows up, unless told otherwise.
  const expiresAt = input.expires ? parseExpiry(input.expires, at, config.timezone) : original?.expiresAt !== undefined && original.expiresAt > at ? original.expiresAt : undefined
  const web = input.web ? parseWebLink(input.web) : original?.web
  const headline = input.headline?.trim() || headlineFrom(input.text)
  const area = draftArea(input, original?.area)
  const id = newId(at)
  const announcement: Announcement = {
    id,
    identifier: `crier-${id}`,
    // CAP: an Update or Cancel comes from the sender of the message it refers to.
    sender: original?.sender ?? config.sender,
    senderName: original ? original.senderName : config.senderName,
    status: original?.status ?? 'Actual',
    msgType: followUp?.msgType ?? 'Alert',
    scope: original?.scope ?? 'Public',
    ...(original && {references: original.id}),
    category,
    event: input.event?.trim() || original?.event || defaultEvent[category],
    urgency,
    severity,
    certainty,
    web,
    area,
    variants: [
      {
        language: input.lang?.trim() || original?.variants[0]?.language || config.languages[0] || 'en',
        headline,
        description: input.text,
        instruction: input.instruction?.trim() || (followUp?.msgType === 'Update' ? original?.variants[0]?.instruction : undefined) || undefined,
      },
    ],
    channels,
    expiresAt,
    state: 'draft',
    author: ctx.user,
    createdAt: at,
    updatedAt: at,
  }
  ctx.store.announcements.insert(announcement)
  return announcement
}

function chooseChannels(ctx: CoreContext, typed: string[]): string[] {
  const configured = Object.keys(ctx.config.channels)
  if (typed.length === 0) {
    // One channel configured (the embedded default): there is nothing to choose.
    if (configured.length === 1) return configured
    throw new UsageError(`--channel is required — one or more of ${configured.join(', ') || '(none configured)'}`)
  }
  for (const name of typed) channelConfig(ctx.config, name)
  return typed
}

/** Field changes `crier edit` accepts; absent means unchanged. */
export type EditInput = Partial<Omit<DraftInput, 'channels'>> & {channels?: string[]}

export interface EditResult {
  announcement: Announcement
  /** How many approvals the edit withdrew: the approvers approved the old text. */
  withdrawnApprovals: number
}

export function editAnnouncement(ctx: CoreContext, id: string, input: EditInput): EditResult {
  return ctx.store.transaction(() => {
    const current = ctx.store.announcements.get(id)
    if (!current) throw new UsageError(`no announcement with id ${id} — see crier list`)
    const at = ctx.now()
    const state = transition(current.state, 'edit', id.slice(0, 12))
    const variant = {...current.variants[0]!}
    if (input.text !== undefined) variant.description = input.text
    if (input.headline !== undefined) variant.headline = input.headline.trim() || headlineFrom(variant.description)
    if (input.instruction !== undefined) variant.instruction = input.instruction.trim() || undefined
    if (input.lang !== undefined) variant.language = input.lang.trim()
    const category = input.category ? parseCategory(input.category) : current.category
    const next: Announcement = {
      ...current,
      severity: input.severity ? parseSeverity(input.severity) : current.severity,
      urgency: input.urgency ? parseUrgency(input.urgency) : current.urgency,
      certainty: input.certainty ? parseCertainty(input.certainty) : current.certainty,
      category,
      event: input.event?.trim() || current.event,
      web: input.web !== undefined ? parseWebLink(input.web) : current.web,
      area: draftArea(input, current.area),
      expiresAt: input.expires !== undefined ? parseExpiry(input.expires, at, ctx.config.timezone) : current.expiresAt,
      channels: input.channels?.length ? (input.channels.forEach((name) => channelConfig(ctx.config, name)), input.channels) : current.channels,
      variants: [variant, ...current.variants.slice(1)],
      updatedAt: at,
    }
    const withdrawnApprovals = ctx.store.announcements.clearApprovals(id)
    next.state = state
    next.rejectReason = undefined
    ctx.store.announcements.update(next)
    return {announcement: next, withdrawnApprovals}
  })
}

/**
 * The area from --area and the targeting flags, over `basis` (what is being edited or followed
 * up): a new description keeps the shapes; any targeting flag replaces them all.
 */
function draftArea(input: Pick<DraftInput, 'area' | 'circle' | 'polygon' | 'zone'>, basis: Area | undefined): Area | undefined {
  const description = input.area?.trim() || undefined
  if (hasShapeFlags(input)) {
    const described = description ?? basis?.description
    if (!described) throw new UsageError('--circle, --polygon and --zone need --area, the area\'s description — e.g. --area "Llanrwst riverside"')
    return areaFrom(described, input)
  }
  if (input.area === undefined) return basis
  if (!description) return undefined
  return {description, polygons: basis?.polygons ?? [], circles: basis?.circles ?? [], geocodes: basis?.geocodes ?? []}
}
