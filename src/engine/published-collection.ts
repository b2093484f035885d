import type {Announcement} from '../core/announcement.js'
import type {Store} from '../store/index.js'

/**
 * What a collection-publishing channel (the feed) lists now: the announcements sent or being
 * sent on it, and `including` (the one being sent), less the expired and the withdrawn — every
 * earlier message of a thread whose Update or Cancel the channel has published, expired or not
 * (an all-clear that expired must not bring back the evacuation it replaced), and through
 * messages the channel never carried (an Update that went to partners only).
 */
export function publishedCollection(store: Store, channel: string, now: number, including?: Announcement): Announcement[] {
  const published = new Map<string, Announcement>()
  for (const id of store.deliveries.announcementIdsSentOn(channel)) {
    const announcement = store.announcements.get(id)
    if (announcement) published.set(id, announcement)
  }
  if (including) published.set(including.id, including)
  const withdrawn = new Set<string>()
  for (const followUp of published.values()) {
    for (let earlier = followUp.references; earlier && !withdrawn.has(earlier); earlier = (published.get(earlier) ?? store.announcements.get(earlier))?.references) withdrawn.add(earlier)
  }
  return [...published.values()].filter((a) => !withdrawn.has(a.id) && (a.expiresAt === undefined || a.expiresAt > now))
}
