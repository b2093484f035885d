import {describe, expect, it} from 'vitest'
import {formatDuration, formatEta, formatRate, packTokens, percent, progressBar, severityColour, severityWord} from '../../src/views/live/format.js'
import {addRateSample, channelRate} from '../../src/views/live/rates.js'
import {canShowLiveView, wantsColour} from '../../src/views/live/terminal.js'
import {progressLine} from '../../src/views/live/progress-lines.js'
import {channel, snapshot, startedAt} from './live-fixtures.js'

describe('live view formatting', () => {
  it('colours severities as the issue says, and always names them', () => {
    expect(severityColour('Extreme')).toBe('red')
    expect(severityColour('Severe')).toBe('#ff8700')
    expect(severityColour('Moderate')).toBe('yellow')
    expect(severityColour('Minor')).toBe('green')
    expect(severityColour('Unknown')).toBeUndefined()
    expect(severityWord('Unknown')).toBe('UNKNOWN')
  })

  it('never shows a bar or a percentage as complete before it is', () => {
    expect(progressBar(999, 1000, 10)).toBe('█████████░')
    expect(percent(999, 1000)).toBe('99%')
    expect(progressBar(1000, 1000, 10)).toBe('██████████')
    expect(progressBar(0, 0, 4)).toBe('████')
    expect(progressBar(0, 10, 4)).toBe('░░░░')
  })

  it('durations, rates and ETAs', () => {
    expect(formatDuration(42_000)).toBe('0:42')
    expect(formatDuration(3_723_000)).toBe('1:02:03')
    expect(formatRate(undefined)).toBe('—')
    expect(formatRate(1234.4)).toBe('1,234/s')
    expect(formatRate(2.54)).toBe('2.5/s')
    expect(formatRate(0)).toBe('0/s')
    expect(formatEta(100, 10)).toBe('ETA 0:10')
    expect(formatEta(100, 0)).toBe('ETA —')
    expect(formatEta(0, undefined)).toBe('ETA 0:00')
  })

  it('packs tokens into lines no wider than asked', () => {
    const tokens = ['sent 1/10', 'failed 0', 'pending 9', 'dead 0'].map((text) => ({text}))
    expect(packTokens(tokens, 20).map((line) => line.map((t) => t.text).join('  '))).toEqual(['sent 1/10  failed 0', 'pending 9  dead 0'])
  })

  it('rates over the window: the oldest sample inside it is the base', () => {
    let samples = addRateSample([], snapshot([channel('a', {queued: 100})], {at: startedAt}), 5000)
    samples = addRateSample(samples, snapshot([channel('a', {queued: 90, sent: 10})], {at: startedAt + 4000}), 5000)
    samples = addRateSample(samples, snapshot([channel('a', {queued: 50, sent: 50})], {at: startedAt + 9000}), 5000)
    expect(samples.map((s) => s.at - startedAt)).toEqual([4000, 9000])
    expect(channelRate(samples, 'a')).toBe(8)
  })

  it('the live view needs a terminal on stderr and no --json; colour yields to --no-color and NO_COLOR', () => {
    expect(canShowLiveView(false, {isTTY: true}, {}, () => true)).toBe(true)
    expect(canShowLiveView(true, {isTTY: true}, {}, () => true)).toBe(false)
    expect(canShowLiveView(false, {isTTY: false}, {}, () => true)).toBe(false)
    expect(canShowLiveView(false, {isTTY: true}, {TERM: 'dumb'}, () => true)).toBe(false)
    // A CI job's log gets plain progress lines, not cursor codes.
    expect(canShowLiveView(false, {isTTY: true}, {CI: 'true'}, () => true)).toBe(false)
    expect(canShowLiveView(false, {isTTY: true}, {CI: 'false'}, () => true)).toBe(true)
    // Started in the background: raw mode would stop it (SIGTTOU), holding its deliveries.
    expect(canShowLiveView(false, {isTTY: true}, {}, () => false)).toBe(false)
    expect(wantsColour(true, {})).toBe(true)
    expect(wantsColour(false, {})).toBe(false)
    expect(wantsColour(true, {NO_COLOR: '1'})).toBe(false)
    expect(wantsColour(true, {NO_COLOR: ''})).toBe(true)
  })

  it('a plain progress line names every channel with what matters', () => {
    const line = progressLine(snapshot([channel('partners', {sent: 620, failed: 3, dead: 1, queued: 376}), channel('website', {sent: 1})]))
    expect(line).toBe('0:42 01JD5XABCDEF partners sent 620/1,000, failed 3, dead 1; website sent 1/1')
  })
})
