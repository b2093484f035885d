import chalk from 'chalk'
import {render} from 'ink-testing-library'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {LiveView} from '../../src/views/live/live-view.js'
import {LiveViewModel, type LiveRole} from '../../src/views/live/model.js'
import type {LiveSnapshot} from '../../src/engine/live-snapshot.js'
import {channel, snapshot, startedAt, viewProps, widthOf} from './live-fixtures.js'

// The live view's frames, drawn by Ink into ink-testing-library's stream: what an officer
// reads at a glance, at 80 columns and at 40, with colour and without.

const frames: Array<{unmount(): void}> = []
afterEach(() => {
  for (const frame of frames.splice(0)) frame.unmount()
})

/** The frame for these snapshots, fed through the model as the session does. */
function frameOf(snaps: LiveSnapshot[], view: {role?: LiveRole; colour?: boolean; columns?: number; rows?: number; finished?: boolean} = {}): string {
  const model = new LiveViewModel(view.role ?? 'watcher')
  for (const snap of snaps) model.onSnapshot(snap)
  if (view.finished) model.onFinished('done')
  const props = model.props({hasKeys: true, colour: view.colour ?? false, columns: view.columns ?? 80, rows: view.rows ?? 24})!
  const instance = render(<LiveView {...props} />)
  frames.push(instance)
  return instance.lastFrame() ?? ''
}

describe('the live view', () => {
  it('keeps within a small terminal when stopping: the notice is cut to the lines left, never a frame taller than the screen (Ink would clear the scrollback)', () => {
    const channels = Array.from({length: 9}, (_, i) => channel(`channel-${i + 1}`, {sent: 1, queued: 9}))
    for (const [columns, rows] of [[30, 6], [20, 5], [40, 8]] as const) {
      const model = new LiveViewModel('sender')
      model.onSnapshot(snapshot(channels, {at: startedAt + 10_000}))
      model.onStopping('Stopping: finishing sends in flight; the rest stays queued for crier run. Press Ctrl-C again to abort.')
      const instance = render(<LiveView {...model.props({hasKeys: true, colour: false, columns, rows})!} />)
      frames.push(instance)
      const lines = (instance.lastFrame() ?? '').split('\n')
      expect(lines.length, `${columns}×${rows}:\n${lines.join('\n')}`).toBeLessThan(rows)
      expect(lines.some((line) => line.startsWith('Stopping'))).toBe(true)
      for (const line of lines) expect(widthOf(line)).toBeLessThanOrEqual(columns)
    }
  })

  it('all sent: every channel printed once as finished, the header says all final, no keys left', () => {
    const sending = snapshot([channel('partners', {sent: 1}), channel('residents-sms', {sent: 1100, queued: 100}), channel('website', {sent: 1})], {at: startedAt + 40_000})
    const done = snapshot([channel('partners', {sent: 1}), channel('residents-sms', {sent: 1200}), channel('website', {sent: 1})])
    const frame = frameOf([sending, done])
    // Finished before the first look: no time claimed for them.
    expect(frame).toMatch(/^✓ partners +sent 1\/1$/m)
    expect(frame).toMatch(/^✓ website +sent 1\/1$/m)
    expect(frame).toMatch(/^✓ residents-sms +sent 1,200\/1,200 — finished at 0:42$/m)
    expect(frame).toMatch(/^EXTREME {2}Evacuate Llandudno seafront now +0:42$/m)
    expect(frame).toMatch(/^01JD5XABCDEF · all 1,202 final · 1,202 sent$/m)
    expect(frame).not.toMatch(/detach|retry|quit/)
  })

  it('an exercise says so in the header, beside the severity', () => {
    const frame = frameOf([snapshot([channel('website', {sent: 1})], {announcement: {id: '01JD5XABCDEFGHJKMNPQRSTVWX', severity: 'Extreme', status: 'Exercise', msgType: 'Alert', headline: 'Evacuate Llandudno seafront now', state: 'sent'}})])
    expect(frame).toMatch(/^EXTREME {2}\[EXERCISE\] Evacuate Llandudno seafront now +0:42$/m)
  })

  it('a Cancel is headed CANCEL, not the severity of the alarm it withdraws', () => {
    const frame = frameOf([snapshot([channel('website', {sent: 1})], {announcement: {id: '01JD5XABCDEFGHJKMNPQRSTVWX', severity: 'Extreme', status: 'Actual', msgType: 'Cancel', headline: 'Cancelled: Evacuate Llandudno seafront now', state: 'sent'}})])
    expect(frame).toMatch(/^CANCEL {2}Cancelled: Evacuate Llandudno seafront now +0:42$/m)
    expect(frame).not.toContain('EXTREME')
  })

  it('mixed failures: bar, counts, rate, ETA and the last error of a channel still sending; r offers the dead ones', () => {
    const first = snapshot([channel('partners', {sent: 300, failed: 3, dead: 2, queued: 695, lastError: 'HTTP 503: service unavailable'}), channel('website', {sent: 1})], {at: startedAt + 40_000, retryableDead: 2})
    const later = snapshot([channel('partners', {sent: 500, failed: 3, dead: 2, queued: 495, lastError: 'HTTP 503: service unavailable'}), channel('website', {sent: 1})], {retryableDead: 2})
    const frame = frameOf([first, later], {role: 'sender'})
    expect(frame).toMatch(/^✓ website +sent 1\/1$/m)
    const bar = frame.split('\n').find((line) => line.startsWith('partners'))!
    // 505 of 1,000 final: half the bar filled, floored to 50%.
    expect(bar).toMatch(/^partners █+░+ +50%$/)
    expect(widthOf(bar)).toBe(80)
    // 200 finished in the 2 s between the snapshots: 100/s; 498 unfinished → 0:04 left. failed (to
    // be tried again) and pending (queued) part them: the counts add up to the 1,000.
    expect(frame).toMatch(/^ {2}sent 500\/1,000 {2}failed 3 {2}pending 495 {2}dead 2 {2}unknown 0 {2}100\/s {2}ETA 0:04$/m)
    expect(frame).toMatch(/^ {2}last error: HTTP 503: service unavailable$/m)
    expect(frame).toMatch(/^01JD5XABCDEF · sending · 503 of 1,001 final · 498 pending · 2 need attention$/m)
    expect(frame).toMatch(/^q detach · r retry 2 dead · Ctrl-C stop$/m)
  })

  it('an unknown delivery: the channel finishes marked ✗ with its count and why, and the header counts it', () => {
    const snap = snapshot([channel('x', {unknown: 1, lastError: 'its sender stopped mid-send: it may or may not have gone out — check x before sending again'}), channel('website', {sent: 1})])
    const frame = frameOf([snap])
    expect(frame).toMatch(/^✗ x +sent 0\/1, unknown 1 — last error: its sender stopped mid-send: it may…$/m)
    expect(frame).toMatch(/^01JD5XABCDEF · all 2 final · 1 sent · 1 needs attention$/m)
  })

  it('a 40-column terminal: no line wider than 40, and dead and unknown wrap onto a line of their own rather than being cut', () => {
    const snap = snapshot([channel('residents-email-county', {sent: 12_000, failed: 40, dead: 7, unknown: 1, queued: 8000, lastError: 'SMTP 451 4.7.1 Greylisted, please try again in a few minutes'})], {retryableDead: 7})
    const frame = frameOf([snap], {role: 'sender', columns: 40})
    const lines = frame.split('\n')
    for (const line of lines) expect(widthOf(line), line).toBeLessThanOrEqual(40)
    expect(frame).toMatch(/dead 7/)
    expect(frame).toMatch(/unknown 1/)
    expect(frame).toMatch(/^EXTREME {2}Evacuate Llandudno seafro… 0:42$/m)
    expect(frame).toMatch(/^ {2}last error: SMTP 451 4\.7\.1 Greylisted…$/m)
  })

  describe('colour', () => {
    let level: typeof chalk.level
    beforeEach(() => {
      // The test's stdout is no terminal, so chalk starts with colour off; the session sets the
      // level from stderr. Here: a terminal that shows 256 colours.
      level = chalk.level
      chalk.level = 2
    })
    afterEach(() => {
      chalk.level = level
    })

    const mixed = () => snapshot([channel('partners', {sent: 5, dead: 1, queued: 4, lastError: 'HTTP 400: bad request'}), channel('website', {sent: 1})])

    it('with colour: the severity word in red, dead in red; the word is there as well as the colour', () => {
      const frame = frameOf([mixed()], {colour: true})
      expect(frame).toContain('\u001b[31mEXTREME\u001b[39m')
      expect(frame).toContain('\u001b[31mdead 1\u001b[39m')
    })

    it('severities: Severe orange, Moderate yellow, Minor green, each with its word', () => {
      const severe = frameOf([snapshot([channel('website', {queued: 1})], {announcement: {...mixed().announcement, severity: 'Severe'}})], {colour: true})
      expect(severe).toMatch(/\u001b\[38;5;2\d\dmSEVERE\u001b\[39m/)
      const moderate = frameOf([snapshot([channel('website', {queued: 1})], {announcement: {...mixed().announcement, severity: 'Moderate'}})], {colour: true})
      expect(moderate).toContain('\u001b[33mMODERATE\u001b[39m')
      const minor = frameOf([snapshot([channel('website', {queued: 1})], {announcement: {...mixed().announcement, severity: 'Minor'}})], {colour: true})
      expect(minor).toContain('\u001b[32mMINOR\u001b[39m')
    })

    it('NO_COLOR (colour off): not one escape sequence in the frame, and the same words', () => {
      const frame = frameOf([mixed()], {colour: false})
      expect(frame).not.toContain('\u001b')
      expect(frame).toMatch(/^EXTREME {2}Evacuate/m)
      expect(frame).toMatch(/dead 1/)
      expect(frame).toMatch(/^q quit · r retry dead \(none now\)$/m)
    })
  })

  it('hostile provider text: escape sequences and control characters in an error never reach the frame', () => {
    const hostile = '\u001b]0;pwned\u0007HTTP 500: \u001b[2J\u001b[31mboom\u0007\u009b6n\r\nsecond line'
    const frame = frameOf([snapshot([channel('partners', {queued: 3, failed: 1, lastError: hostile}), channel('x', {dead: 1, lastError: hostile})])], {colour: false})
    expect(frame).not.toContain('\u001b')
    expect(frame).not.toContain('\u0007')
    expect(frame).not.toContain('\u009b')
    expect(frame).not.toContain('pwned\u0007')
    expect(frame).toMatch(/^ {2}last error: HTTP 500: boom second line$/m)
    expect(frame).toMatch(/^✗ x .* last error: HTTP 500: boom second line$/m)
  })

  it('80×24 with more channels than fit: one line each, trouble first, and how many are not shown; never taller than the screen', () => {
    const channels = Array.from({length: 30}, (_, i) => channel(`channel-${String(i).padStart(2, '0')}`, {sent: 1, queued: 9, lastError: 'HTTP 503'}))
    channels[25] = channel('channel-25', {sent: 1, dead: 2, queued: 7, lastError: 'HTTP 400'})
    const frame = frameOf([snapshot(channels)], {role: 'sender'})
    const lines = frame.split('\n')
    expect(lines.length).toBeLessThan(24)
    // Trouble first, with why, as far as the line goes; a channel with none has no error to show.
    expect(lines.filter((line) => line.startsWith('channel-'))[0]).toMatch(/^channel-25 +█+░+ 1\/10 dead 2 — HTTP 400$/)
    expect(lines.filter((line) => line.startsWith('channel-'))[1]).toMatch(/^channel-\d\d +█+░+ 1\/10$/)
    expect(frame).toMatch(/^\+\d+ more channels: a taller terminal shows them$/m)
  })

  it('a sender pressing q is asked before anything stops', () => {
    const model = new LiveViewModel('sender')
    model.onSnapshot(snapshot([channel('partners', {sent: 10, queued: 90})]))
    model.onKey({input: 'q'})
    const instance = render(<LiveView {...model.props({hasKeys: true, colour: false, columns: 80, rows: 24})!} />)
    frames.push(instance)
    const frame = instance.lastFrame()!
    for (const line of frame.split('\n')) expect(widthOf(line)).toBeLessThanOrEqual(80)
    // Wrapped, not cut: the question is read whole.
    expect(frame.replace(/\s+/g, ' ')).toContain('Detach? 90 not sent yet: sends already in flight finish, the rest stay queued for crier run or a worker. y/n')
    expect(instance.lastFrame()).toMatch(/^y detach · n keep sending$/m)
  })

  it('keys cannot be read (stdin is not a terminal): the footer says what Ctrl-C does instead', () => {
    const instance = render(<LiveView {...viewProps(snapshot([channel('partners', {queued: 5})]), {hasKeys: false})} />)
    frames.push(instance)
    expect(instance.lastFrame()).toMatch(/^Ctrl-C stops sending \(the rest stays queued\)$/m)
  })
})
