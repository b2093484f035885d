import type {Announcement} from './announcement.js'
import {mustGet} from './approval.js'
import type {CoreContext} from './context.js'
import {createDraft, type DraftInput} from './drafting.js'
import {PolicyRefusal} from './errors.js'
import {shortId} from './ids.js'

/**
 * `crier update`: a draft CAP Update of an announcement that reached the public, referencing it;
 * what the officer does not give again (severity, area, channels, expiry…) is the original's.
 * It then goes the ordinary way — preview, approval where policy needs it, broadcast — and the
 * feed shows it in the original's place. Before anything went out there is nothing to update:
 * the announcement itself is edited (or unscheduled, then edited).
 */
export function draftUpdate(ctx: CoreContext, id: string, input: DraftInput): Announcement {
  return ctx.store.transaction(() => {
    const original = mustGet(ctx, id)
    const short = shortId(id)
    if (original.msgType === 'Cancel') throw new PolicyRefusal(`cannot update ${short} — it is a Cancel; send a new announcement instead`)
    if (original.state === 'cancelled') throw new PolicyRefusal(`cannot update ${short} — it was cancelled; send a new announcement instead`)
    const [cancel] = ctx.store.announcements.cancelsOf(id)
    if (cancel) throw new PolicyRefusal(`cannot update ${short} — it was cancelled by ${shortId(cancel)}; send a new announcement instead`)
    const [latest] = ctx.store.announcements.sentUpdatesOf(id)
    if (latest) throw new PolicyRefusal(`cannot update ${short} — it was updated already by ${shortId(latest)}: update that (crier update ${shortId(latest)} …)`)
    if (ctx.store.deliveries.publishedChannels(id).length === 0) {
      throw new PolicyRefusal(`cannot update ${short} — nothing of it has been sent yet; change it instead: crier edit ${short} (crier unschedule ${short} first if it is scheduled)`)
    }
    return createDraft(ctx, input, {msgType: 'Update', original})
  })
}
