import type {readSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {readBounded} from '../../src/cli/read-text.js'

// stdin can be non-blocking (the parent left it so, or Node did): a read with nothing there yet
// fails with EAGAIN. Text from a slow writer is still read whole, without asking the descriptor
// thousands of times a second — a core spun for as long as the writer took.

/** A descriptor with nothing for `silentMs`, then `text`, then its end; counts the reads asked of it. */
function slowWriter(silentMs: number, text: string): {read: typeof readSync; reads: () => number} {
  const ready = Date.now() + silentMs
  let reads = 0
  let given = false
  const read = ((_fd: number, buffer: Buffer) => {
    reads++
    if (Date.now() < ready) throw Object.assign(new Error('EAGAIN: resource temporarily unavailable, read'), {code: 'EAGAIN'})
    if (given) return 0
    given = true
    return buffer.write(text)
  }) as unknown as typeof readSync
  return {read, reads: () => reads}
}

describe('reading stdin that is not ready yet', () => {
  it('waits for a writer silent for a while, reads its text whole, and asks again only every few milliseconds', () => {
    const writer = slowWriter(300, 'Road closed at Betws-y-Coed.')
    expect(readBounded(0, writer.read).toString('utf8')).toBe('Road closed at Betws-y-Coed.')
    // 300 ms at one try per 10 ms is about 30; a spinning loop asks hundreds of thousands of times.
    expect(writer.reads()).toBeLessThan(100)
    expect(writer.reads()).toBeGreaterThan(2)
  })
})
