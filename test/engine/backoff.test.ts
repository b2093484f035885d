import {describe, expect, it} from 'vitest'
import {retryDelayMs} from '../../src/engine/backoff.js'
import {deliveryPriority} from '../../src/engine/priority.js'

describe('retryDelayMs (full jitter)', () => {
  it('spreads the delay over [0, base·2^(attempt-1))', () => {
    expect(retryDelayMs(1, 1000, 300_000, () => 0)).toBe(0)
    expect(retryDelayMs(1, 1000, 300_000, () => 0.999)).toBe(999)
    expect(retryDelayMs(3, 1000, 300_000, () => 0.5)).toBe(2000)
    expect(retryDelayMs(4, 1000, 300_000, () => 0.999)).toBe(7992)
  })

  it('never exceeds the cap however many attempts', () => {
    for (let attempt = 1; attempt < 60; attempt++) expect(retryDelayMs(attempt, 1000, 5000, () => 0.9999)).toBeLessThan(5000)
  })
})

describe('deliveryPriority', () => {
  it('puts Extreme/Immediate first and Minor/Past last', () => {
    const ranked = [
      {severity: 'Minor', urgency: 'Past'},
      {severity: 'Extreme', urgency: 'Immediate'},
      {severity: 'Moderate', urgency: 'Expected'},
      {severity: 'Severe', urgency: 'Future'},
      {severity: 'Extreme', urgency: 'Expected'},
    ] as const
    const order = [...ranked].sort((a, b) => deliveryPriority(a) - deliveryPriority(b))
    expect(order.map((x) => `${x.severity}/${x.urgency}`)).toEqual(['Extreme/Immediate', 'Extreme/Expected', 'Severe/Future', 'Moderate/Expected', 'Minor/Past'])
  })
})
