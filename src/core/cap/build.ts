import {createRequire} from 'node:module'
import type {XMLBuilder} from 'xmlbuilder2/lib/interfaces.js'
import type {Announcement, Area, Circle, Variant} from '../announcement.js'

// Writes an announcement as an OASIS CAP 1.2 alert (test/fixtures/CAP-v1.2.xsd). Element order
// is the schema's <sequence>; every document written here is validated against it in tests.

export const capNamespace = 'urn:oasis:names:tc:emergency:cap:1.2'

type XmlBuilderModule = typeof import('xmlbuilder2')

const require = createRequire(import.meta.url)
let xmlBuilderModule: XmlBuilderModule | undefined

/**
 * xmlbuilder2 costs 70-100 ms to import (measured with Node 20.20 on these machines); the channel
 * registry imports the feed driver on every command. It ships CommonJS, so it is required on
 * first use instead, keeping render() synchronous.
 */
export function loadXmlBuilder(): XmlBuilderModule {
  xmlBuilderModule ??= require('xmlbuilder2') as XmlBuilderModule
  return xmlBuilderModule
}

/** A new XML document whose stray control characters and lone surrogates are dropped, not written raw. */
export function createXmlDocument(): XMLBuilder {
  return loadXmlBuilder().create({version: '1.0', encoding: 'UTF-8', invalidCharReplacement: ''})
}

export interface BuildCapOptions {
  /** The announcement this one updates or cancels: CAP names it by sender, identifier and sent. */
  referenced?: Announcement
  /** The messages `referenced` follows up in turn, nearest first: named too, oldest first. */
  earlier?: Announcement[]
}

/**
 * The announcement as a CAP 1.2 document. `sent` is when its broadcast began (sentTime); before
 * that, in preview, when it was drafted. `references` is written only when the
 * referenced announcement is given: an id alone cannot say which CAP message it was.
 */
export function buildCapXml(announcement: Announcement, options: BuildCapOptions = {}): string {
  const {referenced} = options
  if (referenced && referenced.id !== announcement.references) {
    throw new Error(`announcement ${announcement.id} references ${announcement.references ?? 'nothing'}, not ${referenced.id}`)
  }
  const document = createXmlDocument()
  const alert = document.ele(capNamespace, 'alert')
  alert.ele('identifier').txt(cleanText(announcement.identifier))
  alert.ele('sender').txt(cleanText(announcement.sender))
  alert.ele('sent').txt(formatCapDateTime(sentTime(announcement), announcement.utcWrittenAs))
  alert.ele('status').txt(announcement.status)
  alert.ele('msgType').txt(announcement.msgType)
  alert.ele('scope').txt(announcement.scope)
  if (referenced) alert.ele('references').txt(capReferences(referenced, options.earlier))
  for (const variant of announcement.variants) appendInfo(alert, announcement, variant)
  return document.end({prettyPrint: true})
}

/** CAP <references>: the message followed up and those it followed up in turn (given nearest first), oldest first, space-separated. */
export function capReferences(referenced: Announcement, earlier: readonly Announcement[] = []): string {
  return [...earlier].reverse().concat(referenced).map(capReference).join(' ')
}

/** CAP's name for a message: "sender,identifier,sent". */
export function capReference(announcement: Announcement): string {
  return `${announcement.sender},${announcement.identifier},${formatCapDateTime(sentTime(announcement), announcement.utcWrittenAs)}`
}

/** CAP's <sent>: when the broadcast began, or, for one not yet broadcast (a preview), when it was drafted. */
export function sentTime(announcement: Announcement): number {
  return announcement.issuedAt ?? announcement.createdAt
}

/**
 * CAP dateTime: the XSD pattern is `\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-,+]\d\d:\d\d`, so no
 * `Z` and no fraction of a second; and CAP 1.2 §3.3.2: "The timezone for UTC MUST be
 * represented as '-00:00'" (the XSD would take +00:00; strict readers do not).
 */
export function formatCapDateTime(epochMs: number, utc = '-00:00'): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}${utc}`
}

function appendInfo(alert: XMLBuilder, announcement: Announcement, variant: Variant): void {
  const info = alert.ele('info')
  info.ele('language').txt(cleanText(variant.language))
  info.ele('category').txt(announcement.category)
  info.ele('event').txt(cleanText(announcement.event))
  info.ele('urgency').txt(announcement.urgency)
  info.ele('severity').txt(announcement.severity)
  info.ele('certainty').txt(announcement.certainty)
  if (announcement.effectiveAt !== undefined) info.ele('effective').txt(formatCapDateTime(announcement.effectiveAt, announcement.utcWrittenAs))
  if (announcement.expiresAt !== undefined) info.ele('expires').txt(formatCapDateTime(announcement.expiresAt, announcement.utcWrittenAs))
  appendText(info, 'senderName', announcement.senderName)
  appendText(info, 'headline', variant.headline)
  appendText(info, 'description', variant.description)
  appendText(info, 'instruction', variant.instruction)
  appendText(info, 'web', announcement.web)
  if (announcement.area) appendArea(info, announcement.area)
}

function appendArea(info: XMLBuilder, area: Area): void {
  const element = info.ele('area')
  element.ele('areaDesc').txt(cleanText(area.description))
  area.polygons.forEach((polygon, index) => element.ele('polygon').txt(formatPolygon(polygon, index)))
  for (const circle of area.circles) element.ele('circle').txt(formatCircle(circle))
  for (const geocode of area.geocodes) {
    const code = element.ele('geocode')
    code.ele('valueName').txt(cleanText(geocode.name))
    code.ele('value').txt(cleanText(geocode.value))
  }
}

/** Optional free text: trimmed (an editor's trailing newline is not content), omitted when empty. */
function appendText(parent: XMLBuilder, name: string, text: string | undefined): void {
  const cleaned = text === undefined ? '' : cleanText(text)
  if (cleaned !== '') parent.ele(name).txt(cleaned)
}

/** XML readers turn CR and CRLF into LF and CAP readers trim, so neither would survive a parse. */
function cleanText(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim()
}

/** CAP polygons are closed rings of at least four "lat,lon" pairs; an open ring is closed here. */
function formatPolygon(points: Array<[number, number]>, index: number): string {
  const first = points[0]
  const last = points.at(-1)
  if (!first || !last || points.length < 3) throw new Error(`area polygon ${index + 1} has ${points.length} points; a polygon needs at least 3`)
  const ring = first[0] === last[0] && first[1] === last[1] ? points : [...points, first]
  return ring.map(([lat, lon]) => `${formatNumber(lat)},${formatNumber(lon)}`).join(' ')
}

function formatCircle(circle: Circle): string {
  return `${formatNumber(circle.lat)},${formatNumber(circle.lon)} ${formatNumber(circle.radiusKm)}`
}

/** Plain decimal notation: String() writes 1e-7, which no CAP reader takes as a coordinate. */
function formatNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`${value} is not a coordinate or radius CAP can carry`)
  const text = String(value)
  return /e/i.test(text) ? value.toFixed(12).replace(/\.?0+$/, '') : text
}
