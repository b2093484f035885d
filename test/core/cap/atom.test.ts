import {readFileSync} from 'node:fs'
import {XMLParser, XMLValidator} from 'fast-xml-parser'
import {describe, expect, it} from 'vitest'
import {buildAlertsEntries, buildAlertsFeed, buildCapIndexFeed, capDocumentPath, currentAnnouncements, type FeedOptions} from '../../../src/core/cap/atom.js'
import {formatCapDateTime} from '../../../src/core/cap/build.js'
import {baseTime, makeAnnouncement, makeFullAnnouncement} from '../../helpers/announcement.js'

const hour = 3_600_000
const now = baseTime + 2 * hour

const atomParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  isArray: (name) => ['entry', 'atom:entry', 'link', 'category'].includes(name),
})

type Node = Record<string, unknown>
function parseFeed(xml: string): {feed: Node; entries: Node[]} {
  expect(XMLValidator.validate(xml)).toBe(true)
  const feed = (atomParser.parse(xml) as {feed: Node}).feed
  return {feed, entries: (feed['entry'] as Node[] | undefined) ?? []}
}
const links = (entry: Node) => entry['link'] as Array<Record<string, string>>

const options: FeedOptions = {title: 'North Wales Police alerts', id: 'https://northwales.example/alerts/alerts.atom', baseUrl: 'https://northwales.example/alerts/', now}

describe('buildAlertsFeed', () => {
  const older = makeAnnouncement({createdAt: baseTime - hour, variants: [{language: 'en-GB', headline: 'Older', description: 'Older text'}]})
  const newer = makeAnnouncement({createdAt: baseTime, severity: 'Moderate', variants: [{language: 'en-GB', headline: 'Newer', description: 'Newer text'}]})
  const expired = makeAnnouncement({createdAt: baseTime + hour, expiresAt: now - 1, variants: [{language: 'en-GB', headline: 'Expired', description: 'x'}]})
  const expiringNow = makeAnnouncement({createdAt: baseTime + hour, expiresAt: now, variants: [{language: 'en-GB', headline: 'Expiring now', description: 'x'}]})

  it('lists current announcements newest first and drops the expired', () => {
    const {feed, entries} = parseFeed(buildAlertsFeed([older, expired, newer, expiringNow], options))
    expect(entries.map((entry) => entry['title'])).toEqual(['Newer', 'Older'])
    expect(feed['title']).toBe('North Wales Police alerts')
    expect(feed['id']).toBe('https://northwales.example/alerts/alerts.atom')
    expect(feed['updated']).toBe('2024-05-09T11:30:00-00:00')
    expect(links(feed)).toEqual([{'@rel': 'self', '@href': 'https://northwales.example/alerts/alerts.atom'}])
  })

  it('lists at most maxEntries, the newest: an announcement without an expiry does not stay for ever', () => {
    const newest = makeAnnouncement({createdAt: baseTime + hour, variants: [{language: 'en-GB', headline: 'Newest', description: 'x'}]})
    expect(parseFeed(buildAlertsFeed([older, newer, newest], {...options, maxEntries: 2})).entries.map((entry) => entry['title'])).toEqual(['Newest', 'Newer'])
    expect(parseFeed(buildCapIndexFeed([older, newer, newest], {...options, maxEntries: 1})).entries.map((entry) => entry['title'])).toEqual(['Newest'])
  })

  it('writes headline, description, severity, dates and author into each entry', () => {
    const {entries} = parseFeed(buildAlertsFeed([newer], options))
    expect(entries[0]).toMatchObject({
      '@xml:lang': 'en-GB',
      id: `https://northwales.example/alerts/cap/${newer.id}.xml#en-GB`,
      title: 'Newer',
      summary: 'Newer text',
      updated: '2024-05-09T09:30:00-00:00',
      published: '2024-05-09T09:30:00-00:00',
      author: {name: 'alerts@northwales.example'},
      category: [{'@scheme': 'urn:oasis:names:tc:emergency:cap:1.2#severity', '@term': 'Moderate'}],
    })
    expect(links(entries[0]!)).toEqual([{'@rel': 'alternate', '@type': 'application/cap+xml', '@href': `https://northwales.example/alerts/cap/${newer.id}.xml`}])
  })

  it('links the web page when there is one, and the CAP document beside it', () => {
    const announcement = makeFullAnnouncement()
    const {entries} = parseFeed(buildAlertsFeed([announcement], options))
    expect(links(entries[0]!)).toEqual([
      {'@rel': 'alternate', '@href': 'https://northwales.example/alerts/flood?area=conwy&lang=en'},
      {'@rel': 'related', '@type': 'application/cap+xml', '@href': `https://northwales.example/alerts/cap/${announcement.id}.xml`},
    ])
  })

  it('writes one entry per language, with what to do in the content', () => {
    const announcement = makeFullAnnouncement()
    const {entries} = parseFeed(buildAlertsFeed([announcement], options))
    expect(entries.map((entry) => entry['@xml:lang'])).toEqual(['en-GB', 'cy-GB'])
    expect(entries[1]).toMatchObject({
      title: 'Rhybudd llifogydd: Afon Conwy "difrifol" 🌊',
      summary: 'Lefelau dŵr < 1m o ben yr amddiffynfeydd & yn codi.',
      author: {name: 'North Wales Police'},
      content: {'#text': 'Lefelau dŵr < 1m o ben yr amddiffynfeydd & yn codi.\n\nSymudwch i dir uwch nawr. Ffoniwch 999 os ydych mewn perygl.', '@type': 'text'},
    })
  })

  it('shows a Cancel as cancelled, in place of the announcement it cancels', () => {
    const cancel = makeAnnouncement({msgType: 'Cancel', references: older.id, createdAt: baseTime + 30 * 60_000, variants: [{language: 'en-GB', headline: 'A55 reopened', description: 'The road has reopened.'}]})
    const {entries} = parseFeed(buildAlertsFeed([older, newer, cancel], options))
    expect(entries.map((entry) => entry['title'])).toEqual(['Cancelled: A55 reopened', 'Newer'])
  })

  it('titles a drill and an Update as the other channels do', () => {
    const drill = makeAnnouncement({status: 'Exercise', variants: [{language: 'en-GB', headline: 'Evacuate Pentre', description: 'Exercise.'}]})
    const update = makeAnnouncement({msgType: 'Update', references: older.id, createdAt: baseTime + 60_000, variants: [{language: 'en-GB', headline: 'A55 still closed', description: 'Until 18:00.'}]})
    expect(parseFeed(buildAlertsFeed([drill], options)).entries[0]?.['title']).toBe('EXERCISE: Evacuate Pentre')
    expect(parseFeed(buildAlertsFeed([update], options)).entries[0]?.['title']).toBe('Update: A55 still closed')
  })

  it('shows only the latest Update of an announcement', () => {
    const update = makeAnnouncement({msgType: 'Update', references: newer.id, createdAt: baseTime + 60_000, variants: [{language: 'en-GB', headline: 'Still closed', description: 'Now until 18:00.'}]})
    expect(currentAnnouncements([newer, update, older], now).map((announcement) => announcement.id)).toEqual([update.id, older.id])
  })

  it('orders by when each went out, not when it was drafted: an alert that waited for approval is not old news', () => {
    const waited = makeAnnouncement({createdAt: baseTime - 3 * 3_600_000, issuedAt: baseTime + 2 * 60_000, variants: [{language: 'en-GB', headline: 'Evacuate', description: 'Approved late.'}]})
    expect(currentAnnouncements([older, newer, waited], now).map((announcement) => announcement.id)).toEqual([waited.id, newer.id, older.id])
    expect(parseFeed(buildAlertsFeed([waited], options)).entries[0]?.['published']).toBe(formatCapDateTime(baseTime + 2 * 60_000))
  })

  it('links relatively and uses URN ids when the feed has no public address', () => {
    const {feed, entries} = parseFeed(buildAlertsFeed([newer], {...options, baseUrl: undefined, id: 'urn:crier:feed:website:alerts.atom'}))
    expect(feed['link']).toBeUndefined()
    expect(entries[0]?.['id']).toBe(`urn:crier:announcement:${newer.id}#en-GB`)
    expect(links(entries[0]!)[0]?.['@href']).toBe(`cap/${newer.id}.xml`)
  })

  it('escapes markup in headlines and descriptions', () => {
    const xml = buildAlertsFeed([makeAnnouncement({variants: [{language: 'en-GB', headline: 'Tom & Jerry <b>', description: '"a" < b'}]})], options)
    expect(xml).toContain('<title>Tom &amp; Jerry &lt;b&gt;</title>')
    expect(parseFeed(xml).entries[0]?.['summary']).toBe('"a" < b')
  })

  it('is a valid feed with no entries when nothing is current', () => {
    const {feed, entries} = parseFeed(buildAlertsFeed([expired], options))
    expect(entries).toEqual([])
    expect(feed['title']).toBe('North Wales Police alerts')
  })
})

describe('buildAlertsEntries', () => {
  it('gives each entry exactly as the feed carries it', () => {
    const announcement = makeFullAnnouncement()
    const {entries: inFeed} = parseFeed(buildAlertsFeed([announcement], options))
    const alone = buildAlertsEntries(announcement, options)
    expect(alone.map((entry) => entry.language)).toEqual(['en-GB', 'cy-GB'])
    alone.forEach((entry, index) => {
      const parsed = (atomParser.parse(entry.xml) as {entry: Node[]}).entry[0]!
      // Standing alone, the entry declares the Atom namespace the feed declares for it.
      expect(parsed['@xmlns']).toBe('http://www.w3.org/2005/Atom')
      delete parsed['@xmlns']
      expect(parsed).toEqual(inFeed[index])
    })
  })
})

describe('buildCapIndexFeed', () => {
  const flood = makeFullAnnouncement({createdAt: baseTime + 60_000})
  const road = makeAnnouncement()

  it('links each CAP document as application/cap+xml, newest first', () => {
    const {feed, entries} = parseFeed(buildCapIndexFeed([road, flood], {...options, id: 'https://northwales.example/alerts/cap/index.atom'}))
    expect(feed['@xmlns']).toBe('http://www.w3.org/2005/Atom')
    expect(feed['@xmlns:cap']).toBe('urn:oasis:names:tc:emergency:cap:1.2')
    expect(links(feed)).toEqual([{'@rel': 'self', '@href': 'https://northwales.example/alerts/cap/index.atom'}])
    expect(entries.map((entry) => entry['id'])).toEqual([`https://northwales.example/alerts/cap/${flood.id}.xml`, `https://northwales.example/alerts/cap/${road.id}.xml`])
    expect(links(entries[0]!)).toEqual([{'@rel': 'alternate', '@type': 'application/cap+xml', '@href': `https://northwales.example/alerts/cap/${flood.id}.xml`}])
    expect(entries[0]).toMatchObject({
      title: 'Flood warning: River Conwy "severe" 🌊',
      published: '2024-05-09T09:31:00-00:00',
      'cap:event': 'Flooding',
      'cap:effective': '2024-05-09T09:30:00-00:00',
      'cap:expires': '2024-05-09T15:30:00-00:00',
      'cap:status': 'Actual',
      'cap:msgType': 'Alert',
      'cap:category': 'Safety',
      'cap:urgency': 'Immediate',
      'cap:severity': 'Severe',
      'cap:certainty': 'Likely',
      'cap:areaDesc': 'Conwy & Llanrwst <riverside>',
    })
  })

  it('links the CAP documents beside it relatively when there is no public address', () => {
    const {entries} = parseFeed(buildCapIndexFeed([road], {...options, baseUrl: undefined}))
    expect(links(entries[0]!)[0]?.['@href']).toBe(`${road.id}.xml`)
  })

  it('drops expired announcements and shows a Cancel as cancelled', () => {
    const expired = makeAnnouncement({expiresAt: now})
    const cancel = makeAnnouncement({msgType: 'Cancel', references: road.id, createdAt: baseTime + hour})
    const {entries} = parseFeed(buildCapIndexFeed([road, expired, cancel], options))
    expect(entries.map((entry) => [entry['title'], entry['cap:msgType']])).toEqual([['Cancelled: A55 closed at Junction 11', 'Cancel']])
  })

  it('has the entry shape of the index the US National Weather Service serves', () => {
    const fixture = readFileSync(new URL('../../fixtures/cap/weather_index.atom', import.meta.url), 'utf8')
    const theirs = parseFeed(fixture).entries[0]!
    const ours = parseFeed(buildCapIndexFeed([road], options)).entries[0]!
    const atomElements = (entry: Node) => Object.keys(entry).filter((key) => !key.startsWith('cap:') && !key.startsWith('@'))
    expect(atomElements(ours).sort()).toEqual(atomElements(theirs).sort())
  })
})

describe('capDocumentPath', () => {
  it('refuses an id that could leave the cap folder', () => {
    expect(capDocumentPath('01HXAMP1E00000000000000001')).toBe('cap/01HXAMP1E00000000000000001.xml')
    expect(() => capDocumentPath('../../etc/passwd')).toThrow(/cannot be used as a file name/)
    expect(() => capDocumentPath('')).toThrow(/cannot be used as a file name/)
  })
})
