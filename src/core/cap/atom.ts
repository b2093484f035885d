import type {XMLBuilder} from 'xmlbuilder2/lib/interfaces.js'
import {drillWord, isDrill} from '../drill.js'
import {primaryVariant, readerVariant, type Announcement, type Variant} from '../announcement.js'
import {capNamespace, createXmlDocument, formatCapDateTime, sentTime} from './build.js'
import {followUpLead} from '../follow-up-lead.js'

// The two Atom feeds (RFC 4287) a public agency serves next to its CAP documents: alerts.atom,
// for people and feed readers, and cap/index.atom, an index of the CAP documents for machines
// (the NWS layout of test/fixtures/cap/weather_index.atom). Both list only what is current.

const atomNamespace = 'http://www.w3.org/2005/Atom'
const xmlNamespace = 'http://www.w3.org/XML/1998/namespace'
const xmlnsNamespace = 'http://www.w3.org/2000/xmlns/'
export const capMediaType = 'application/cap+xml'

/** Where each file lives, relative to the feed's folder (and to its baseUrl). */
export const alertsFeedPath = 'alerts.atom'
export const capIndexPath = 'cap/index.atom'

/** Announcement ids become file names, so only plain names are accepted (never ../). */
export function capDocumentPath(announcementId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(announcementId)) throw new Error(`announcement id "${announcementId}" cannot be used as a file name`)
  return `cap/${announcementId}.xml`
}

export interface FeedOptions {
  title: string
  /** Public address of the feed's folder; without it links are relative and ids are URNs. */
  baseUrl?: string
  /** The feed's permanent Atom id (an IRI). */
  id: string
  /** Announcements that expired at or before now are left out. */
  now: number
  /** The newest this many current announcements, at most (default: all): every reader downloads the whole file on each poll. */
  maxEntries?: number
  /** A feed in one language (a Welsh site's): each announcement's entry in it, where it has one, else its first. Default: every language. */
  language?: string
}

/** For one announcement's entries: where the files are published, and in which language. */
export type EntryOptions = Pick<FeedOptions, 'baseUrl' | 'language'>

/** The variants a feed lists of an announcement: every one, or the one in the feed's language. */
function listedVariants(announcement: Announcement, language: string | undefined): readonly Variant[] {
  return language ? [readerVariant(announcement.variants, language)] : announcement.variants
}

/** The human-readable feed: one entry per announcement and language, newest first. */
export function buildAlertsFeed(entries: Announcement[], options: FeedOptions): string {
  const {document, feed} = startFeed(options, alertsFeedPath)
  for (const announcement of currentAnnouncements(entries, options.now).slice(0, options.maxEntries)) {
    for (const variant of listedVariants(announcement, options.language)) appendAlertsEntry(feed, announcement, variant, options)
  }
  return document.end({prettyPrint: true})
}

/** The index of CAP documents: one entry per announcement, linking its CAP file, newest first. */
export function buildCapIndexFeed(entries: Announcement[], options: FeedOptions): string {
  const {document, feed} = startFeed(options, capIndexPath)
  feed.att(xmlnsNamespace, 'xmlns:cap', capNamespace)
  for (const announcement of currentAnnouncements(entries, options.now).slice(0, options.maxEntries)) appendIndexEntry(feed, announcement, options)
  return document.end({prettyPrint: true})
}

/** The announcement's alerts.atom entries, one per language, exactly as the feed will carry them. */
export function buildAlertsEntries(announcement: Announcement, options: EntryOptions): Array<{language: string; xml: string}> {
  return listedVariants(announcement, options.language).map((variant) => {
    const document = createXmlDocument()
    const feed = document.ele(atomNamespace, 'feed')
    const entry = appendAlertsEntry(feed, announcement, variant, options)
    return {language: variant.language, xml: entry.toString({prettyPrint: true})}
  })
}

/**
 * What is current: not expired, and not superseded by an Update or Cancel in the same list (a
 * reader should see the latest word, not every version of it). Newest first.
 */
export function currentAnnouncements(entries: Announcement[], now: number): Announcement[] {
  const superseded = new Set(entries.filter((entry) => entry.msgType === 'Update' || entry.msgType === 'Cancel').map((entry) => entry.references))
  return entries
    .filter((entry) => !superseded.has(entry.id) && (entry.expiresAt === undefined || entry.expiresAt > now))
    .sort((a, b) => sentTime(b) - sentTime(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
}

function startFeed(options: FeedOptions, ownPath: string): {document: XMLBuilder; feed: XMLBuilder} {
  const document = createXmlDocument()
  const feed = document.ele(atomNamespace, 'feed')
  feed.ele('id').txt(options.id)
  feed.ele('title').txt(options.title)
  // The feed changes when an entry expires as well as when one is added: now, not the newest entry.
  feed.ele('updated').txt(formatCapDateTime(options.now))
  if (options.baseUrl) feed.ele('link').att('rel', 'self').att('href', `${trimSlash(options.baseUrl)}/${ownPath}`)
  feed.ele('generator').txt('crier')
  return {document, feed}
}

function appendAlertsEntry(feed: XMLBuilder, announcement: Announcement, variant: Variant, options: EntryOptions): XMLBuilder {
  const capHref = capLink(announcement, options, 'alerts')
  const entry = feed.ele('entry').att(xmlNamespace, 'xml:lang', variant.language)
  entry.ele('id').txt(`${announcementIri(announcement, options)}#${variant.language}`)
  appendCommon(entry, announcement, variant)
  if (announcement.web) {
    entry.ele('link').att('rel', 'alternate').att('href', announcement.web)
    entry.ele('link').att('rel', 'related').att('type', capMediaType).att('href', capHref)
  } else {
    entry.ele('link').att('rel', 'alternate').att('type', capMediaType).att('href', capHref)
  }
  entry
    .ele('category')
    .att('scheme', `${capNamespace}#severity`)
    .att('term', announcement.severity)
  entry.ele('summary').txt(variant.description)
  // What to do matters most in an emergency; readers that show content show it below the text.
  if (variant.instruction) entry.ele('content').att('type', 'text').txt(`${variant.description}\n\n${variant.instruction}`)
  return entry
}

function appendIndexEntry(feed: XMLBuilder, announcement: Announcement, options: EntryOptions): void {
  const variant = primaryVariant(announcement)
  const entry = feed.ele('entry')
  entry.ele('id').txt(announcementIri(announcement, options))
  appendCommon(entry, announcement, variant)
  entry.ele('link').att('rel', 'alternate').att('type', capMediaType).att('href', capLink(announcement, options, 'index'))
  entry.ele('summary').txt(variant.description)
  const cap = (name: string, value: string) => entry.ele(capNamespace, `cap:${name}`).txt(value)
  cap('event', announcement.event)
  if (announcement.effectiveAt !== undefined) cap('effective', formatCapDateTime(announcement.effectiveAt))
  if (announcement.expiresAt !== undefined) cap('expires', formatCapDateTime(announcement.expiresAt))
  cap('status', announcement.status)
  cap('msgType', announcement.msgType)
  cap('category', announcement.category)
  cap('urgency', announcement.urgency)
  cap('severity', announcement.severity)
  cap('certainty', announcement.certainty)
  if (announcement.area) cap('areaDesc', announcement.area.description)
}

/** title, updated, published, author: the same in both feeds. */
function appendCommon(entry: XMLBuilder, announcement: Announcement, variant: Variant): void {
  entry.ele('title').txt(entryTitle(announcement, variant))
  // A CAP message never changes once sent (changes are new Update messages), so both are its `sent`.
  const sent = formatCapDateTime(sentTime(announcement))
  entry.ele('updated').txt(sent)
  entry.ele('published').txt(sent)
  entry.ele('author').ele('name').txt(announcement.senderName ?? announcement.sender)
}

/** The headline, saying what the other channels say too: a drill is one, an Update or a Cancel is one (once). */
function entryTitle(announcement: Announcement, variant: Variant): string {
  const headline = variant.headline.trim() || announcement.event
  const drill = isDrill(announcement.status) ? `${drillWord(announcement.status)}: ` : ''
  return `${drill}${followUpLead(announcement, headline, variant.language)}${headline}`
}

/** The CAP document's address as seen from the feed that links it. */
function capLink(announcement: Announcement, options: EntryOptions, from: 'alerts' | 'index'): string {
  const path = capDocumentPath(announcement.id)
  if (options.baseUrl) return `${trimSlash(options.baseUrl)}/${path}`
  // cap/index.atom sits next to the CAP documents; alerts.atom one folder up.
  return from === 'index' ? path.slice('cap/'.length) : path
}

/** Atom ids must be absolute and permanent: the CAP document's URL when published at one. */
function announcementIri(announcement: Announcement, options: EntryOptions): string {
  return options.baseUrl ? `${trimSlash(options.baseUrl)}/${capDocumentPath(announcement.id)}` : `urn:crier:announcement:${announcement.id}`
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '')
}
