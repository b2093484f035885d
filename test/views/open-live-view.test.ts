import {afterEach, describe, expect, it, vi} from 'vitest'
import {openLiveView} from '../../src/views/live/open-live-view.js'
import type {LiveViewOptions, LiveViewSession} from '../../src/views/live/session.js'

type SessionModule = typeof import('../../src/views/live/session.js')

const options = {role: 'watcher', read: () => { throw new Error('not read in these tests') }, retry: () => 0, interrupt: () => {}, colour: false} as unknown as LiveViewOptions

afterEach(() => {
  vi.restoreAllMocks()
})

function stderrLines(): string[] {
  const lines: string[] = []
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true))
  return lines
}

describe('openLiveView', () => {
  it('returns the session when the view starts, and says nothing', async () => {
    const lines = stderrLines()
    const session = {ended: Promise.resolve('final')} as unknown as LiveViewSession
    const started: LiveViewOptions[] = []
    const module = {startLiveView: async (given: LiveViewOptions) => (started.push(given), session)} as unknown as SessionModule
    expect(await openLiveView(Promise.resolve(module), options)).toBe(session)
    expect(started).toEqual([options])
    expect(lines).toEqual([])
  })

  it('falls back with one line naming why, with control sequences stripped, when the view cannot start', async () => {
    const lines = stderrLines()
    const module = {startLiveView: async () => { throw new Error('Raw mode is not supported\u001b[2J on this stream\nat Object.<anonymous>') }} as unknown as SessionModule
    expect(await openLiveView(Promise.resolve(module), options)).toBeUndefined()
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^Live view unavailable \(Raw mode is not supported on this stream/)
    expect(lines[0]).toMatch(/\); plain progress lines instead\.\n$/)
    expect(lines[0]).not.toContain('\u001b')
    expect(lines[0]!.trimEnd()).not.toContain('\n')
  })

  it('falls back when the view module itself fails to load', async () => {
    const lines = stderrLines()
    expect(await openLiveView(Promise.reject(new Error('Cannot find module ink-app.js')), options)).toBeUndefined()
    expect(lines).toEqual(['Live view unavailable (Cannot find module ink-app.js); plain progress lines instead.\n'])
  })
})
