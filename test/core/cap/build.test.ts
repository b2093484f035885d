import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {buildCapXml, capReference, formatCapDateTime} from '../../../src/core/cap/build.js'
import {parseCap} from '../../../src/core/cap/parse.js'
import {baseTime, makeAnnouncement, makeFullAnnouncement} from '../../helpers/announcement.js'
import {capSchemaErrors} from '../../helpers/validate-cap.js'

describe('buildCapXml', () => {
  it('writes a minimal announcement as exactly this CAP 1.2 document', async () => {
    const announcement = makeAnnouncement({identifier: 'northwales-2024-0042'})
    const xml = buildCapXml(announcement)
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">',
        '  <identifier>northwales-2024-0042</identifier>',
        '  <sender>alerts@northwales.example</sender>',
        '  <sent>2024-05-09T09:30:00-00:00</sent>',
        '  <status>Actual</status>',
        '  <msgType>Alert</msgType>',
        '  <scope>Public</scope>',
        '  <info>',
        '    <language>en-GB</language>',
        '    <category>Transport</category>',
        '    <event>Road closure</event>',
        '    <urgency>Expected</urgency>',
        '    <severity>Minor</severity>',
        '    <certainty>Observed</certainty>',
        '    <headline>A55 closed at Junction 11</headline>',
        '    <description>The A55 is closed eastbound at Junction 11 after a collision.</description>',
        '  </info>',
        '</alert>',
      ].join('\n'),
    )
    expect(await capSchemaErrors(xml)).toEqual([])
  })

  it('writes an announcement with every field as a document the CAP 1.2 schema accepts', async () => {
    const xml = buildCapXml(makeFullAnnouncement())
    expect(await capSchemaErrors(xml)).toEqual([])
    expect(xml.match(/<info>/g)).toHaveLength(2)
    expect(xml).toContain('<language>cy-GB</language>')
    expect(xml).toContain('<effective>2024-05-09T09:30:00-00:00</effective>')
    expect(xml).toContain('<expires>2024-05-09T15:30:00-00:00</expires>')
    expect(xml).toContain('<polygon>53.28,-3.83 53.29,-3.8 53.14,-3.79 53.13,-3.81 53.28,-3.83</polygon>')
    expect(xml).toContain('<circle>53.1398,-3.7966 2.5</circle>')
    expect(xml).toContain('<geocode>\n        <valueName>GSS</valueName>\n        <value>W06000003</value>\n      </geocode>')
  })

  it('escapes markup characters and keeps quotes and emoji as they were written', () => {
    const xml = buildCapXml(makeFullAnnouncement())
    expect(xml).toContain('<description>Water levels &lt; 1m from the top of the defences &amp; rising. Don\'t drive through flood water.</description>')
    expect(xml).toContain('<headline>Flood warning: River Conwy "severe" 🌊</headline>')
    expect(xml).toContain('<areaDesc>Conwy &amp; Llanrwst &lt;riverside&gt;</areaDesc>')
    expect(xml).toContain('<web>https://northwales.example/alerts/flood?area=conwy&amp;lang=en</web>')
  })

  it('names the referenced message of an Update as sender,identifier,sent', async () => {
    const original = makeAnnouncement({identifier: 'northwales-2024-0100', createdAt: baseTime - 3_600_000})
    const update = makeAnnouncement({msgType: 'Update', references: original.id})
    const xml = buildCapXml(update, {referenced: original})
    expect(await capSchemaErrors(xml)).toEqual([])
    expect(xml).toContain('<scope>Public</scope>\n  <references>alerts@northwales.example,northwales-2024-0100,2024-05-09T08:30:00-00:00</references>\n  <info>')
    expect(capReference(original)).toBe('alerts@northwales.example,northwales-2024-0100,2024-05-09T08:30:00-00:00')
  })

  it('names the whole thread in a Cancel of an Update, oldest first, so a reader that missed the Update withdraws the Alert', async () => {
    const alert = makeAnnouncement({identifier: 'northwales-2024-0100', createdAt: baseTime - 3_600_000})
    const update = makeAnnouncement({identifier: 'northwales-2024-0101', msgType: 'Update', references: alert.id, createdAt: baseTime - 1_800_000})
    const cancel = makeAnnouncement({msgType: 'Cancel', references: update.id})
    const xml = buildCapXml(cancel, {referenced: update, earlier: [alert]})
    expect(await capSchemaErrors(xml)).toEqual([])
    expect(xml).toContain('<references>alerts@northwales.example,northwales-2024-0100,2024-05-09T08:30:00-00:00 alerts@northwales.example,northwales-2024-0101,2024-05-09T09:00:00-00:00</references>')
  })

  it('leaves references out when the referenced announcement is not given', async () => {
    const xml = buildCapXml(makeAnnouncement({msgType: 'Cancel', references: '01HXAMP1E00000000000009999'}))
    expect(xml).not.toContain('<references>')
    expect(await capSchemaErrors(xml)).toEqual([])
  })

  it('refuses a referenced announcement that is not the one the announcement references', () => {
    const other = makeAnnouncement()
    const update = makeAnnouncement({msgType: 'Update', references: '01HXAMP1E00000000000009999'})
    expect(() => buildCapXml(update, {referenced: other})).toThrow(/references 01HXAMP1E00000000000009999, not/)
  })

  it('writes sent as the creation time in the schema pattern, without Z or a fraction', () => {
    const xml = buildCapXml(makeAnnouncement({createdAt: Date.UTC(2024, 11, 31, 23, 59, 59, 987)}))
    expect(xml).toContain('<sent>2024-12-31T23:59:59-00:00</sent>')
    // One published before crier wrote -00:00 is quoted, and written again, as it was published.
    const legacy = makeAnnouncement({utcWrittenAs: '+00:00'})
    expect(capReference(legacy)).toMatch(/,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/)
    expect(buildCapXml(legacy)).toMatch(/<sent>[^<]*\+00:00<\/sent>/)
    // CAP 1.2 §3.3.2: UTC is written -00:00, as the agencies' own alerts write it.
    expect(formatCapDateTime(0)).toBe('1970-01-01T00:00:00-00:00')
    expect(readFileSync(new URL('../../fixtures/cap/canada.cap', import.meta.url), 'utf8')).toMatch(/<sent>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-00:00<\/sent>/)
  })

  it('closes an open polygon ring and writes coordinates in plain decimals', async () => {
    const xml = buildCapXml(
      makeAnnouncement({
        area: {
          description: 'Null Island',
          polygons: [
            [
              [0.0000001, -0],
              [1, 0],
              [1, 1],
            ],
          ],
          circles: [{lat: -1e-7, lon: 0, radiusKm: 0}],
          geocodes: [],
        },
      }),
    )
    expect(xml).toContain('<polygon>0.0000001,0 1,0 1,1 0.0000001,0</polygon>')
    expect(xml).toContain('<circle>-0.0000001,0 0</circle>')
    expect(await capSchemaErrors(xml)).toEqual([])
  })

  it('refuses a polygon of fewer than three points', () => {
    const announcement = makeAnnouncement({area: {description: 'x', polygons: [[[1, 1], [2, 2]]], circles: [], geocodes: []}})
    expect(() => buildCapXml(announcement)).toThrow(/polygon 1 has 2 points/)
  })

  it('drops control characters XML cannot carry and normalises line endings', async () => {
    const xml = buildCapXml(
      makeAnnouncement({variants: [{language: 'en-GB', headline: 'Bell\u0007 here', description: 'Line one\r\nLine two\rLine three\n'}]}),
    )
    expect(xml).toContain('<headline>Bell here</headline>')
    expect(xml).toContain('<description>Line one\nLine two\nLine three</description>')
    expect(await capSchemaErrors(xml)).toEqual([])
  })

  it('omits optional text that is empty', () => {
    const xml = buildCapXml(makeAnnouncement({web: '', variants: [{language: 'en-GB', headline: 'Closed', description: 'Road closed.', instruction: '  '}]}))
    expect(xml).not.toContain('<instruction')
    expect(xml).not.toContain('<web')
  })

  it('writes the same document for the same announcement every time', () => {
    const announcement = makeFullAnnouncement()
    expect(buildCapXml(announcement)).toBe(buildCapXml(structuredClone(announcement)))
  })

  it('writes a document that parses back to the announcement it came from', () => {
    const announcement = makeFullAnnouncement()
    const parsed = parseCap(buildCapXml(announcement))
    expect(parsed).toEqual({
      identifier: announcement.identifier,
      sender: announcement.sender,
      senderName: announcement.senderName,
      sent: announcement.createdAt,
      status: announcement.status,
      msgType: announcement.msgType,
      scope: announcement.scope,
      category: announcement.category,
      event: announcement.event,
      urgency: announcement.urgency,
      severity: announcement.severity,
      certainty: announcement.certainty,
      web: announcement.web,
      effectiveAt: announcement.effectiveAt,
      expiresAt: announcement.expiresAt,
      area: announcement.area,
      variants: announcement.variants,
    })
  })
})
