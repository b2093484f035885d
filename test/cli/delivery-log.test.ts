import {afterEach, describe, expect, it, vi} from 'vitest'
import {deliveryLog} from '../../src/cli/delivery-log.js'
import type {DispatchEvent} from '../../src/engine/dispatcher.js'

afterEach(() => {
  vi.useRealTimers()
})

const event = (i: number, nextState: DispatchEvent['nextState'] = 'sent', announcementId = 'A1', channel = 'sms'): DispatchEvent => ({
  channel,
  deliveryId: `D${i}`,
  announcementId,
  outcome: nextState === 'sent' ? 'sent' : 'permanent',
  nextState,
  ...(nextState === 'dead' ? {error: 'HTTP 400: \u001b[31mbad number'} : {}),
})

describe("the worker's delivery log", () => {
  it('logs the first ten of an announcement on a channel ending one way, then counts the rest every ten seconds', () => {
    vi.useFakeTimers()
    const lines: Array<Record<string, unknown>> = []
    const log = deliveryLog((line) => lines.push(line))
    for (let i = 0; i < 48_000; i++) log.add(event(i))
    for (let i = 0; i < 12; i++) log.add(event(i, 'dead'))
    log.add(event(0, 'sent', 'A2', 'email'))
    expect(lines.map((line) => line.event)).toEqual([...Array(10).fill('delivery-sent'), ...Array(10).fill('delivery-dead'), 'delivery-sent'])
    expect(lines[10]).toMatchObject({announcement: 'A1', channel: 'sms', delivery: 'D0', error: 'HTTP 400: \u001b[31mbad number'})
    vi.advanceTimersByTime(10_000)
    expect(lines.slice(21)).toEqual([
      {event: 'deliveries-sent', announcement: 'A1', channel: 'sms', count: 47_990},
      {event: 'deliveries-dead', announcement: 'A1', channel: 'sms', count: 2},
    ])
    // Nothing new: nothing logged; what comes later is counted into the next.
    vi.advanceTimersByTime(10_000)
    expect(lines).toHaveLength(23)
    log.add(event(48_000))
    log.close()
    expect(lines.at(-1)).toEqual({event: 'deliveries-sent', announcement: 'A1', channel: 'sms', count: 1})
  })

  it('writes plain lines with the error cut to one line and stripped of escape sequences', () => {
    const texts: string[] = []
    const log = deliveryLog((_line, text) => texts.push(text))
    log.add(event(1, 'dead'))
    log.close()
    expect(texts).toEqual(['sms D1 dead: HTTP 400: bad number'])
  })
})
