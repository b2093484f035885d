import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import type {Announcement} from '../../../src/core/announcement.js'
import {buildCapXml} from '../../../src/core/cap/build.js'
import {CapParseError, hasInfo, parseCap, type ParsedCap} from '../../../src/core/cap/parse.js'
import {UsageError} from '../../../src/core/errors.js'
import {baseTime, makeAnnouncement, makeFullAnnouncement} from '../../helpers/announcement.js'

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/cap/${name}`, import.meta.url), 'utf8')

/** An Announcement again: crier's own fields from the original, the CAP fields from the document. */
function rebuildAnnouncement(original: Announcement, parsed: ParsedCap): Announcement {
  if (!hasInfo(parsed)) throw new Error('parsed document has no info')
  const {sent, references: _references, ...fields} = parsed
  return {...fields, id: original.id, references: original.references, channels: original.channels, state: original.state, author: original.author, createdAt: sent, updatedAt: sent}
}

describe('parseCap on documents agencies published', () => {
  it('reads a bilingual CAP 1.2 Update from Environment Canada, one variant per info', () => {
    const parsed = parseCap(fixture('canada.cap'))
    expect(parsed).toMatchObject({
      identifier: '2.49.0.1.124.6bddbc91.2012',
      sender: 'cap@ec.gc.ca',
      sent: Date.UTC(2012, 4, 2, 23, 21, 4),
      status: 'Actual',
      msgType: 'Update',
      scope: 'Public',
      category: 'Met',
      event: 'thunderstorm',
      urgency: 'Past',
      severity: 'Minor',
      certainty: 'Observed',
      senderName: 'Environment Canada',
      web: 'http://www.weatheroffice.gc.ca/warnings/warnings_e.html',
      effectiveAt: Date.UTC(2012, 4, 2, 23, 20),
      expiresAt: Date.UTC(2012, 4, 3, 0, 20),
    })
    expect(parsed.references).toEqual([
      {sender: 'cap@ec.gc.ca', identifier: '2.49.0.1.124.a3f342a4.2012', sent: Date.UTC(2012, 4, 2, 21, 45, 5)},
      {sender: 'cap@ec.gc.ca', identifier: '2.49.0.1.124.60f31a3a.2012', sent: Date.UTC(2012, 4, 2, 21, 55, 21)},
    ])
    expect(parsed.variants).toEqual([
      {
        language: 'en-CA',
        headline: 'severe thunderstorm watch',
        description: 'This is a test - this CAP message was created for testing and evaluation purposes only.',
        instruction: 'Monitor local conditions and take appropriate precautions',
      },
      {
        language: 'fr-CA',
        headline: "veille d'orages violents",
        description: "C'est l'épreuve - ce message de PAC a été créé pour les buts d'essai seulement.",
        instruction: "Surveiller les conditions locales et prendre les précautions qui s'imposent",
      },
    ])
  })

  it('merges the areas of the first info into one, keeping every polygon and geocode', () => {
    const area = parseCap(fixture('canada.cap')).area
    expect(area?.description).toBe('Windsor - Leamington - Essex County; Chatham-Kent - Rondeau Park')
    expect(area?.polygons).toHaveLength(2)
    expect(area?.polygons[0]?.[0]).toEqual([42.3481, -82.9314])
    expect(area?.polygons[0]?.at(-1)).toEqual([42.3481, -82.9314])
    expect(area?.polygons[0]).toHaveLength(17)
    expect(area?.polygons[1]?.[1]).toEqual([42.1054, -81.9412])
    expect(area?.circles).toEqual([])
    expect(area?.geocodes).toHaveLength(13)
    // Geocodes are text: the leading zero of a CLC code must survive.
    expect(area?.geocodes[0]).toEqual({name: 'layer:EC-MSC-SMC:1.0:CLC', value: '041420'})
    expect(area?.geocodes.at(-1)).toEqual({name: 'profile:CAP-CP:Location:0.3', value: '3536029'})
  })

  it('reads a document whose every element carries a namespace prefix', () => {
    const parsed = parseCap(fixture('australia.cap'))
    expect(parsed).toMatchObject({
      identifier: 'tag:www.rfs.nsw.gov.au2011-10-06:40184',
      sender: 'webmaster@rfs.nsw.gov.au',
      sent: Date.UTC(2011, 9, 5, 13, 4),
      msgType: 'Alert',
      // The first of its two categories (Fire, Met): an Announcement has one.
      category: 'Fire',
      event: 'Fire',
      urgency: 'Expected',
      severity: 'Minor',
      certainty: 'Observed',
      senderName: 'NSW Rural Fire Service',
      effectiveAt: Date.UTC(2011, 9, 5, 13, 4),
      expiresAt: Date.UTC(2011, 9, 6, 13, 4),
    })
    expect(parsed.variants).toHaveLength(2)
    expect(parsed.variants[0]).toMatchObject({language: 'en-AU', headline: 'Yerong Creek Structure Fire', instruction: 'Not Applicable'})
    expect(parsed.variants[0]?.description).toMatch(/^ALERT LEVEL: Not Applicable<br \/>LOCATION: 12 Cox Street, Yerong Creek/)
    expect(parsed.area).toEqual({
      description: 'Yerong Creek Structure Fire',
      polygons: [],
      circles: [{lat: -35.3888, lon: 147.0598, radiusKm: 25}],
      geocodes: [{name: 'http://www.iso.org/iso/country_codes.html', value: 'AU-NSW'}],
    })
  })

  it('reads a tsunami warning Update and defaults a missing language to en-US', () => {
    const parsed = parseCap(fixture('wcatwc-warning.cap'))
    expect(parsed).toMatchObject({
      identifier: 'PAAQ-2-lqw6d6',
      sender: 'http://newwcatwc.arh.noaa.gov/tsuPortal/',
      sent: Date.UTC(2011, 8, 2, 11, 36, 50),
      msgType: 'Update',
      category: 'Geo',
      event: 'Tsunami Warning',
      urgency: 'Immediate',
      severity: 'Extreme',
      certainty: 'Likely',
      expiresAt: Date.UTC(2011, 8, 2, 12, 36, 50),
      web: 'http://newwcatwc.arh.noaa.gov/tsuPortal/events/PAAQ/2011/09/02/lqw6d6/2/WEPA41/WEPA41.txt',
    })
    // <onset> is not <effective>.
    expect(parsed.effectiveAt).toBeUndefined()
    expect(parsed.references).toEqual([{sender: 'PAAQ', identifier: 'PAAQ-1-lqw6d6', sent: Date.UTC(2011, 8, 2, 10, 55, 55)}])
    expect(parsed.variants).toHaveLength(1)
    expect(parsed.variants[0]?.language).toBe('en-US')
    expect(parsed.variants[0]?.instruction).toMatch(/^Recommended Actions: Persons in low-lying coastal areas/)
    expect(parsed.area?.geocodes).toEqual([
      {name: 'UGC', value: 'AKZ185'},
      {name: 'UGC', value: 'AKZ187'},
    ])
  })

  it('reads a CAP 1.1 flash flood watch', () => {
    const parsed = parseCap(fixture('weather.cap'))
    expect(parsed).toMatchObject({
      identifier: 'NOAA-NWS-ALERTS-MT20100830100700TFXFlashFloodWatchTFX20100830180000MT',
      sender: 'w-nws.webmaster@noaa.gov',
      sent: Date.UTC(2010, 7, 30, 10, 7),
      status: 'Actual',
      msgType: 'Alert',
      scope: 'Public',
      category: 'Met',
      event: 'Flash Flood Watch',
      urgency: 'Expected',
      severity: 'Severe',
      certainty: 'Possible',
      senderName: 'NWS GreatFalls (Central Montana)',
      effectiveAt: Date.UTC(2010, 7, 30, 10, 7),
      expiresAt: Date.UTC(2010, 7, 30, 18, 0),
    })
    expect(parsed.references).toBeUndefined()
    expect(parsed.variants[0]?.language).toBe('en-US')
    expect(parsed.variants[0]?.headline).toBe('Flash Flood Watch issued August 30 at 4:07AM MDT expiring August 30 at 12:00PM MDT by NWS GreatFalls')
    expect(parsed.variants[0]?.description).toMatch(/^\.\.\.FLASH FLOOD WATCH REMAINS IN EFFECT UNTIL NOON MDT TODAY\.\.\.\nTHE FLASH FLOOD WATCH CONTINUES FOR\n/)
    expect(parsed.area).toEqual({
      description: 'Central and Southern Lewis and Clark; Lewis and Clark',
      polygons: [],
      circles: [],
      geocodes: [
        {name: 'FIPS6', value: '030049'},
        {name: 'UGC', value: 'MTZ014'},
      ],
    })
  })

  it('reads a CAP 1.1 earthquake report with a circle of radius 0', () => {
    const parsed = parseCap(fixture('earthquake.cap'))
    expect(parsed).toMatchObject({
      identifier: 'USGS-earthquakes-us2010apcd.6.20100831T000925.496Z',
      sent: Date.UTC(2010, 7, 31, 5, 9, 25),
      category: 'Geo',
      event: 'Earthquake',
      urgency: 'Past',
      severity: 'Unknown',
      certainty: 'Likely',
      senderName: 'U.S. Geological Survey',
      web: 'http://earthquake.usgs.gov/eqcenter/recenteqsww/Quakes/us2010apcd.php',
      expiresAt: Date.UTC(2010, 8, 2, 5, 9, 25),
    })
    expect(parsed.variants[0]?.headline).toBe('EQ 6.3 Neiafu, Tonga - PRELIMINARY REPORT')
    expect(parsed.area?.circles).toEqual([{lat: -16.053, lon: -173.274, radiusKm: 0}])
  })

  it('reads a CAP 1.1 alert with only the required elements and no info', () => {
    const parsed = parseCap(fixture('no_optional_fields.cap'))
    expect(parsed).toEqual({
      identifier: 'USGS-earthquakes-us2010apcd.6.20100831T000925.496Z',
      sender: 'http://earthquake.usgs.gov/research/monitoring/anss/neic/',
      sent: Date.UTC(2010, 7, 31, 5, 9, 25),
      status: 'Actual',
      msgType: 'Alert',
      scope: 'Public',
      variants: [],
    })
    expect(hasInfo(parsed)).toBe(false)
  })

  it('refuses a document without <scope>, naming it', () => {
    expect(() => parseCap(fixture('invalid.cap'))).toThrow(new CapParseError('CAP document is missing <scope>'))
  })
})

describe('parseCap refusals', () => {
  const minimal = buildCapXml(makeAnnouncement())

  it('is a usage error, so the command exits 2', () => {
    const error = (() => {
      try {
        parseCap(minimal.replace(/<sender>.*<\/sender>/, ''))
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(CapParseError)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as CapParseError).exitCode).toBe(2)
    expect((error as CapParseError).message).toBe('CAP document is missing <sender>')
  })

  it.each(['identifier', 'sender', 'sent', 'status', 'msgType', 'scope'])('refuses a document without <%s>', (element) => {
    const xml = minimal.replace(new RegExp(`<${element}>.*</${element}>`), '')
    expect(() => parseCap(xml)).toThrow(`CAP document is missing <${element}>`)
  })

  it.each(['category', 'event', 'urgency', 'severity', 'certainty'])('refuses an info without <%s>', (element) => {
    const xml = minimal.replace(new RegExp(`<${element}>.*</${element}>`), '')
    expect(() => parseCap(xml)).toThrow(`CAP document is missing <${element}>`)
  })

  it('says which info lacks an element when there are several', () => {
    const xml = buildCapXml(makeFullAnnouncement()).replace(/(<info>[\s\S]*?<\/info>[\s\S]*?)<event>Flooding<\/event>/, '$1')
    expect(() => parseCap(xml)).toThrow('CAP document is missing <event> in <info> 2')
  })

  it('refuses an unknown value, naming the element and the value', () => {
    expect(() => parseCap(minimal.replace('<severity>Minor</severity>', '<severity>Catastrophic</severity>'))).toThrow(
      'CAP document has an unknown <severity> "Catastrophic" (expected one of Extreme, Severe, Moderate, Minor, Unknown)',
    )
    expect(() => parseCap(minimal.replace('<msgType>Alert</msgType>', '<msgType>Notice</msgType>'))).toThrow(/unknown <msgType> "Notice"/)
  })

  it('refuses a date that is not a CAP dateTime', () => {
    expect(() => parseCap(minimal.replace(/<sent>.*<\/sent>/, '<sent>9 May 2024</sent>'))).toThrow(/invalid <sent> "9 May 2024"/)
  })

  it('refuses a polygon that is not lat,lon pairs', () => {
    const xml = minimal.replace('</info>', '<area><areaDesc>x</areaDesc><polygon>1,2 3;4 1,2</polygon></area></info>')
    expect(() => parseCap(xml)).toThrow(/invalid <polygon> "1,2 3;4 1,2"/)
  })

  it('refuses a document in another namespace, such as CAP 1.0', () => {
    const xml = minimal.replace('urn:oasis:names:tc:emergency:cap:1.2', 'http://www.incident.com/cap/1.0')
    expect(() => parseCap(xml)).toThrow(/not a CAP 1.1 or 1.2 document: <alert> has namespace "http:\/\/www.incident.com\/cap\/1.0"/)
  })

  it('refuses a document whose root is not an alert', () => {
    expect(() => parseCap('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id></feed>')).toThrow(/root element is not <alert>/)
  })

  it('refuses XML that is not well-formed', () => {
    expect(() => parseCap(minimal.replace('</scope>', '</scop>'))).toThrow(/not well-formed XML/)
  })
})

describe('round trip', () => {
  it.each([
    ['a minimal announcement', makeAnnouncement()],
    ['an announcement with every field', makeFullAnnouncement()],
  ])('builds the same XML again from the parse of %s', (_name, announcement) => {
    const xml = buildCapXml(announcement)
    expect(buildCapXml(rebuildAnnouncement(announcement, parseCap(xml)))).toBe(xml)
  })

  it('builds the same XML again from the parse of an Update with references', () => {
    const original = makeAnnouncement({createdAt: baseTime - 60_000})
    const update = makeFullAnnouncement({msgType: 'Update', references: original.id})
    const xml = buildCapXml(update, {referenced: original})
    const parsed = parseCap(xml)
    expect(parsed.references).toEqual([{sender: original.sender, identifier: original.identifier, sent: original.createdAt}])
    expect(buildCapXml(rebuildAnnouncement(update, parsed), {referenced: original})).toBe(xml)
  })
})
