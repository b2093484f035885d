import {createRequire} from 'node:module'
import {drillWord, isDrill} from '../core/drill.js'
import type {Announcement, Variant} from '../core/announcement.js'
import {followUpLead} from '../core/follow-up-lead.js'

// What a text message says, and what it costs: one line of plain text composed from the
// announcement, and its segments as the network counts them.

const maxListedNonGsm = 3

/**
 * `[Severe] Update: River Conwy flood warning. Water is rising. Move to higher ground now. https://…`
 * Exercises and tests say so first, so nobody takes a drill for the real thing; severity
 * "Unknown" tells the public nothing and is left out, as is a Cancel's.
 */
// The engine renders once per recipient, and the text is the same for everyone reading one
// variant: composing it (NFC, punctuation, whitespace) cost ~20 µs a message at 100k recipients.
const composed = new WeakMap<Variant, {announcement: Announcement; text: string}>()

export function smsTextFor(announcement: Announcement, variant: Variant): string {
  const known = composed.get(variant)
  if (known?.announcement === announcement) return known.text
  const text = composeSmsText(announcement, variant)
  composed.set(variant, {announcement, text})
  return text
}

function composeSmsText(announcement: Announcement, variant: Variant): string {
  const tags: string[] = []
  if (isDrill(announcement.status)) tags.push(drillWord(announcement.status))
  // A Cancel withdraws an alarm: "[Extreme] Cancelled: …" would raise one (as on the social channels).
  if (announcement.severity !== 'Unknown' && announcement.msgType !== 'Cancel') tags.push(announcement.severity)
  const headline = tidy(variant.headline)
  const lead = followUpLead(announcement, headline, variant.language)
  const description = tidy(variant.description)
  const instruction = tidy(variant.instruction ?? '')
  // A headline taken from the text's first sentence is said once, as the text begins.
  const headlineOpensText = headline !== '' && description.startsWith(headline) && description !== headline
  const pieces = [tags.map((tag) => `[${tag}]`).join(' '), headlineOpensText ? asSentence(lead + description) : headline ? asSentence(lead + headline) : lead.trim()]
  // A description that only repeats the headline costs a segment and says nothing.
  if (!headlineOpensText && description && description !== headline && description !== asSentence(headline)) pieces.push(asSentence(description))
  if (instruction) pieces.push(asSentence(instruction))
  if (announcement.web) pieces.push(announcement.web.trim())
  return pieces.filter((piece) => piece.length > 0).join(' ')
}

/**
 * Typographic punctuation is not in the GSM-7 alphabet: one curly apostrophe would switch the
 * whole message to UCS-2 and halve what fits in a segment. Plain equivalents keep GSM-7 (what
 * Twilio's Smart Encoding does), and preview shows the result, so what is previewed goes out.
 */
const plainPunctuation: Array<[RegExp, string]> = [
  [/[\u2018\u2019\u201a\u201b\u2032]/g, "'"],
  [/[\u201c\u201d\u201e\u201f\u2033]/g, '"'],
  [/[\u2012\u2013\u2014\u2015\u2212]/g, '-'],
  [/\u2026/g, '...'],
]

/** One line of plain text: NFC, plain punctuation, no control characters, single spaces. */
function tidy(text: string): string {
  let result = text.normalize('NFC')
  for (const [pattern, replacement] of plainPunctuation) result = result.replace(pattern, replacement)
  return result
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

/** Ends text that stops on a letter or digit with a full stop, so pieces read as sentences. */
function asSentence(text: string): string {
  return /[\p{L}\p{N}]$/u.test(text) ? `${text}.` : text
}

function listNonGsm(characters: string[]): string {
  const distinct = [...new Set(characters)]
  const listed = distinct.slice(0, maxListedNonGsm).join(' ')
  return distinct.length > maxListedNonGsm ? `${listed} …` : listed
}

export interface SmsCount {
  encoding: 'GSM-7' | 'UCS-2'
  segments: number
  /** What a person counts: user-perceived characters (an emoji with modifiers is one). */
  characters: number
  /** The characters that forced UCS-2, in order of appearance. */
  nonGsm: string[]
}

type SegmentCalculator = typeof import('sms-segments-calculator')
let calculator: SegmentCalculator | undefined

/**
 * Segments and encoding as the network counts them: GSM-7 holds 160 septets in one segment and
 * 153 per segment once concatenated, the extension table (€ [ ] { } ^ ~ \ |) taking two
 * septets; any other character switches to UCS-2, 70 / 67 UTF-16 code units per segment.
 * Counted by Twilio's own sms-segments-calculator, loaded on first use (~30 ms, with its
 * grapheme splitter) rather than when the driver registry loads.
 */
// Counting is ~2 ms for a 200-character text (the library is roughly quadratic), and render
// runs per recipient while the text is the same for everyone in a language: remember the last
// few (bench: SMS 426 → thousands of messages/s).
const recentCounts = new Map<string, SmsCount>()
const rememberedCounts = 64

export function countSmsSegments(text: string): SmsCount {
  const known = recentCounts.get(text)
  if (known) return known
  calculator ??= createRequire(import.meta.url)('sms-segments-calculator') as SegmentCalculator
  const message = new calculator.SegmentedMessage(text)
  const count: SmsCount = {
    encoding: message.encodingName,
    segments: message.segmentsCount,
    characters: message.graphemes.length,
    nonGsm: message.encodingName === 'UCS-2' ? message.getNonGsmCharacters() : [],
  }
  if (recentCounts.size >= rememberedCounts) recentCounts.delete(recentCounts.keys().next().value!)
  recentCounts.set(text, count)
  return count
}


/** "SMS — GSM-7, 2 segments (214 chars)", naming what forced UCS-2 when something did. */
export function segmentLabel(counted: SmsCount): string {
  const plural = counted.segments === 1 ? 'segment' : 'segments'
  const encoding = counted.encoding === 'UCS-2' && counted.nonGsm.length ? `UCS-2 (because of ${listNonGsm(counted.nonGsm)})` : counted.encoding
  return `SMS — ${encoding}, ${counted.segments} ${plural} (${counted.characters} chars)`
}
