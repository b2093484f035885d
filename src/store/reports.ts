import type {DeliveryState} from './deliveries.js'
import type {Db} from './open.js'

// Delivery statistics over a window of time (crier report): per channel, deliveries by state,
// tries, and how long each sent delivery took from being queued to being sent. A delivery
// belongs to the window it was queued in. Read-only; a report reads every delivery in its
// window (found through delivery_by_created: not the deliveries of other windows), which suits
// a command run now and then, not a hot path.

/** Deliveries queued at or after `since` and before `until` (epoch ms). */
export interface ReportWindow {
  since: number
  until: number
}

export interface ChannelTally {
  channel: string
  announcements: number
  states: Partial<Record<DeliveryState, number>>
  /** Attempts recorded (each try at the provider). */
  tries: number
  /** Tries that did not end in the provider accepting it. */
  failedTries: number
}

export function reportStore(db: Db) {
  const inWindow = `created_at >= @since AND created_at < @until`
  const stateCounts = db.prepare(`SELECT channel, state, count(*) AS n FROM delivery WHERE ${inWindow} GROUP BY channel, state`)
  const announcementCounts = db.prepare(`SELECT channel, count(DISTINCT announcement_id) AS n FROM delivery WHERE ${inWindow} GROUP BY channel`)
  const announcementTotal = db.prepare(`SELECT count(DISTINCT announcement_id) FROM delivery WHERE ${inWindow}`).pluck()
  // From the window's deliveries to their attempts (CROSS JOIN keeps that order), never every attempt ever made.
  const tryCounts = db.prepare(`SELECT d.channel AS channel, count(*) AS n, sum(a.outcome NOT IN ('sent', 'reconciled')) AS failed
    FROM delivery d CROSS JOIN attempt a ON a.delivery_id = d.id WHERE d.created_at >= @since AND d.created_at < @until GROUP BY d.channel`)
  const latencies = db.prepare(`SELECT channel, finished_at - created_at FROM delivery WHERE state = 'sent' AND ${inWindow} ORDER BY 2`).raw()

  return {
    /** Per channel, by name. */
    tallies(window: ReportWindow): ChannelTally[] {
      const byChannel = new Map<string, ChannelTally>()
      const entry = (channel: string) => {
        let tally = byChannel.get(channel)
        if (!tally) byChannel.set(channel, (tally = {channel, announcements: 0, states: {}, tries: 0, failedTries: 0}))
        return tally
      }
      for (const row of stateCounts.all(window) as Array<{channel: string; state: DeliveryState; n: number}>) entry(row.channel).states[row.state] = row.n
      for (const row of announcementCounts.all(window) as Array<{channel: string; n: number}>) entry(row.channel).announcements = row.n
      for (const row of tryCounts.all(window) as Array<{channel: string; n: number; failed: number}>) Object.assign(entry(row.channel), {tries: row.n, failedTries: row.failed})
      return [...byChannel.values()].sort((a, b) => a.channel.localeCompare(b.channel))
    },
    /** Announcements with a delivery in the window, on any channel. */
    announcementCount(window: ReportWindow): number {
      return announcementTotal.get(window) as number
    },
    /** [channel, queued-to-sent ms] of every sent delivery, shortest first, one at a time (one sort serves every channel and the total). */
    sentLatencies(window: ReportWindow): IterableIterator<[string, number]> {
      return latencies.iterate(window) as IterableIterator<[string, number]>
    },
  }
}
