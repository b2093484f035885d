import {describe, expect, it} from 'vitest'
import {normaliseContact, normalisePhone} from '../../../src/core/subscribers/contacts.js'
import {subscriberLine} from '../../../src/views/subscriber-lines.js'

describe('contacts as people write them', () => {
  it('takes a tel: number as CRM exports write it', () => {
    expect(normalisePhone('tel:+447700900004')).toBe('+447700900004')
    expect(normalisePhone('TEL:07700 900004', 'GB')).toBe('+447700900004')
    expect(normaliseContact('tel:+447700900004')).toBe('+447700900004')
  })

  it('refuses what is not a number at all', () => {
    expect(normalisePhone('tel:call me')).toBeUndefined()
    expect(normalisePhone('12', 'GB')).toBeUndefined()
  })
})

describe('a subscriber row', () => {
  it('stays one line whatever the name holds, with the language apart from it', () => {
    const line = subscriberLine({id: 7, list: 'residents', name: 'Multi\nline\u001b[31m name', email: null, emailOptedOut: false, phone: '+447700900004', phoneOptedOut: false, optedOut: false, language: 'cy-Latn-GB', lat: null, lon: null, zone: null, tags: [], createdAt: 0, updatedAt: 0})
    expect(line.split('\n')).toHaveLength(1)
    expect(line).toMatch(/cy-Latn-GB Multi line name$/)
  })
})
