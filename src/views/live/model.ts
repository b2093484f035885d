import type {ChannelProgress, LiveSnapshot} from '../../engine/live-snapshot.js'
import type {RetryResult} from '../../engine/retry-dead.js'
import {formatCount} from './format.js'
import {addRateSample, channelRate, type RateSample} from './rates.js'

// The live view's state, as a plain class: snapshots in, keys in, what to draw and what to do
// out. The Ink components only draw what this says (props in, pixels out), so every decision
// here is tested without a terminal.

/** `sender`: this process sends (crier broadcast). `watcher`: another one does (crier status --watch). */
export type LiveRole = 'sender' | 'watcher'

/** live → confirming (sender pressed q) → detaching; stopping (a signal or Ctrl-C); final. */
export type LivePhase = 'live' | 'confirming' | 'detaching' | 'stopping' | 'final'

/** Why the command closes the view: it draws its last frame for this reason. */
export type CloseReason = 'done' | 'detached' | 'stopped' | 'quit' | 'paused'

/** What the caller must do after a key. */
export type LiveEffect = 'detach' | 'retry' | 'quit' | 'interrupt'

export interface KeyPress {
  input: string
  ctrl?: boolean
  escape?: boolean
}

/** A channel with nothing left pending, printed once above the live region. */
export interface FinishedChannel {
  key: string
  progress: ChannelProgress
  /** From the start of the broadcast to when the view saw it finished; null when it was finished at the first look. */
  elapsedMs: number | null
}

/** Everything the view draws. */
export interface LiveViewProps {
  snapshot: LiveSnapshot
  /** Channels still pending, in the snapshot's order. */
  active: ChannelProgress[]
  finished: FinishedChannel[]
  /** Per channel, deliveries finishing per second; undefined until known. */
  rates: Record<string, number | undefined>
  role: LiveRole
  phase: LivePhase
  notice?: string
  /** Keys can be read (stdin is a terminal). */
  hasKeys: boolean
  colour: boolean
  columns: number
  rows: number
}

const noticeMs = 6000

export class LiveViewModel {
  phase: LivePhase = 'live'
  snapshot: LiveSnapshot | undefined
  readonly finished: FinishedChannel[] = []
  private samples: RateSample[] = []
  private readonly inStatic = new Set<string>()
  private generation = 0
  private notice: {text: string; until: number | null} | undefined

  constructor(readonly role: LiveRole) {}

  onSnapshot(snapshot: LiveSnapshot): void {
    const isFirst = this.snapshot === undefined
    this.snapshot = snapshot
    this.samples = addRateSample(this.samples, snapshot)
    const started = snapshot.startedAt !== null
    for (const progress of snapshot.channels) {
      const isDone = started && progress.queued + progress.sending + progress.failed === 0
      if (isDone && !this.inStatic.has(progress.channel)) {
        this.inStatic.add(progress.channel)
        // Finished before the first look: when exactly is not known, so no time is shown.
        const elapsedMs = isFirst || snapshot.startedAt === null ? null : snapshot.at - snapshot.startedAt
        this.finished.push({key: `${progress.channel}#${++this.generation}`, progress, elapsedMs})
      } else if (!isDone && this.inStatic.has(progress.channel)) {
        // Requeued (r): live again; when it finishes again it is printed again.
        this.inStatic.delete(progress.channel)
      }
    }
    if (this.notice && this.notice.until !== null && snapshot.at >= this.notice.until) this.notice = undefined
    if (this.role === 'watcher' && snapshot.isFinal) this.phase = 'final'
  }

  /** A key; returns what the caller must do, if anything. */
  onKey(key: KeyPress): LiveEffect | undefined {
    if (key.ctrl && key.input === 'c') return 'interrupt'
    if (this.phase === 'confirming') {
      if (key.input === 'y' || key.input === 'Y') {
        this.phase = 'detaching'
        this.say('Detaching: sends in flight finish; the rest stays queued for crier run or a worker.', null)
        return 'detach'
      }
      if (key.input === 'n' || key.input === 'N' || key.input === 'q' || key.escape) {
        this.phase = 'live'
        this.notice = undefined
      }
      return undefined
    }
    if (this.phase !== 'live') return undefined
    if (key.input === 'q') {
      if (this.role === 'watcher') return 'quit'
      // The question is worded from each snapshot (props), so its count keeps pace with the frame.
      this.phase = 'confirming'
      this.notice = undefined
      return undefined
    }
    if (key.input === 'r') {
      if ((this.snapshot?.retryableDead ?? 0) > 0) return 'retry'
      const dead = this.snapshot?.channels.reduce((n, c) => n + c.dead, 0) ?? 0
      this.say(dead === 0 ? 'Nothing to retry: no delivery is dead.' : 'Nothing to retry: the dead deliveries were refused by the provider (or the announcement expired); another try would fail the same way.')
      return undefined
    }
    return undefined
  }

  onRetried(result: RetryResult): void {
    if (result.requeued === 0) {
      this.say('Nothing requeued: the announcement has finished, or another process retried them first.')
      return
    }
    // Live again: printed again when it finishes, even if that is before the next snapshot shows it pending.
    for (const channel of Object.keys(result.byChannel)) this.inStatic.delete(channel)
    const where = Object.entries(result.byChannel).map(([channel, n]) => `${channel} ${formatCount(n)}`).join(', ')
    const what = `${formatCount(result.requeued)} dead ${result.requeued === 1 ? 'delivery' : 'deliveries'}`
    this.say(this.role === 'watcher' ? `Requeued ${what} (${where}); whoever is sending picks them up.` : `Requeued ${what} for another try (${where}).`)
  }

  /** A signal (or Ctrl-C) asked the sender to stop. */
  onStopping(text: string): void {
    this.phase = 'stopping'
    this.say(text, null)
  }

  /** Something the officer must know while sending goes on (a channel paused): it stays up until the next notice. */
  onNotice(text: string): void {
    this.say(text, null)
  }

  /** Something to tell the officer for a few seconds (an error from a key's action). */
  notify(text: string): void {
    this.say(text)
  }

  /** The last frame: everything is final, or the view closes with work left (why, and what happens to it). */
  onFinished(reason: CloseReason): void {
    this.phase = 'final'
    const pending = this.snapshot?.pending ?? 0
    if (pending === 0 || reason === 'done') {
      this.notice = undefined
      return
    }
    const one = pending === 1
    const left = `${formatCount(pending)} ${one ? 'delivery' : 'deliveries'}`
    if (reason === 'quit') this.say(`Stopped watching: ${left} still pending; the broadcast goes on.`, null)
    // Nobody pressed q: the command says below, per channel, until when and what becomes of them.
    else if (reason === 'paused') this.say(`Not waiting for a provider's pause: ${left} ${one ? 'stays' : 'stay'} queued behind it —`, null)
    else this.say(`${reason === 'detached' ? 'Detached' : 'Stopped'}: ${left} ${one ? 'stays' : 'stay'} queued; crier run or a worker will send ${one ? 'it' : 'them'}.`, null)
  }

  props(view: {hasKeys: boolean; colour: boolean; columns: number; rows: number}): LiveViewProps | undefined {
    const snapshot = this.snapshot
    if (!snapshot) return undefined
    const rates: Record<string, number | undefined> = {}
    for (const progress of snapshot.channels) rates[progress.channel] = channelRate(this.samples, progress.channel)
    return {
      snapshot,
      active: snapshot.channels.filter((progress) => !this.inStatic.has(progress.channel)),
      // A new array each time: <Static> notices new items by the array, not by its length.
      finished: [...this.finished],
      rates,
      role: this.role,
      phase: this.phase,
      notice: this.phase === 'confirming' ? detachQuestion(snapshot.pending) : this.notice?.text,
      ...view,
    }
  }

  private say(text: string, forMs: number | null = noticeMs): void {
    const at = this.snapshot?.at ?? 0
    this.notice = {text, until: forMs === null ? null : at + forMs}
  }
}

function detachQuestion(pending: number): string {
  return `Detach? ${formatCount(pending)} not sent yet: sends already in flight finish, the rest stay queued for crier run or a worker. y/n`
}
