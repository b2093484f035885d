import {describe, expect, it} from 'vitest'
import {counted} from '../../src/core/counted.js'

describe('counted', () => {
  it('one is singular; none and many are plural, with thousands separated as the officer reads them', () => {
    expect(counted(1, 'delivery', 'deliveries')).toBe('1 delivery')
    expect(counted(0, 'delivery', 'deliveries')).toBe('0 deliveries')
    expect(counted(118, 'delivery', 'deliveries')).toBe('118 deliveries')
    expect(counted(12000, 'subscriber')).toBe('12,000 subscribers')
    expect(counted(1, 'approval')).toBe('1 approval')
  })
})
