import {describe, expect, it} from 'vitest'
import {retryDelayMs} from '../../src/engine/backoff.js'
import {TokenBucket} from '../../src/engine/rate-limit.js'
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

describe('TokenBucket', () => {
  it('allows the configured rate and refills continuously', () => {
    const bucket = new TokenBucket(10, 0)
    expect(bucket.available(0)).toBe(10)
    for (let i = 0; i < 10; i++) bucket.take()
    expect(bucket.available(0)).toBe(0)
    expect(bucket.waitMs(0)).toBe(100)
    expect(bucket.available(250)).toBe(2)
    expect(bucket.available(10_000)).toBe(10)
  })

  it('handles rates below one per second', () => {
    const bucket = new TokenBucket(0.5, 0)
    expect(bucket.available(0)).toBe(1)
    bucket.take()
    expect(bucket.waitMs(0)).toBe(2000)
    expect(bucket.available(1999)).toBe(0)
    expect(bucket.available(2000)).toBe(1)
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
