import type {ChannelProgress, LiveSnapshot} from '../../src/engine/live-snapshot.js'
import type {LiveViewProps} from '../../src/views/live/model.js'

// Snapshots as the store would give them, for the live view's tests.

export function channel(name: string, counts: Partial<Omit<ChannelProgress, 'channel' | 'lastErrorState'>> & {lastErrorState?: ChannelProgress['lastErrorState']} = {}): ChannelProgress {
  const progress: ChannelProgress = {channel: name, total: 0, queued: 0, sending: 0, sent: 0, failed: 0, dead: 0, unknown: 0, skipped: 0, expired: 0, cancelled: 0, lastError: null, lastErrorState: null, ...counts}
  if (counts.total === undefined) progress.total = progress.queued + progress.sending + progress.sent + progress.failed + progress.dead + progress.unknown + progress.skipped + progress.expired + progress.cancelled
  return progress
}

export const startedAt = Date.UTC(2025, 5, 1, 7, 30, 0)

export function snapshot(channels: ChannelProgress[], overrides: Partial<LiveSnapshot> = {}): LiveSnapshot {
  const pending = channels.reduce((n, c) => n + c.queued + c.sending + c.failed, 0)
  const trouble = channels.reduce((n, c) => n + c.dead + c.unknown + c.expired, 0)
  return {
    at: startedAt + 42_000,
    announcement: {id: '01JD5XABCDEFGHJKMNPQRSTVWX', severity: 'Extreme', status: 'Actual', msgType: 'Alert', headline: 'Evacuate Llandudno seafront now', state: pending ? 'sending' : trouble ? 'sent_with_failures' : 'sent'},
    startedAt,
    channels,
    pending,
    trouble,
    retryableDead: 0,
    isFinal: pending === 0,
    ...overrides,
  }
}

/** The props the model would give for this snapshot with nothing finished yet. */
export function viewProps(snap: LiveSnapshot, overrides: Partial<LiveViewProps> = {}): LiveViewProps {
  return {
    snapshot: snap,
    active: snap.channels,
    finished: [],
    rates: {},
    role: 'sender',
    phase: 'live',
    hasKeys: true,
    colour: false,
    columns: 80,
    rows: 24,
    ...overrides,
  }
}

/** Display width of a line as a terminal shows it (our text is one cell per code point). */
export function widthOf(line: string): number {
  return Array.from(line.replace(/\u001b\[[0-9;]*m/g, '')).length
}
