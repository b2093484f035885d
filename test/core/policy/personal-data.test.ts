import {describe, expect, it} from 'vitest'
import type {PersonalDataDetector} from '../../../src/config/schema.js'
import {findPersonalData, maskPhone, type PersonalDataOptions} from '../../../src/core/policy/personal-data.js'

const all = new Set<PersonalDataDetector>(['phone', 'email', 'nationalInsurance', 'vehicleRegistration'])

function find(text: string, options: Partial<PersonalDataOptions> = {}) {
  return findPersonalData(text, {detectors: all, regions: ['GB'], allowedNumbers: [], allowedEmails: [], ...options})
}

describe('phone numbers', () => {
  it('finds UK numbers written nationally and internationally, masked', () => {
    expect(find('Witness: call Dave on 07700 900123.')).toEqual([{detector: 'phone', key: '+447700900123', masked: '+44 77** ***123'}])
    expect(find('Ring +44 7911 123456 or 01492 512345')).toEqual([
      {detector: 'phone', key: '+447911123456', masked: '+44 79** ***456'},
      {detector: 'phone', key: '+441492512345', masked: '+44 14** ***345'},
    ])
  })

  it('finds US and EU numbers in +country form, and US national numbers with region US', () => {
    expect(find('FR +33 6 12 34 56 78, DE +49 30 901820, US +1 213 373 4253').map((f) => f.key)).toEqual(['+33612345678', '+4930901820', '+12133734253'])
    expect(find('Call (213) 373-4253.', {regions: ['US']}).map((f) => f.key)).toEqual(['+12133734253'])
  })

  it('without a region reads only +country numbers', () => {
    expect(find('07700 900123 or +44 7700 900456', {regions: []}).map((f) => f.key)).toEqual(['+447700900456'])
  })

  it('does not flag emergency and public service numbers', () => {
    expect(find('Call 999 in an emergency, 101 otherwise, 111 for the NHS, 112 or 911 abroad, 116 123 Samaritans.')).toEqual([])
  })

  it('does not flag times, dates, counts, road numbers or postcodes', () => {
    expect(find('Closed 10:00–14:00 on 09/05/2024 (2024-05-09); 12,500 homes; A55 J11-J12; LL26 0AB; 1,234,567 litres.')).toEqual([])
  })

  it('does not flag numbers on the allowlist, however they are written', () => {
    const allowedNumbers = ['0300 123 4567', '+44 7700 900999']
    expect(find('Hotline 0300 1234567 or +443001234567; text 07700900999.', {allowedNumbers})).toEqual([])
    expect(find('Hotline 0300 123 4567, or ring Dave on 07700 900123', {allowedNumbers}).map((f) => f.key)).toEqual(['+447700900123'])
  })

  it('masks all but the country code, two digits and the last three', () => {
    expect(maskPhone('+44 7700 900123', 2)).toBe('+44 77** ***123')
    expect(maskPhone('+1 213 373 4253', 1)).toBe('+1 21* *** *253')
    expect(maskPhone('+49 30 901820', 2)).toBe('+49 30 ***820')
  })
})

describe('e-mail addresses', () => {
  it('finds addresses, masked to the first letter and the domain', () => {
    expect(find('Contact jane.doe@example.org or JOHN@Example.ORG.')).toEqual([
      {detector: 'email', key: 'jane.doe@example.org', masked: 'j***@example.org'},
      {detector: 'email', key: 'john@example.org', masked: 'j***@example.org'},
    ])
  })

  it('does not flag allowlisted addresses and domains (subdomains too)', () => {
    const allowedEmails = ['alerts@northwales.example', '@police.example']
    expect(find('Write to alerts@northwales.example, foi@police.example or press@media.police.example', {allowedEmails})).toEqual([])
    expect(find('Write to other@northwales.example', {allowedEmails}).map((f) => f.key)).toEqual(['other@northwales.example'])
    expect(find('Write to x@notpolice.example', {allowedEmails}).map((f) => f.key)).toEqual(['x@notpolice.example'])
  })
})

describe('National Insurance numbers', () => {
  it('finds them with or without spaces, masked to prefix and suffix', () => {
    expect(find('NI number JG103759C and ab 12 34 56 d')).toEqual([
      {detector: 'nationalInsurance', key: 'JG103759C', masked: 'JG ** ** ** C'},
      {detector: 'nationalInsurance', key: 'AB123456D', masked: 'AB ** ** ** D'},
    ])
  })

  it('finds them written with hyphens, dashes or spaces between the pairs', () => {
    expect(find('NI AB-12-34-56-C, then ab 12 34 56 c again; JG\u201110\u201137\u201159\u2011C; CE-123456-A')).toEqual([
      {detector: 'nationalInsurance', key: 'AB123456C', masked: 'AB ** ** ** C'},
      {detector: 'nationalInsurance', key: 'JG103759C', masked: 'JG ** ** ** C'},
      {detector: 'nationalInsurance', key: 'CE123456A', masked: 'CE ** ** ** A'},
    ])
  })

  it('does not flag road numbers, junctions, times, dates or references', () => {
    expect(find('A55 J11-J12, M6 J20; 18:00-06:00 on 12-05-2024, 2024-05-09; ref AB-12-34-56; AB--12-34-56-C; AB-12-34-56-CD')).toEqual([])
  })

  it('ignores prefixes HMRC never issues (QQ is its example) and suffixes past D', () => {
    expect(find('QQ123456C DA123456A QA123456A AO123456A GB123456A ZZ123456A TN123456A AB123456E')).toEqual([])
    expect(find('an order ref XAB123456CX')).toEqual([])
  })
})

describe('vehicle registrations', () => {
  it('finds the current UK format, masked', () => {
    expect(find('Seen driving AB12 CDE and later XY70ABC.')).toEqual([
      {detector: 'vehicleRegistration', key: 'AB12CDE', masked: 'AB12 ***'},
      {detector: 'vehicleRegistration', key: 'XY70ABC', masked: 'XY70 ***'},
    ])
  })

  it('finds them in lower and mixed case, keyed and masked in capitals', () => {
    expect(find('Seen driving ab12 cde, then Ab12 Cde, then ab12cde again; later Xy70abc and XY70abc.')).toEqual([
      {detector: 'vehicleRegistration', key: 'AB12CDE', masked: 'AB12 ***'},
      {detector: 'vehicleRegistration', key: 'XY70ABC', masked: 'XY70 ***'},
    ])
  })

  it('ignores postcodes, road numbers, junctions, times, dates and longer runs', () => {
    expect(find('LL26 0AB, ll26 0ab, A55, a55 J11, M6 J20, m6 j20, 18:00, 09/05/2024, ABC12 DEF, AB12 CDEF, ab12 cdef, abc12def')).toEqual([])
  })

  it('ignores a postcode district or a measure followed by an ordinary word', () => {
    // Written as plates are, in capitals, "LL26 AND" is read as one; in ordinary text it is not.
    expect(find('Homes in LL26 and LL27 are without water; Sy23 was flooded; pm10 and pm25 are high; PM10 now falling; Ch47 The Wirral')).toEqual([])
    expect(find('pm10 was high, fy24 for you, ll26 the town, ab12 are')).toEqual([])
  })

  it('does not read a plate written with a space after its letters: dates and speeds look the same', () => {
    // "MA 12 CDE" is not how plates are written (DVLA: "MA12 CDE"), and "ON 12 MAY", "TO 40 MPH"
    // and "by 14 Jun" have the same shape.
    expect(find('MA 12 CDE; CLOSED ON 12 MAY; SPEED LIMIT TO 40 MPH; open by 14 Jun; At 18 Oct')).toEqual([])
  })
})

it('sees through invisible format characters inside a number or an address', () => {
  expect(find('Dave 07700\u200b900123, da\u00adve@example.org, JG10\u200d3759C, AB12\u2060CDE').map((f) => f.key)).toEqual(['+447700900123', 'dave@example.org', 'JG103759C', 'AB12CDE'])
})

it('reads full-width digits and letters as the phone and the reader do', () => {
  expect(find('Call \uff10\uff17\uff17\uff10\uff10 \uff19\uff10\uff10\uff11\uff12\uff13 now, or \uff44\uff41\uff56\uff45@example.org').map((f) => f.key)).toEqual(['+447700900123', 'dave@example.org'])
})

it('in a link, reads only numbers written with their + or 0: others are ids', () => {
  const link = (text: string) => findPersonalData(text, {detectors: all, regions: ['GB', 'US'], allowedNumbers: [], allowedEmails: []}, 'link')
  expect(link('https://example.org/news/article-1234567?id=123456789&post=2345678901')).toEqual([])
  expect(link('https://example.org/?tel=07700 900123&alt=+44 7911 123456&ring=(01492) 512345').map((f) => f.key)).toEqual(['+447700900123', '+447911123456', '+441492512345'])
})

it('runs only the detectors asked for', () => {
  const text = 'Dave 07700 900123, dave@example.org, JG103759C, AB12 CDE'
  expect(find(text, {detectors: new Set(['email'])}).map((f) => f.detector)).toEqual(['email'])
  expect(find(text, {detectors: new Set()})).toEqual([])
  expect(find(text).map((f) => f.detector)).toEqual(['phone', 'email', 'nationalInsurance', 'vehicleRegistration'])
})
