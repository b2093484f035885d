import type {Config} from '../../config/load.js'
import {isDrill} from '../drill.js'
import {personalDataDetectors, type PersonalDataDetector} from '../../config/schema.js'
import type {Announcement} from '../announcement.js'
import {zoneGeocode} from '../area-targeting.js'
import {shortId} from '../ids.js'
import {lacksChannelLanguage, type ChannelRendering} from '../render.js'
import {findPersonalData, type PersonalDataOptions} from './personal-data.js'
import {inQuietHours, localIsoMinute, namedWallClock, quietHoursEnd, wallClock} from './quiet-hours.js'
import {foldText, wordMatchers, type WordMatcher} from './words.js'
import {templatePlaceholderNames} from '../templates.js'

// The one policy check that preview, approve, schedule and broadcast all run, with the same
// inputs: the announcement, the config, what each channel would publish, and the time. A
// finding with level "error" blocks sending; a "warning" is shown. Each message is one line:
// what, where (field, language, channel) and what to do. Personal data is named masked.

export interface Finding {
  level: 'error' | 'warning'
  rule: string
  message: string
  channel?: string
}

export interface CheckOptions {
  /**
   * When it would go out: `schedule` passes the scheduled time(s); everyone else sends now.
   * Quiet hours and the expiry horizon are judged at these times.
   */
  sendAt?: number[]
  /** The message an Update or Cancel follows up: its languages are the ones the public was told in. */
  referenced?: Announcement
  /** The rest of its thread, before `referenced` (an Update of an Update): the gravest of them sets what it may do at night. */
  earlier?: Announcement[]
  /**
   * It is an occurrence of this recurring template, firing now: findings name the template (the
   * occurrence exists only if it goes), and a time refused is missed, not moved to a one-off.
   */
  occurrenceOf?: string
  /** `sendAt` are the next firings of this cron (crier schedule --cron): a time refused is for the cron to avoid, not a one-off. */
  cron?: string
}

// CAP 1.2 §3.2.2: headline "SHOULD be less than 160 characters".
const capHeadlineAdvice = 160
const dayMs = 86_400_000

/** The `edit` flag that sets a field. */
const flagFor = {headline: '--headline', description: '--text', area: '--area', zones: '--zone', expires: '--expires', instruction: '--instruction', web: '--web', event: '--event'} as const

export function checkPolicy(announcement: Announcement, config: Config, renderings: ChannelRendering[], now: number, options: CheckOptions = {}): Finding[] {
  const sendAt = options.sendAt?.length ? options.sendAt : [now]
  const id = shortId(options.occurrenceOf ?? announcement.id)
  // A Cancel must get out: it is judged on the words the officer gave it, not on what crier
  // wrote for it or repeats of the message it withdraws (already public), nor on fields it need
  // not have (a Cancel gives no instruction).
  const cancel = announcement.msgType === 'Cancel' && options.referenced ? ownWordsOfCancel(announcement, options.referenced) : undefined
  return [
    ...(cancel ? [] : requiredFields(announcement, config, id)),
    ...headlineLengths(announcement),
    ...expiry(announcement, config, now, sendAt[0]!, id, options.sendAt !== undefined),
    ...words(cancel ?? announcement, config),
    ...unfilledPlaceholders(announcement, config, id),
    ...personalData(cancel ?? announcement, config),
    ...quietHours(announcement, config, sendAt, id, {occurrence: options.occurrenceOf !== undefined, cron: options.cron}, [...(options.referenced ? [options.referenced] : []), ...(options.earlier ?? [])]),
    ...channels(announcement, renderings, id),
    ...followUpLanguages(announcement, options.referenced, id),
    ...followUpInstruction(announcement, options.referenced, id),
  ]
}

/**
 * What of a Cancel the officer wrote: its headline and text without the withdrawn message's
 * headline they quote ("Cancelled: …", crier's default "The message "…" is cancelled."), and its
 * area, event and link only where they differ from that message's.
 */
function ownWordsOfCancel(cancel: Announcement, withdrawn: Announcement): Announcement {
  const quoted = withdrawn.variants.map((variant) => variant.headline).filter((headline) => headline.trim())
  const unquoted = (text: string) => quoted.reduce((left, headline) => left.split(headline).join(' '), text)
  const same = <T>(mine: T, theirs: T) => JSON.stringify(mine) === JSON.stringify(theirs)
  return {
    ...cancel,
    variants: cancel.variants.map((variant) => ({...variant, headline: unquoted(variant.headline), description: unquoted(variant.description)})),
    area: same(cancel.area, withdrawn.area) ? undefined : cancel.area,
    event: cancel.event === withdrawn.event ? '' : cancel.event,
    web: cancel.web === withdrawn.web ? undefined : cancel.web,
  }
}

/** Findings that block sending. */
export function blockingFindings(findings: Finding[]): Finding[] {
  return findings.filter((finding) => finding.level === 'error')
}

/**
 * Findings that block approving. Quiet hours are about when it goes, not what it says: an
 * officer may approve at 23:00 what will be scheduled for 07:30.
 */
export function findingsBlockingApproval(findings: Finding[]): Finding[] {
  return blockingFindings(findings).filter((finding) => finding.rule !== 'quiet-hours')
}

/**
 * An Update or Cancel is drafted in one language; a bilingual force's original was told in two.
 * Those who read the first in Welsh must read its correction in Welsh: a warning naming each
 * language missing and how to add it (not an error: a Cancel must not wait for a translator).
 */
function followUpLanguages(announcement: Announcement, referenced: Announcement | undefined, id: string): Finding[] {
  if (!referenced) return []
  const has = announcement.variants.map((variant) => variant.language.toLowerCase())
  return referenced.variants
    .filter((variant) => !has.includes(variant.language.toLowerCase()))
    .map((variant) => ({
      level: 'warning' as const,
      rule: 'follow-up-language',
      message: `${shortId(referenced.id)}, which this ${announcement.msgType} follows up, went out in ${variant.language} too; this has no ${variant.language} text — add it: crier edit ${id} --lang ${variant.language} --headline … --text …`,
    }))
}

/**
 * An Update keeps its original's instruction unless given another, and advice that was right
 * for the alert ("Avoid the area") can be wrong under its all-clear: a warning quoting it.
 */
function followUpInstruction(announcement: Announcement, referenced: Announcement | undefined, id: string): Finding[] {
  if (!referenced || announcement.msgType !== 'Update') return []
  return announcement.variants.flatMap((variant) => {
    const instruction = variant.instruction?.trim()
    const carried = instruction && referenced.variants.some((earlier) => earlier.instruction?.trim() === instruction)
    if (!carried) return []
    const lang = announcement.variants.length > 1 ? ` --lang ${variant.language}` : ''
    return [{
      level: 'warning' as const,
      rule: 'follow-up-instruction',
      message: `the instruction${lang ? ` (${variant.language})` : ''} is ${shortId(referenced.id)}'s, unchanged: "${instruction.length > 80 ? `${instruction.slice(0, 79)}…` : instruction}" — if the advice has changed: crier edit ${id}${lang} --instruction "…" (--instruction "" drops it)`,
    }]
  })
}

function requiredFields(announcement: Announcement, config: Config, id: string): Finding[] {
  const findings: Finding[] = []
  const bilingual = announcement.variants.length > 1
  for (const field of config.policy.content.requireFields) {
    const require = (missing: boolean, language?: string) => {
      if (missing) findings.push({level: 'error', rule: 'required-field', message: `policy requires ${field}${language && bilingual ? ` (${language})` : ''} — add it: crier edit ${id} ${flagFor[field]} …`})
    }
    if (field === 'headline' || field === 'instruction') {
      // Text the public reads is needed in every language.
      for (const variant of announcement.variants) require(!(variant[field] ?? '').trim(), variant.language)
    } else {
      require({area: !announcement.area?.description.trim(), expires: announcement.expiresAt === undefined, web: !announcement.web, event: !announcement.event.trim()}[field])
    }
  }
  return findings
}

function headlineLengths(announcement: Announcement): Finding[] {
  return announcement.variants.flatMap((variant) => {
    const length = [...variant.headline].length
    return length > capHeadlineAdvice
      ? [{level: 'warning' as const, rule: 'headline-length', message: `headline (${variant.language}) is ${length} characters; CAP advises under ${capHeadlineAdvice} — shorten it`}]
      : []
  })
}

function expiry(announcement: Announcement, config: Config, now: number, goesAt: number, id: string, scheduled: boolean): Finding[] {
  if (announcement.expiresAt === undefined) return []
  const expires = namedWallClock(announcement.expiresAt, config.timezone)
  if (announcement.expiresAt <= now) {
    return [{level: 'error', rule: 'expired', message: `the announcement expired at ${expires} — set a later --expires`}]
  }
  const maxDays = config.policy.content.maxExpiryDays
  const days = (announcement.expiresAt - goesAt) / dayMs
  if (days <= maxDays) return []
  return [
    {
      level: 'warning',
      rule: 'expires-far',
      message: `expires ${expires}, ${Number(days.toFixed(1))} days after it goes out (policy.content.maxExpiryDays is ${maxDays}) — check the date, or set an earlier one: ${scheduled ? `crier unschedule ${id}, crier edit ${id} --expires …, then schedule it again` : `crier edit ${id} --expires …`}`,
    },
  ]
}

// Text the public reads: the headline, description and instruction of every language, and the
// area's description and zones, the event and the web link, which the CAP document and the feed
// publish too. Other geocodes are not: they hold codes read from CAP documents (SAME, GSS), not
// text an officer types.
const textFields = ['headline', 'description', 'instruction'] as const
type TextField = (typeof textFields)[number] | 'area' | 'zones' | 'event' | 'web'

/** How a field is named in a finding where its own name would not read: "in the web link". */
const fieldNames: Partial<Record<TextField, string>> = {web: 'web link'}

interface Place {
  field: TextField
  /** Undefined for the fields outside the variants: one for every language. */
  language?: string
}

function eachText(announcement: Announcement, visit: (text: string, place: Place) => void): void {
  for (const variant of announcement.variants) {
    for (const field of textFields) {
      const text = variant[field]
      if (text) visit(text, {field, language: variant.language})
    }
  }
  if (announcement.area?.description) visit(announcement.area.description, {field: 'area'})
  for (const {name, value} of announcement.area?.geocodes ?? []) {
    if (name === zoneGeocode && value) visit(value, {field: 'zones'})
  }
  if (announcement.event) visit(announcement.event, {field: 'event'})
  if (announcement.web) visit(readableLink(announcement.web), {field: 'web'})
}

/**
 * A link as its reader sees it: the URL parser stores "07700 900123" as "07700%20900123", and
 * "ídiot" as "%C3%ADdiot". An escape that is not UTF-8 stays as written.
 */
function readableLink(url: string): string {
  return url.replace(/(?:%[\da-f]{2})+/gi, (escaped) => {
    try {
      return decodeURIComponent(escaped)
    } catch {
      return escaped
    }
  })
}

/** "the headline and description (en-GB), instruction (cy-GB)", "the area". */
function describePlaces(places: Place[]): string {
  const byLanguage = new Map<string, TextField[]>()
  const shared: TextField[] = []
  for (const {field, language} of places) {
    if (language === undefined) {
      if (!shared.includes(field)) shared.push(field)
      continue
    }
    const fields = byLanguage.get(language) ?? []
    if (!fields.includes(field)) fields.push(field)
    byLanguage.set(language, fields)
  }
  const parts = [...byLanguage].map(([language, fields]) => `${fields.join(' and ')} (${language})`)
  if (shared.length) parts.push(shared.map((field) => fieldNames[field] ?? field).join(' and '))
  return 'the ' + parts.join(', ')
}

const matcherCache = new WeakMap<readonly string[], WordMatcher[]>()

function matchersFor(words: readonly string[]): WordMatcher[] {
  let matchers = matcherCache.get(words)
  if (!matchers) matcherCache.set(words, (matchers = wordMatchers(words)))
  return matchers
}

function words(announcement: Announcement, config: Config): Finding[] {
  const {bannedWords, warnWords} = config.policy.content
  const lists = [
    {level: 'error' as const, matchers: matchersFor(bannedWords), key: 'bannedWords'},
    {level: 'warning' as const, matchers: matchersFor(warnWords), key: 'warnWords'},
  ]
  if (!lists.some((list) => list.matchers.length)) return []
  const folded: Array<{text: string; place: Place}> = []
  eachText(announcement, (text, place) => folded.push({text: foldText(text), place}))
  const findings: Finding[] = []
  for (const {level, matchers, key} of lists) {
    for (const matcher of matchers) {
      const places = folded.filter(({text}) => matcher.matches(text)).map(({place}) => place)
      if (!places.length) continue
      findings.push({
        level,
        rule: 'banned-word',
        message:
          level === 'error'
            ? `banned word "${matcher.word}" in ${describePlaces(places)} — reword it (policy.content.${key})`
            : `"${matcher.word}" in ${describePlaces(places)} is on policy.content.${key} — check the wording`,
      })
    }
  }
  return findings
}

/**
 * A configured template's {placeholder} left in the text — typed with `edit --text`, or pasted
 * from the template: never published as "{road}". Other braces are the officer's own.
 */
function unfilledPlaceholders(announcement: Announcement, config: Config, id: string): Finding[] {
  const names = templatePlaceholderNames(config)
  if (names.size === 0) return []
  const found = new Map<string, Place[]>()
  eachText(announcement, (text, place) => {
    if (place.field === 'web') return
    for (const match of text.matchAll(/\{([A-Za-z][\w-]*)\}/g)) {
      if (!names.has(match[1]!)) continue
      const places = found.get(match[0]) ?? []
      places.push(place)
      found.set(match[0], places)
    }
  })
  return [...found].map(([placeholder, places]) => ({
    level: 'error' as const,
    rule: 'unfilled-placeholder',
    message: `${placeholder} in ${describePlaces(places)} is a template placeholder nobody filled — write what it stands for: ${editCommands(announcement, places, id)}`,
  }))
}

/** The edit command(s) that rewrite these places: one per language, --lang for any but the first. */
function editCommands(announcement: Announcement, places: Place[], id: string): string {
  const byLanguage = new Map<string | undefined, Set<string>>()
  for (const {field, language} of places) {
    const lang = language === announcement.variants[0]?.language ? undefined : language
    const flags = byLanguage.get(lang) ?? new Set()
    flags.add(flagFor[field])
    byLanguage.set(lang, flags)
  }
  return [...byLanguage].map(([lang, flags]) => `crier edit ${id}${lang ? ` --lang ${lang}` : ''} ${[...flags].map((flag) => `${flag} …`).join(' ')}`).join('; ')
}

const detectorNames: Record<PersonalDataDetector, string> = {
  phone: 'a phone number',
  email: 'an e-mail address',
  nationalInsurance: 'a National Insurance number',
  vehicleRegistration: 'a vehicle registration',
}

const detectorAdvice: Record<PersonalDataDetector, string> = {
  phone: 'remove it, or add it to policy.content.allowedNumbers if it is a public number',
  email: "remove it, or add it to policy.content.allowedEmails if it is the service's own",
  nationalInsurance: 'remove it',
  vehicleRegistration: 'remove it, or set policy.content.personalDataDetectors.vehicleRegistration: warn if plates may be published (vehicle appeals)',
}

function personalData(announcement: Announcement, config: Config): Finding[] {
  const content = config.policy.content
  const levels = new Map(personalDataDetectors.map((detector) => [detector, content.personalDataDetectors[detector] ?? content.personalData]))
  const detectors = new Set(personalDataDetectors.filter((detector) => levels.get(detector) !== 'off'))
  if (detectors.size === 0) return []
  const options: PersonalDataOptions = {
    detectors,
    // Without defaultRegion, national numbers are read as UK and US numbers (crier's users).
    regions: config.defaultRegion ? [config.defaultRegion.toUpperCase()] : ['GB', 'US'],
    allowedNumbers: content.allowedNumbers,
    // The service's own sending address is public by definition.
    allowedEmails: config.sender.includes('@') ? [...content.allowedEmails, config.sender] : content.allowedEmails,
  }
  const found = new Map<string, {detector: PersonalDataDetector; masked: string; places: Place[]}>()
  eachText(announcement, (text, place) => {
    for (const item of findPersonalData(text, options, place.field === 'web' ? 'link' : 'text')) {
      const key = `${item.detector}:${item.key}`
      const entry = found.get(key) ?? {detector: item.detector, masked: item.masked, places: []}
      entry.places.push(place)
      found.set(key, entry)
    }
  })
  return [...found.values()].map(({detector, masked, places}) => {
    const level = levels.get(detector) === 'block' ? ('error' as const) : ('warning' as const)
    const advice = level === 'error' ? detectorAdvice[detector] : 'check that it may be published'
    return {level, rule: 'personal-data', message: `personal data: ${detectorNames[detector]} (${masked}) in ${describePlaces(places)} — ${advice}`}
  })
}

function quietHours(announcement: Announcement, config: Config, sendAt: number[], id: string, recurring: {occurrence: boolean; cron?: string}, thread: Announcement[]): Finding[] {
  const quiet = config.policy.quietHours
  // A Cancel withdraws what people already have: a wrong message must not stay live on their
  // phones and in the feed until morning because the correction waits for the quiet hours to end.
  if (!quiet || quiet.except.includes(announcement.severity) || announcement.msgType === 'Cancel') return []
  // Nor an Update of a message that could go out at night: an all-clear typed Minor that lifts
  // an Extreme evacuation order goes as the order went (it needs the order's approvals too).
  if (thread.some((earlier) => quiet.except.includes(earlier.severity))) return []
  const at = sendAt.find((instant) => inQuietHours(instant, quiet, config.timezone))
  if (at === undefined) return []
  const keeping = quiet.channels ? announcement.channels.filter((name) => quiet.channels!.includes(name)) : [undefined]
  const zone = config.timezone
  const when = namedWallClock(at, zone)
  const range = `quiet hours ${quiet.from}–${quiet.to}`
  const endsAt = quietHoursEnd(at, quiet, zone)
  const end = localIsoMinute(endsAt, zone)
  // A one-off moves to the morning; a recurring schedule needs a cron that fires outside them.
  // Expired before they end, it could not go then either: the expiry is what must change.
  const expiresFirst = announcement.expiresAt !== undefined && announcement.expiresAt <= endsAt
  const expiresAt = expiresFirst ? wallClock(announcement.expiresAt!, zone) : ''
  const oneOff = expiresFirst
    ? `it expires at ${expiresAt}, before they end: give a later --expires (crier edit ${id} --expires …), then crier schedule ${id} --at ${end}`
    : `send it from ${quiet.to}: crier schedule ${id} --at ${end}`
  const remedy = recurring.cron !== undefined ? `give a cron that fires outside them: crier schedule ${id} --cron "…"` : oneOff
  return keeping.map((channel) => {
    const where = channel ? ` to ${channel}` : ''
    return quiet.level === 'block'
      ? {
          level: 'error' as const,
          rule: 'quiet-hours',
          ...(channel ? {channel} : {}),
          message: `${announcement.severity} announcements may not go out${where} in ${range}, and this one would at ${when} — ${recurring.occurrence ? `this occurrence of ${id} is missed; its schedule goes on with the next` : remedy}`,
        }
      : {
          level: 'warning' as const,
          rule: 'quiet-hours',
          ...(channel ? {channel} : {}),
          message: `this ${announcement.severity} announcement would go out${where} at ${when}, in ${range} — ${recurring.cron !== undefined ? `consider a cron that fires outside them: crier schedule ${id} --cron "…"` : expiresFirst ? `it expires before they end (${expiresAt}), so waiting needs a later --expires too` : `consider waiting until ${quiet.to}: crier schedule ${id} --at ${end}`}`,
        }
  })
}

function channels(announcement: Announcement, renderings: ChannelRendering[], id: string): Finding[] {
  const findings: Finding[] = []
  for (const {channel, rendered, language} of renderings) {
    // A bilingual per-recipient channel is rendered once per language: said once, not per language.
    if (isDrill(announcement.status) && !channel.allowTest && !findings.some((f) => f.rule === 'test-channel' && f.channel === channel.name)) {
      findings.push({
        level: 'error',
        rule: 'test-channel',
        channel: channel.name,
        message: `${announcement.status} announcements may not go to ${channel.name} — it is not marked allowTest: choose other channels (crier edit ${id} --channel …) or set channels.${channel.name}.allowTest: true`,
      })
    }
    if (lacksChannelLanguage(announcement, channel)) {
      const first = announcement.variants[0]!.language
      findings.push({
        level: 'warning',
        rule: 'channel-language',
        channel: channel.name,
        message: `${channel.name} posts in ${channel.language}, but this has no ${channel.language} text: it would post the ${first} — add it: crier edit ${id} --lang ${channel.language} --headline … --text …`,
      })
    }
    for (const part of rendered.parts) {
      if (part.length && part.length.count > part.length.limit) {
        const advice = part.length.unit === 'sms-segments' ? `shorten the text, or raise channels.${channel.name}.maxSegments` : 'shorten the text'
        findings.push({
          level: 'error',
          rule: 'channel-limit',
          channel: channel.name,
          message: `${channel.name}${language ? ` (${language})` : ''}: ${part.label} is ${part.length.count} ${part.length.unit}, over the limit of ${part.length.limit} — ${advice}`,
        })
      }
    }
  }
  return findings
}
