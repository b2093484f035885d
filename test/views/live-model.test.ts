import {describe, expect, it} from 'vitest'
import {LiveViewModel} from '../../src/views/live/model.js'
import {channel, snapshot, startedAt} from './live-fixtures.js'

const view = {hasKeys: true, colour: false, columns: 80, rows: 24}

describe('the live view model', () => {
  it('a sender pressing q is asked first; y detaches, and only then', () => {
    const model = new LiveViewModel('sender')
    model.onSnapshot(snapshot([channel('partners', {queued: 9, sent: 1})]))
    expect(model.onKey({input: 'q'})).toBeUndefined()
    expect(model.phase).toBe('confirming')
    expect(model.props(view)!.notice).toBe('Detach? 9 not sent yet: sends already in flight finish, the rest stay queued for crier run or a worker. y/n')
    // While the officer decides, sending goes on: the question counts what the frame counts.
    model.onSnapshot(snapshot([channel('partners', {queued: 4, sent: 6})]))
    expect(model.props(view)!.notice).toBe('Detach? 4 not sent yet: sends already in flight finish, the rest stay queued for crier run or a worker. y/n')
    expect(model.onKey({input: 'y'})).toBe('detach')
    expect(model.phase).toBe('detaching')
    expect(model.props(view)!.notice).toBe('Detaching: sends in flight finish; the rest stays queued for crier run or a worker.')
    // Nothing more to decide while it drains.
    expect(model.onKey({input: 'q'})).toBeUndefined()
    expect(model.onKey({input: 'r'})).toBeUndefined()
  })

  it('a sender answering n (or Esc) keeps sending', () => {
    const model = new LiveViewModel('sender')
    model.onSnapshot(snapshot([channel('partners', {queued: 9})]))
    model.onKey({input: 'q'})
    expect(model.onKey({input: 'n'})).toBeUndefined()
    expect(model.phase).toBe('live')
    expect(model.props(view)!.notice).toBeUndefined()
    model.onKey({input: 'q'})
    expect(model.onKey({input: '', escape: true})).toBeUndefined()
    expect(model.phase).toBe('live')
  })

  it('a watcher quits on q at once: nothing it does stops the sender', () => {
    const model = new LiveViewModel('watcher')
    model.onSnapshot(snapshot([channel('partners', {queued: 9})]))
    expect(model.onKey({input: 'q'})).toBe('quit')
  })

  it('Ctrl-C is an interrupt in every phase', () => {
    const model = new LiveViewModel('sender')
    model.onSnapshot(snapshot([channel('partners', {queued: 9})]))
    expect(model.onKey({input: 'c', ctrl: true})).toBe('interrupt')
    model.onKey({input: 'q'})
    expect(model.onKey({input: 'c', ctrl: true})).toBe('interrupt')
  })

  it('r retries only when some dead deliveries may be retried, and says why not otherwise', () => {
    const model = new LiveViewModel('sender')
    model.onSnapshot(snapshot([channel('partners', {queued: 5, dead: 2})], {retryableDead: 0}))
    expect(model.onKey({input: 'r'})).toBeUndefined()
    expect(model.props(view)!.notice).toMatch(/^Nothing to retry: the dead deliveries were refused by the provider/)
    model.onSnapshot(snapshot([channel('partners', {queued: 5, dead: 2})], {retryableDead: 2}))
    expect(model.onKey({input: 'r'})).toBe('retry')
    model.onRetried({requeued: 2, byChannel: {partners: 2}})
    expect(model.props(view)!.notice).toBe('Requeued 2 dead deliveries for another try (partners 2).')
  })

  it('notices fade after a few seconds of snapshots; questions do not', () => {
    const model = new LiveViewModel('watcher')
    model.onSnapshot(snapshot([channel('partners', {queued: 5})], {at: startedAt + 1000}))
    model.onKey({input: 'r'})
    expect(model.props(view)!.notice).toBe('Nothing to retry: no delivery is dead.')
    model.onSnapshot(snapshot([channel('partners', {queued: 5})], {at: startedAt + 8000}))
    expect(model.props(view)!.notice).toBeUndefined()
  })

  it('a paused channel\'s notice stays up while the pause lasts (it is waited for, in silence otherwise)', () => {
    const model = new LiveViewModel('sender')
    model.onSnapshot(snapshot([channel('partners', {queued: 1})], {at: startedAt + 1000}))
    model.onNotice('partners is paused until 14:03 (HTTP 429: slow down): waiting for it — Ctrl-C leaves what waits queued for crier run.')
    model.onSnapshot(snapshot([channel('partners', {queued: 1})], {at: startedAt + 60_000}))
    expect(model.props(view)!.notice).toBe('partners is paused until 14:03 (HTTP 429: slow down): waiting for it — Ctrl-C leaves what waits queued for crier run.')
  })

  it('a channel that finishes moves to the finished list once; requeued, it is live again and printed again when it finishes', () => {
    const model = new LiveViewModel('sender')
    model.onSnapshot(snapshot([channel('partners', {sent: 8, dead: 2}), channel('sms', {queued: 10})]))
    model.onSnapshot(snapshot([channel('partners', {sent: 8, dead: 2}), channel('sms', {queued: 5, sent: 5})]))
    let props = model.props(view)!
    expect(props.finished.map((f) => f.key)).toEqual(['partners#1'])
    expect(props.active.map((c) => c.channel)).toEqual(['sms'])
    model.onSnapshot(snapshot([channel('partners', {sent: 8, queued: 2}), channel('sms', {queued: 5, sent: 5})]))
    props = model.props(view)!
    expect(props.active.map((c) => c.channel)).toEqual(['partners', 'sms'])
    model.onSnapshot(snapshot([channel('partners', {sent: 10}), channel('sms', {sent: 10})]))
    props = model.props(view)!
    expect(props.finished.map((f) => f.key)).toEqual(['partners#1', 'partners#2', 'sms#3'])
    expect(props.finished[1]!.progress.sent).toBe(10)
  })

  it('a retried channel that is sent before the next snapshot is printed again all the same', () => {
    const model = new LiveViewModel('sender')
    model.onSnapshot(snapshot([channel('partners', {dead: 1}), channel('slow', {queued: 1})]))
    model.onSnapshot(snapshot([channel('partners', {dead: 1}), channel('slow', {queued: 1})]))
    expect(model.props(view)!.finished.map((f) => f.key)).toEqual(['partners#1'])
    model.onRetried({requeued: 1, byChannel: {partners: 1}})
    // The next look finds it sent already: it never looked pending.
    model.onSnapshot(snapshot([channel('partners', {sent: 1}), channel('slow', {queued: 1})]))
    const props = model.props(view)!
    expect(props.finished.map((f) => f.key)).toEqual(['partners#1', 'partners#2'])
    expect(props.finished[1]!.progress.sent).toBe(1)
  })

  it('before the fan-out nothing counts as finished', () => {
    const model = new LiveViewModel('watcher')
    model.onSnapshot(snapshot([channel('partners')], {startedAt: null, isFinal: false}))
    expect(model.props(view)!.finished).toEqual([])
  })

  it('a watcher reaches its final frame when every delivery is final; a sender waits to be told', () => {
    const watcher = new LiveViewModel('watcher')
    const sender = new LiveViewModel('sender')
    for (const model of [watcher, sender]) model.onSnapshot(snapshot([channel('partners', {sent: 1})]))
    expect(watcher.phase).toBe('final')
    expect(sender.phase).toBe('live')
    sender.onFinished('done')
    expect(sender.phase).toBe('final')
  })

  it('closing with work left says where it went', () => {
    const detached = new LiveViewModel('sender')
    detached.onSnapshot(snapshot([channel('partners', {queued: 40, sent: 60})]))
    detached.onFinished('detached')
    expect(detached.props(view)!.notice).toBe('Detached: 40 deliveries stay queued; crier run or a worker will send them.')
    const one = new LiveViewModel('sender')
    one.onSnapshot(snapshot([channel('partners', {queued: 1})]))
    one.onFinished('stopped')
    expect(one.props(view)!.notice).toBe('Stopped: 1 delivery stays queued; crier run or a worker will send it.')
    // Left behind a provider's long pause: not "Detached" (nobody pressed q); the command says until when below.
    const paused = new LiveViewModel('sender')
    paused.onSnapshot(snapshot([channel('partners', {queued: 3})]))
    paused.onFinished('paused')
    expect(paused.props(view)!.notice).toBe("Not waiting for a provider's pause: 3 deliveries stay queued behind it —")
    const quit = new LiveViewModel('watcher')
    quit.onSnapshot(snapshot([channel('partners', {queued: 1})]))
    quit.onFinished('quit')
    expect(quit.props(view)!.notice).toBe('Stopped watching: 1 delivery still pending; the broadcast goes on.')
  })

  it('rates come from deliveries finishing between snapshots', () => {
    const model = new LiveViewModel('watcher')
    model.onSnapshot(snapshot([channel('sms', {queued: 100})], {at: startedAt}))
    expect(model.props(view)!.rates.sms).toBeUndefined()
    model.onSnapshot(snapshot([channel('sms', {queued: 60, sent: 35, dead: 5})], {at: startedAt + 2000}))
    expect(model.props(view)!.rates.sms).toBe(20)
  })
})
