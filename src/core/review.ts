import type {Announcement} from './announcement.js'
import {mustGet} from './approval.js'
import type {CoreContext} from './context.js'
import {PolicyRefusal} from './errors.js'
import {shortId} from './ids.js'
import {sameOfficer} from './officer.js'
import {cleanReason} from './policy/override.js'

/**
 * Records that another officer has looked at an announcement sent by emergency override: who,
 * when and an optional note. The officer who made the override cannot review it, nor its author
 * where policy does not let an author approve their own.
 */
export function reviewOverride(ctx: CoreContext, id: string, note?: string): Announcement {
  return ctx.store.transaction(() => {
    const announcement = mustGet(ctx, id)
    const override = announcement.override
    const short = shortId(id)
    if (!override) throw new PolicyRefusal(`${short} was not sent by emergency override — there is nothing to review`)
    if (override.reviewedBy) {
      throw new PolicyRefusal(`${short}'s override was already reviewed by ${override.reviewedBy} at ${new Date(override.reviewedAt!).toISOString()} — nothing more to do; crier audit --id ${short} shows the record`)
    }
    if (sameOfficer(override.by, ctx.user)) {
      throw new PolicyRefusal(`${ctx.user} made this override and cannot review it — another officer must (CRIER_USER names who is reviewing)`)
    }
    // The second pair of eyes the approvals would have been: not the author's, where policy does not let an author approve.
    if (!ctx.config.policy.approvals.authorMayApprove && sameOfficer(announcement.author, ctx.user)) {
      throw new PolicyRefusal(`${ctx.user} wrote ${short} and cannot review its override, as an author may not approve their own (policy.approvals.authorMayApprove) — another officer must`)
    }
    const cleanNote = cleanReason(note)
    ctx.store.announcements.recordReview(id, {by: ctx.user, at: ctx.now(), ...(cleanNote ? {note: cleanNote} : {})})
    return mustGet(ctx, id)
  })
}
