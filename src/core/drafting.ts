import {unapprovedState} from './approval.js'
import {narrows, variantIndexFor, type Announcement, type CapStatus, type Category, type Certainty, type Severity, type Urgency, type Variant} from './announcement.js'
import {publishableText} from './terminal-text.js'
import type {CoreContext} from './context.js'
import {UsageError} from './errors.js'
import {defaultEvent, headlineFrom, parseCategory, parseCertainty, parseSeverity, parseUrgency, parseWebLink} from './fields.js'
import {newId} from './ids.js'
import {transition} from './lifecycle.js'
import {areaFrom, hasShapeFlags} from './area-targeting.js'
import type {Area} from './announcement.js'
import {channelConfig} from './render.js'
import {parseExpiry} from './time-input.js'
import {contentHash} from './policy/approvals.js'
import {capStatuses, severities} from './announcement.js'
import {shortId} from './ids.js'

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
  /** CAP status: Actual (default), or Exercise / Test for a drill. */
  status?: string
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

/**
 * The text fields of what was typed, made publishable (see publishableText); the rest as given.
 * A headline, an area, an event or a zone is one line (a list row, a CAP element, a subject): a line
 * break typed into one becomes a space.
 */
function publishable<T extends Partial<DraftInput>>(input: T): T {
  const cleaned = {...input}
  for (const field of ['text', 'headline', 'instruction', 'area', 'event'] as const) {
    const value = input[field]
    if (typeof value !== 'string') continue
    // Node reads arguments that are not UTF-8 with U+FFFD where the bytes were: the public would read "Caf�".
    if (value.includes('\ufffd')) throw new UsageError(`${flagOf(field)} holds "\ufffd" where its bytes were not UTF-8 — give the text in UTF-8`)
    const text = publishableText(value)
    // A coloured program's empty output, or pasted zero-width spaces: nothing anyone could read.
    if (field === 'text' && value.trim() !== '' && !hasSomethingToRead(text)) throw new UsageError('the text holds nothing to read once its escape sequences and invisible characters are dropped — give the announcement text')
    cleaned[field] = (field === 'text' || field === 'instruction' ? text : text.replace(/\s*\n\s*/g, ' ')) as T[typeof field]
  }
  // Zones are CAP geocodes and what subscribers' zones are matched against (cleaned the same at import).
  for (const [flag, values] of [['--zone', input.zone ?? []], ['--web', input.web === undefined ? [] : [input.web]]] as const) {
    if (values.some((value) => value.includes('\ufffd'))) throw new UsageError(`${flag} holds "\ufffd" where its bytes were not UTF-8 — give it in UTF-8`)
  }
  if (input.zone) {
    cleaned.zone = input.zone.map((zone) => {
      const name = publishableText(zone).replace(/\s+/g, ' ').trim()
      // Escape sequences alone would untarget it ("" means that): refused, not read as everyone.
      if (!name && zone.trim()) throw new UsageError(`--zone holds no zone name once its control characters are dropped — give the zone's name`)
      return name
    })
  }
  return cleaned
}

// Format characters (joiners, tags), combining marks with nothing to combine with (variation
// selectors, U+034F), separators and the blanks that print as nothing (braille, Hangul fillers).
const unreadable = /[\p{Cf}\p{Mn}\p{Me}\p{Z}\s\u2800\u115f\u1160\u3164\uffa0]/gu

/** Whether anything is left that a reader could see. */
function hasSomethingToRead(text: string): boolean {
  return text.replace(unreadable, '') !== ''
}

function flagOf(field: 'text' | 'headline' | 'instruction' | 'area' | 'event'): string {
  return field === 'text' ? 'the text' : `--${field}`
}

/** Creates a draft in one write; nothing is written when any field is refused. */
export function createDraft(ctx: CoreContext, typed: DraftInput, followUp?: FollowUpBasis): Announcement {
  const input = publishable(typed)
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
  const language = input.lang !== undefined ? parseLanguage(input.lang) : original?.variants[0]?.language || config.languages[0] || 'en'
  const status = original ? keptStatus(input.status, original.status) : input.status !== undefined ? parseStatus(input.status) : 'Actual'
  const id = newId(at)
  const announcement: Announcement = {
    id,
    identifier: `crier-${id}`,
    // CAP: an Update or Cancel comes from the sender of the message it refers to.
    sender: original?.sender ?? config.sender,
    senderName: original ? original.senderName : config.senderName,
    status,
    msgType: followUp?.msgType ?? 'Alert',
    scope: original?.scope ?? 'Public',
    ...(original && {references: original.id}),
    category,
    event: input.event?.trim() || (original && eventFollowingCategory(original, category)) || defaultEvent[category],
    urgency,
    severity,
    certainty,
    web,
    area,
    variants: [
      {
        language,
        headline,
        description: input.text,
        // An Update keeps the original's advice unless given other advice (--instruction "" drops it).
        instruction: input.instruction !== undefined ? input.instruction.trim() || undefined : followUp?.msgType === 'Update' ? original?.variants[0]?.instruction : undefined,
      },
    ],
    channels,
    expiresAt,
    state: 'draft',
    author: ctx.user,
    createdAt: at,
    updatedAt: at,
  }
  announcement.state = unapprovedState(ctx, announcement)
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
  /** The text changed under a headline the officer typed, which stays: they are told, to check it still fits. */
  keptHeadline?: string
  /** It already said all that: nothing was written, and its approvals stand. */
  unchanged?: true
}

export function editAnnouncement(ctx: CoreContext, id: string, typed: EditInput): EditResult {
  const input = publishable(typed)
  return ctx.store.transaction(() => {
    const current = ctx.store.announcements.get(id)
    if (!current) throw new UsageError(`no announcement with id ${id} — see crier list`)
    const at = ctx.now()
    transition(current.state, 'edit', id.slice(0, 12))
    // A Cancel goes where what it cancels reached, and only there: elsewhere it would withdraw
    // something nobody saw; left off one, that channel's readers keep the alarm.
    if (current.msgType === 'Cancel' && input.channels?.length && [...input.channels].sort().join(',') !== [...current.channels].sort().join(',')) {
      throw new UsageError(`${shortId(id)} is a Cancel: it goes to the channels what it cancels reached (${current.channels.join(', ')}), not others — its channels are not edited`)
    }
    const {variant, index} = variantToEdit(current, input)
    // A headline crier took from the old text's first sentence would contradict corrected text
    // ("closed" over "open again"): it is taken again from the new text. A typed one is kept.
    const derivedHeadline = Boolean(variant.headline) && variant.headline === headlineFrom(variant.description)
    const textChanged = input.text !== undefined && input.text !== variant.description
    if (input.text !== undefined) variant.description = input.text
    if (input.headline !== undefined || !variant.headline || (textChanged && derivedHeadline)) variant.headline = input.headline?.trim() || headlineFrom(variant.description)
    const keptHeadline = textChanged && input.headline === undefined && !derivedHeadline ? variant.headline : undefined
    if (input.instruction !== undefined) variant.instruction = input.instruction.trim() || undefined
    const variants = [...current.variants]
    variants.splice(index, 1, variant)
    const category = input.category ? parseCategory(input.category) : current.category
    const next: Announcement = {
      ...current,
      status: current.references ? keptStatus(input.status, current.status) : input.status !== undefined ? parseStatus(input.status) : current.status,
      severity: input.severity ? parseSeverity(input.severity) : current.severity,
      urgency: input.urgency ? parseUrgency(input.urgency) : current.urgency,
      certainty: input.certainty ? parseCertainty(input.certainty) : current.certainty,
      category,
      // "" takes a field back: --event "" to the category's own word, --web "" to no link.
      event: input.event === undefined ? eventFollowingCategory(current, category) : input.event.trim() || defaultEvent[category],
      web: input.web === undefined ? current.web : input.web.trim() ? parseWebLink(input.web) : undefined,
      area: draftArea(input, current.area),
      expiresAt: input.expires !== undefined ? parseExpiry(input.expires, at, ctx.config.timezone) : current.expiresAt,
      channels: input.channels?.length ? (input.channels.forEach((name) => channelConfig(ctx.config, name)), input.channels) : current.channels,
      variants,
      updatedAt: at,
    }
    // A script that sets the same fields on every run must not undo the second officer's approval:
    // the approvers approved this very content.
    if (contentHash(next) === contentHash(current)) return {announcement: current, withdrawnApprovals: 0, unchanged: true}
    const withdrawnApprovals = ctx.store.announcements.clearApprovals(id)
    // Edited text is unapproved text (the approvers approved the old one).
    next.state = unapprovedState(ctx, next)
    next.rejectReason = undefined
    ctx.store.announcements.update(next)
    return {announcement: next, withdrawnApprovals, ...(keptHeadline && {keptHeadline})}
  })
}

/**
 * The language variant `crier edit` changes: with --lang, the one in that language — a new one,
 * beside the others, when there is none (a bilingual force adds its Welsh text to the English);
 * without, the first. `index` is where it goes in the variants (past the end: added).
 */
function variantToEdit(current: Announcement, input: EditInput): {variant: Variant; index: number} {
  if (input.lang === undefined) return {variant: {...current.variants[0]!}, index: 0}
  const language = parseLanguage(input.lang)
  const index = variantIndexFor(current.variants, language)
  if (index >= 0) {
    const variant = current.variants[index]!
    // Tagged with the more precise of the two: en-GB given for a text tagged en makes it en-GB.
    return {variant: {...variant, language: narrows(language, variant.language) ? language : variant.language}, index}
  }
  if (input.text === undefined) {
    const has = current.variants.map((variant) => variant.language).join(', ')
    throw new UsageError(`${shortId(current.id)} has no ${language} text (it has ${has}) — give --text or --file with --lang ${language} to add it`)
  }
  return {variant: {language, headline: '', description: input.text}, index: current.variants.length}
}

// xs:language, as the CAP schema types <language>; anything else fails the XSD, and a space
// would end up in the feed's Atom ids.
const languageTag = /^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$/

export function parseLanguage(typed: string): string {
  const tag = typed.trim()
  if (languageTag.test(tag)) return tag
  const hyphenated = tag.replace(/_/g, '-')
  const hint = hyphenated !== tag && languageTag.test(hyphenated) ? `write it with a hyphen: --lang ${hyphenated}` : 'give a language tag such as cy-GB or en'
  throw new UsageError(`--lang "${typed}" is not a language tag — ${hint}`)
}

// What the public may be sent. CAP's System (messages between systems) and Draft (not for
// issuing) never reach the public, so they are refused rather than published.
const publicStatuses: readonly CapStatus[] = ['Actual', 'Exercise', 'Test']

export function parseStatus(typed: string): CapStatus {
  const word = typed.trim().toLowerCase()
  const found = publicStatuses.find((status) => status.toLowerCase() === word)
  if (found) return found
  const notPublic = capStatuses.find((status) => status.toLowerCase() === word)
  if (notPublic) throw new UsageError(`--status ${notPublic} is CAP's, not for the public — use Actual, or Exercise or Test for a drill (a draft is what crier draft makes)`)
  throw new UsageError(`--status "${typed}" is not valid — use one of ${publicStatuses.join(', ')}`)
}

/** A follow-up is what its original was: an Update of a drill is a drill, of a real alert real. */
function keptStatus(typed: string | undefined, original: CapStatus): CapStatus {
  if (typed !== undefined && parseStatus(typed) !== original) {
    throw new UsageError(`--status ${parseStatus(typed)}: an Update or Cancel keeps its original's status (${original}) — leave --status out`)
  }
  return original
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

/**
 * The event under a (perhaps new) category: one that was the old category's own word (none was
 * typed, or it was reset) follows the category, as a derived headline follows the text; a typed
 * one stays.
 */
function eventFollowingCategory(earlier: Announcement, category: Category): string {
  return earlier.event === defaultEvent[earlier.category] ? defaultEvent[category] : earlier.event
}
