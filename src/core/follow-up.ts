import {followUpThread, type Announcement} from './announcement.js'
import {mustGet} from './approval.js'
import type {CoreContext} from './context.js'
import {createDraft, type DraftInput} from './drafting.js'
import {PolicyRefusal} from './errors.js'
import {shortId} from './ids.js'
import {transition} from './lifecycle.js'
import {formatInZone} from './when.js'

// Follow-ups, as CAP has them: a message that went out is never changed; an Update or a Cancel
// referencing it takes its place.

/**
 * `crier update`: a draft CAP Update of an announcement that reached the public, referencing it;
 * what the officer does not give again (severity, area, channels, expiry…) is the original's.
 * It then goes the ordinary way — preview, approval where policy needs it, broadcast — and the
 * feed shows it in the original's place. Before anything went out there is nothing to update:
 * the announcement itself is edited (or unscheduled, then edited).
 */
/**
 * A Cancel's words: the officer's, in the original's language; or crier's own line, which is
 * English — tagged so (the configured English, else en), not as the original's Welsh.
 */
function cancelWords(text: string | undefined, headline: string, languages: string[]): {text: string; headline: string; lang?: string} {
  const given = text?.trim()
  if (given) return {text: given, headline: `Cancelled: ${headline}`}
  const english = languages.find((language) => /^en(-|$)/i.test(language)) ?? 'en'
  return {text: `The message "${headline}" is cancelled. Please disregard it.`, headline: `Cancelled: ${headline}`, lang: english}
}

/**
 * How the latest Update of a message was withdrawn, if it was: cancelling an Update withdraws
 * the whole message, so the original is not to be pointed at it as "the latest word".
 */
function withdrawalOf(ctx: CoreContext, update: string): string | undefined {
  const [cancel] = ctx.store.announcements.cancelsOf(update)
  if (cancel) return `its Update ${shortId(update)} was cancelled by ${shortId(cancel)}, which withdrew the whole message (crier status ${shortId(cancel)})`
  if (ctx.store.announcements.get(update)?.state === 'cancelled') return `its Update ${shortId(update)} was cancelled, and the whole message with it`
  return undefined
}

export function draftUpdate(ctx: CoreContext, id: string, input: DraftInput): Announcement {
  return ctx.store.transaction(() => {
    const original = mustGet(ctx, id)
    const short = shortId(id)
    if (original.msgType === 'Cancel') throw new PolicyRefusal(`cannot update ${short} — it is a Cancel; send a new announcement instead`)
    if (original.state === 'cancelled') throw new PolicyRefusal(`cannot update ${short} — it was cancelled; send a new announcement instead`)
    const [cancel] = ctx.store.announcements.cancelsOf(id)
    if (cancel) throw new PolicyRefusal(`cannot update ${short} — it was cancelled by ${shortId(cancel)}; send a new announcement instead`)
    const [latest] = ctx.store.announcements.sentUpdatesOf(id)
    const withdrawnBy = latest && withdrawalOf(ctx, latest)
    if (withdrawnBy) throw new PolicyRefusal(`cannot update ${short} — ${withdrawnBy}; send a new announcement instead`)
    if (latest) throw new PolicyRefusal(`cannot update ${short} — it was updated already by ${shortId(latest)}: update that (crier update ${shortId(latest)} …)`)
    if (ctx.store.deliveries.publishedChannels(id).length === 0) {
      if (['sent', 'sent_with_failures', 'expired'].includes(original.state)) {
        // Finished without reaching anyone (every delivery dead or expired): there is nothing
        // out there to update, and the announcement itself can no longer be edited or sent.
        throw new PolicyRefusal(`cannot update ${short} — it reached no one (crier status ${short} says why); send what it should say as a new announcement: crier draft …`)
      }
      // Queued or going out, it can no longer be edited: stopping it is the way to change it.
      if (original.state === 'sending') throw new PolicyRefusal(`cannot update ${short} — nothing of it has reached anyone yet, and what is queued cannot be edited: crier cancel ${short} stops it (a Cancel message goes out only where something may have reached the public); then draft what it should say`)
      throw new PolicyRefusal(`cannot update ${short} — nothing of it has been sent yet; change it instead: crier edit ${short} (crier unschedule ${short} first if it is scheduled)`)
    }
    // Expired, it is over for the public (and for CAP readers): what is news now is a new
    // announcement — an Update would bring the old one back, and with no expiry of its own.
    if (original.expiresAt !== undefined && original.expiresAt <= ctx.now()) {
      throw new PolicyRefusal(`cannot update ${short} — it expired at ${formatInZone(original.expiresAt, ctx.config.timezone)}; send what is news now as a new announcement: crier draft …`)
    }
    return createDraft(ctx, input, {msgType: 'Update', original})
  })
}

/** A recurring announcement's occurrences that reached the public and are in force; `sending`: its broadcast has not finished. */
function occurrencesStillOut(ctx: CoreContext, templateId: string, now: number): Array<{id: string; sending: boolean}> {
  return ctx.store.schedules.occurrencesOf(templateId).flatMap(({announcementId}) => {
    const occurrence = announcementId ? ctx.store.announcements.get(announcementId) : undefined
    if (!occurrence || occurrence.state === 'cancelled' || (occurrence.expiresAt !== undefined && occurrence.expiresAt <= now)) return []
    if (ctx.store.announcements.cancelsOf(occurrence.id).length || ctx.store.announcements.sentUpdatesOf(occurrence.id).length) return []
    return ctx.store.deliveries.publishedChannels(occurrence.id).length ? [{id: occurrence.id, sending: occurrence.state === 'sending'}] : []
  })
}

/**
 * At send time, an Update must still be the latest word on its original: one drafted before
 * someone cancelled the original would bring back what was withdrawn, and one drafted before
 * another Update of it went out would fork the story. (A Cancel cannot be drafted once an
 * Update went out, nor an Update once a Cancel was drafted: draftUpdate and cancelAnnouncement
 * refuse those.) Throws a refusal saying what to do instead.
 */
export function refuseStaleUpdate(ctx: CoreContext, announcement: Announcement): void {
  const originalId = announcement.references
  if (!originalId || announcement.msgType !== 'Update') return
  const self = shortId(announcement.id)
  const original = shortId(originalId)
  const [cancel] = ctx.store.announcements.cancelsOf(originalId)
  if (cancel || ctx.store.announcements.get(originalId)?.state === 'cancelled') {
    throw new PolicyRefusal(`cannot send ${self} — ${original}, which it updates, was cancelled${cancel ? ` by ${shortId(cancel)}` : ''} since; an Update cannot bring it back: send a new announcement instead`)
  }
  const newer = ctx.store.announcements.sentUpdatesOf(originalId).find((id) => id !== announcement.id)
  if (newer) throw new PolicyRefusal(`cannot send ${self} — ${original} was updated by ${shortId(newer)} since; update that instead (crier update ${shortId(newer)} …)`)
}

/** The announcement and every earlier message it follows up, newest first (followUpThread, from the store). */
export function threadOf(ctx: Pick<CoreContext, 'store'>, id: string): string[] {
  return followUpThread(id, ctx.store.announcements.get)
}

export interface CancelResult {
  /** The cancelled announcement, as it is now. */
  announcement: Announcement
  /** Deliveries that had not gone yet (queued, or waiting to retry) and now never will. */
  stopped: number
  /** Deliveries being sent at this moment: too late to stop; they finish. */
  inFlight: number
  /** The CAP Cancel drafted for the channels where the announcement reached the public (or may have). */
  followUp?: Announcement
  /**
   * A recurring announcement's occurrences that reached the public and are still current (not
   * expired, cancelled or updated): each is its own CAP message, withdrawn by its own cancel.
   */
  occurrencesStillOut: string[]
  /** Those of them still going out (their broadcast not finished): a cancel of each stops it too. */
  occurrencesSending: string[]
  /** Updates of the thread drafted or scheduled but never sent, withdrawn with it. */
  withdrawnUpdates: string[]
  /** It was one occurrence of a recurring schedule that still fires: its template, and when next. */
  scheduleStillFires?: {templateId: string; scheduleId: string; nextDueAt: number}
  /** When it had expired already: nothing of it is in force, so no Cancel was drafted. */
  expiredAt?: number
}

/**
 * `crier cancel`: in one transaction, ends the announcement's schedule, stops every delivery not
 * yet sent, marks it cancelled (a sent one stays sent: what went out went out), and — where any
 * of it reached the public, or may have — drafts a CAP Cancel referencing it, for the channels
 * it reached, whose text is `text`. The Cancel is then sent as any announcement is, under the
 * same policy (see the command). Stopping needs no approval: it sends nothing.
 */
export function cancelAnnouncement(ctx: CoreContext, id: string, text: string | undefined, options: {draftCancel?: boolean} = {}): CancelResult {
  // draftCancel false: the config does not load, so only the stopping is done; a later cancel,
  // once it does, drafts the Cancel message for what went out.
  const draftCancel = options.draftCancel ?? true
  return ctx.store.transaction(() => {
    const original = mustGet(ctx, id)
    if (original.msgType === 'Cancel') throw new PolicyRefusal(`cannot cancel ${shortId(id)} — it is itself a Cancel; send a new announcement instead`)
    const [earlier] = ctx.store.announcements.cancelsOf(id)
    if (earlier) throw new PolicyRefusal(`cannot cancel ${shortId(id)} — it was cancelled already by ${shortId(earlier)} (crier status ${shortId(earlier)})`)
    // Cancelled before without a Cancel message (it had expired, or reached nobody): recorded in
    // the trail, and not done twice. One stopped while its Cancel could not be drafted is the
    // exception: cancelling again drafts it (stoppedBefore below).
    const [cancelledBefore] = ctx.store.audit.latestOf(id, 'cancelled', 1)
    if (cancelledBefore && cancelledBefore.details.cancelNotDrafted !== true && (original.state === 'sent' || original.state === 'sent_with_failures')) {
      throw new PolicyRefusal(`cannot cancel ${shortId(id)} — ${cancelledBefore.actor} cancelled it already (no Cancel message was needed: nothing of it was in force); crier audit --id ${shortId(id)} shows when`)
    }
    const [latest] = ctx.store.announcements.sentUpdatesOf(id)
    const withdrawnBy = latest && withdrawalOf(ctx, latest)
    if (withdrawnBy) throw new PolicyRefusal(`cannot cancel ${shortId(id)} — it is withdrawn already: ${withdrawnBy}`)
    if (latest) throw new PolicyRefusal(`cannot cancel ${shortId(id)} — it was updated by ${shortId(latest)}, the latest word: cancel that (crier cancel ${shortId(latest)})`)
    const isFinal = original.state === 'sent' || original.state === 'sent_with_failures'
    // Stopped before, while the config could not draft its Cancel (no Cancel exists: see above):
    // cancelling again drafts it now.
    const stoppedBefore = original.state === 'cancelled' && ctx.store.audit.latestOf(id, 'cancelled', 1)[0]?.details.cancelNotDrafted === true
    // Refuses what is already cancelled or expired, with the reason.
    const next = isFinal || stoppedBefore ? original.state : transition(original.state, 'cancel', shortId(id))
    const now = ctx.now()
    const schedule = ctx.store.schedules.activeFor(id)
    if (schedule) ctx.store.schedules.end(schedule.id, now, `cancelled by ${ctx.user}`)
    // Cancelling an Update withdraws the whole story: what of the earlier messages has not gone
    // yet stops too, and the Cancel goes wherever any of them reached (or may have). An Update
    // that never went out withdraws only itself: the public never read it, and what it would
    // have corrected stands (cancel that to withdraw it).
    // An Update went out only once some of it may have reached someone: one queued and not yet
    // sent (broadcast --no-wait, no run since) withdraws only itself, as a draft does — a Cancel
    // of the whole story would tell people to disregard words they never had, and withdraw the
    // original with it.
    const updateUnheard = original.msgType === 'Update' && !stoppedBefore && ctx.store.deliveries.mayHaveReached([id]).length === 0
    const wentOut = (original.state === 'sending' || isFinal || stoppedBefore) && !updateUnheard
    const thread = wentOut ? threadOf(ctx, id) : [id]
    let stopped = 0
    let inFlight = 0
    for (const member of thread) {
      stopped += ctx.store.deliveries.cancelUndelivered(member, `cancelled by ${ctx.user}`, now)
      inFlight += ctx.store.deliveries.sendingNow(member)
    }
    // Expired, it is in force nowhere (CAP readers drop it, the feed no longer lists it): there is
    // nothing to withdraw, and a Cancel drafted without an expiry would only be refused.
    const expiredAt = original.expiresAt !== undefined && original.expiresAt <= now ? original.expiresAt : undefined
    const mayHold = new Set(expiredAt === undefined && draftCancel ? ctx.store.deliveries.mayHaveReached(thread) : [])
    const reached = [...new Set(thread.flatMap((member) => ctx.store.announcements.get(member)?.channels ?? []))].filter((name) => mayHold.has(name) && name in ctx.config.channels)
    if (next !== original.state) ctx.store.announcements.setState(id, next, now)
    for (const earlier of thread.slice(1)) {
      if (ctx.store.announcements.get(earlier)?.state === 'sending') ctx.store.announcements.setState(earlier, transition('sending', 'cancel', shortId(earlier)), now)
    }
    // An Update drafted or scheduled for the thread and not sent would update what is now
    // withdrawn: it is withdrawn too (else it fires into a refusal, or waits as a plain draft).
    const withdrawnUpdates = wentOut ? withdrawUnsentUpdates(ctx, thread, now) : []
    const headline = original.variants[0]?.headline ?? ''
    const followUp =
      reached.length === 0
        ? undefined
        : createDraft(ctx, {...cancelWords(text, headline, ctx.config.languages), channels: reached}, {msgType: 'Cancel', original})
    ctx.store.announcements.recordCancel(id, {stopped, inFlight, ...(followUp && {followUp: followUp.id}), ...(!draftCancel && wentOut && {cancelNotDrafted: true})}, now)
    // What went out before the cancel, once nothing of it is still being sent (else the last send to settle records it).
    for (const member of thread) {
      if (ctx.store.announcements.get(member)?.state === 'cancelled' && !ctx.store.deliveries.hasPending(member) && ctx.store.deliveries.publishedChannels(member).length) ctx.store.announcements.recordCancelledResult(member, now)
    }
    const stillOut = occurrencesStillOut(ctx, id, now)
    const occurrencesSending = stillOut.filter((occurrence) => occurrence.sending).map((occurrence) => occurrence.id)
    // One occurrence of a recurring schedule: the schedule goes on firing the same words. Said,
    // not ended — next week's bulletin may be right; the officer decides (crier unschedule).
    const firing = thread.map((member) => ctx.store.schedules.stillFiringFor(member)).find((schedule) => schedule !== undefined)
    return {
      announcement: mustGet(ctx, id),
      stopped,
      inFlight,
      followUp,
      occurrencesStillOut: stillOut.map((occurrence) => occurrence.id),
      occurrencesSending,
      withdrawnUpdates,
      ...(firing && {scheduleStillFires: {templateId: firing.announcementId, scheduleId: firing.id, nextDueAt: firing.nextDueAt!}}),
      ...(expiredAt !== undefined && {expiredAt}),
    }
  })
}

/** Withdraws the Updates of `thread` that never went out (drafts, awaiting approval, approved, scheduled). */
function withdrawUnsentUpdates(ctx: CoreContext, thread: string[], now: number): string[] {
  const unsent = ctx.store.announcements.followUpsOf(thread).filter((followUp) => followUp.msgType === 'Update' && !['sending', 'sent', 'sent_with_failures'].includes(followUp.state))
  for (const update of unsent) {
    const schedule = ctx.store.schedules.activeFor(update.id)
    if (schedule) ctx.store.schedules.end(schedule.id, now, `what it updates was cancelled by ${ctx.user}`)
    ctx.store.announcements.setState(update.id, transition(update.state, 'cancel', shortId(update.id)), now)
  }
  return unsent.map((update) => update.id)
}
