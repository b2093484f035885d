import type {Announcement} from './announcement.js'
import {isTargeted} from './area-targeting.js'
import type {CoreContext} from './context.js'
import {counted} from './counted.js'
import {driverOf} from './render.js'

/** Of a per-recipient channel's list, how many a targeted announcement's area takes in. */
export interface AreaReach {
  channel: string
  list: string
  subscribers: number
  inside: number
  /** Subscribers with no location or zone the area can judge: left out. */
  unplaced: number
  /** The contact the channel sends to. */
  contact: 'email' | 'phone'
  /** Of those inside, without that contact (their deliveries are skipped), and opted out (no delivery). */
  noContact: number
  optedOut: number
}

/**
 * For a targeted announcement, each per-recipient channel's reach (preview shows it, broadcast
 * says it); none when it does not target, or is a Cancel (which goes to those the original
 * reached, not narrowed again).
 */
export function areaReachOf(ctx: CoreContext, announcement: Announcement): AreaReach[] {
  if (!isTargeted(announcement.area) || announcement.msgType === 'Cancel') return []
  const area = JSON.stringify(announcement.area)
  const reach: AreaReach[] = []
  for (const name of announcement.channels) {
    const channel = ctx.config.channels[name]
    const driver = channel && driverOf(channel)
    if (!driver || driver.kind !== 'per-recipient') continue
    const list = String(channel.audience)
    const contact = driver.capabilities.contact ?? 'email'
    reach.push({channel: name, list, contact, ...ctx.store.subscribers.areaReach(list, area, contact)})
  }
  return reach
}

/** "2 have no phone number, 1 opted out": why some of those inside cannot be sent to; '' when all can. */
export function unreachableWhy({contact, noContact, optedOut}: Pick<AreaReach, 'contact' | 'noContact' | 'optedOut'>): string {
  return [noContact ? `${counted(noContact, 'has', 'have')} no ${contact === 'email' ? 'e-mail address' : 'phone number'}` : '', optedOut ? `${counted(optedOut, 'opted out', 'opted out')}` : ''].filter(Boolean).join(', ')
}

/** Channels whose list has subscribers of whom the area takes in none it can send to: broadcast refuses them (exit 2), preview warns. */
export function unreachedByArea(reach: AreaReach[]): string[] {
  return reach
    .filter(({subscribers, inside, noContact, optedOut}) => subscribers > 0 && inside - noContact - optedOut === 0)
    .map(({channel, list, inside, unplaced, contact, noContact, optedOut}) => {
      if (inside > 0) {
        // Inside, but none it could send to: "sent 0/643, skipped 643" is no alert.
        return `channel ${channel}: none of the ${inside} subscribers of "${list}" inside the area can be sent to (${unreachableWhy({contact, noContact, optedOut})}) — nothing would go there; leave ${channel} out`
      }
      const unplacedNote = unplaced ? ` (${counted(unplaced, 'subscriber')} cannot be placed: no location or zone)` : ''
      return `channel ${channel}: no subscriber of "${list}" is inside the area${unplacedNote} — check --circle, --polygon and --zone, or leave ${channel} out`
    })
}

/**
 * What is wrong with an announcement's per-recipient channels whose list has nobody in it
 * (never imported, or a typo in `audience:`): nothing would go there. One line each; none for a
 * Cancel, which goes to those the original reached.
 */
export function emptyAudienceProblems(ctx: CoreContext, announcement: Announcement): string[] {
  if (announcement.msgType === 'Cancel') return []
  const problems: string[] = []
  for (const name of announcement.channels) {
    const channel = ctx.config.channels[name]
    const driver = channel && driverOf(channel)
    if (!driver || driver.kind !== 'per-recipient') continue
    const list = String(channel.audience)
    const size = ctx.store.subscribers.audienceSize(list)
    const contact = driver.capabilities.contact ?? 'email'
    if (size === 0) problems.push(`channel ${name}: audience "${list}" has no subscribers — import them with crier subscribers import FILE --list ${list}`)
    else if (ctx.store.subscribers.reachable(list, contact) === 0) {
      const what = contact === 'email' ? 'an e-mail address' : 'a phone number'
      problems.push(`channel ${name}: nobody in audience "${list}" can be reached (${counted(size, 'subscriber')}, each opted out or without ${what}) — nothing would go there; leave ${name} out`)
    }
  }
  return problems
}
