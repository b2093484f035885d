import {describe, expect, it} from 'vitest'
import {inQuietHours, localIsoMinute, quietHoursEnd} from '../../../src/core/policy/quiet-hours.js'

const night = {from: '22:00', to: '07:00'}
const lunch = {from: '12:00', to: '14:00'}
const london = 'Europe/London'

describe('quiet hours', () => {
  it('a range that wraps midnight: 22:00 up to, not including, 07:00', () => {
    // 25 Nov 2026 is GMT: UTC is London's wall clock
    expect(inQuietHours(Date.UTC(2026, 10, 25, 21, 59), night, london)).toBe(false)
    expect(inQuietHours(Date.UTC(2026, 10, 25, 22, 0), night, london)).toBe(true)
    expect(inQuietHours(Date.UTC(2026, 10, 25, 23, 59), night, london)).toBe(true)
    expect(inQuietHours(Date.UTC(2026, 10, 26, 0, 0), night, london)).toBe(true)
    expect(inQuietHours(Date.UTC(2026, 10, 26, 6, 59), night, london)).toBe(true)
    expect(inQuietHours(Date.UTC(2026, 10, 26, 7, 0), night, london)).toBe(false)
    expect(inQuietHours(Date.UTC(2026, 10, 26, 12, 0), night, london)).toBe(false)
  })

  it('a range within one day', () => {
    expect(inQuietHours(Date.UTC(2026, 10, 25, 11, 59), lunch, london)).toBe(false)
    expect(inQuietHours(Date.UTC(2026, 10, 25, 12, 0), lunch, london)).toBe(true)
    expect(inQuietHours(Date.UTC(2026, 10, 25, 13, 59), lunch, london)).toBe(true)
    expect(inQuietHours(Date.UTC(2026, 10, 25, 14, 0), lunch, london)).toBe(false)
    expect(inQuietHours(Date.UTC(2026, 10, 25, 23, 0), lunch, london)).toBe(false)
  })

  it('reads the configured zone’s wall clock, summer time included', () => {
    // 1 July 2026: London is BST (UTC+1), so 21:30 UTC is 22:30 there
    expect(inQuietHours(Date.UTC(2026, 6, 1, 21, 30), night, london)).toBe(true)
    expect(inQuietHours(Date.UTC(2026, 6, 1, 21, 30), night, 'UTC')).toBe(false)
    // 06:30 UTC is 07:30 BST: quiet hours are over in London
    expect(inQuietHours(Date.UTC(2026, 6, 2, 6, 30), night, london)).toBe(false)
    expect(inQuietHours(Date.UTC(2026, 6, 2, 6, 30), night, 'America/New_York')).toBe(true)
  })

  it('ends at the next "to": tomorrow after the evening start, today after midnight', () => {
    expect(quietHoursEnd(Date.UTC(2026, 10, 25, 23, 15), night, london)).toBe(Date.UTC(2026, 10, 26, 7, 0))
    expect(quietHoursEnd(Date.UTC(2026, 10, 26, 3, 0), night, london)).toBe(Date.UTC(2026, 10, 26, 7, 0))
    expect(quietHoursEnd(Date.UTC(2026, 10, 25, 12, 30), lunch, london)).toBe(Date.UTC(2026, 10, 25, 14, 0))
    // over a month end, in summer time: 07:00 BST is 06:00 UTC
    expect(quietHoursEnd(Date.UTC(2026, 5, 30, 22, 0), night, london)).toBe(Date.UTC(2026, 6, 1, 6, 0))
  })

  it('prints the zone’s wall clock as crier schedule --at reads it', () => {
    expect(localIsoMinute(Date.UTC(2026, 6, 1, 6, 0), london)).toBe('2026-07-01T07:00')
    expect(localIsoMinute(Date.UTC(2026, 10, 26, 7, 0), london)).toBe('2026-11-26T07:00')
  })
})
