import type {CoreContext} from './context.js'

// What replaced an announcement with the public, for the lists an officer reads (list, show,
// status): on its own, without the drafting and policy code follow-up.ts needs, so that a
// plain `crier list` does not load it.

/** What took an announcement's place with the public: its Cancel, or its latest Update. */
export interface Superseded {
  cancelledBy?: string
  updatedBy?: string
  /** A Cancel drafted but not gone out yet: withdrawn, and the public not told. */
  cancelNotSent?: string
  /** Cancelled after it went out with no Cancel message, none being needed: it had expired. */
  cancelledWithoutMessage?: {by: string; at: number; expired: boolean}
}

const goneOut = new Set(['sending', 'sent', 'sent_with_failures'])

/**
 * For each of these announcements that a later message replaced, what replaced it — so a list
 * never shows a cancelled warning as simply "sent". A Cancel outranks any Update.
 */
export function supersededBy(ctx: CoreContext, ids: string[]): Map<string, Superseded> {
  const found = replacedBy(ctx, ids)
  const wanted = new Set(ids)
  // Few announcements are ever cancelled: all such cancels are read, then matched.
  for (const {id, ...cancel} of ctx.store.audit.cancelledWithoutMessage()) {
    if (wanted.has(id)) found.set(id, {...found.get(id), cancelledWithoutMessage: cancel})
  }
  return found
}

/** What follow-ups (Cancels, Updates) replaced each of these with the public. */
function replacedBy(ctx: CoreContext, ids: string[]): Map<string, Superseded> {
  const found = new Map<string, Superseded>()
  // Updates that reached the public, whether or not a cancel has withdrawn them since.
  const updates = ctx.store.announcements.withdrawnIssuedUpdatesOf(ids)
  for (const followUp of ctx.store.announcements.followUpsOf(ids)) {
    const entry = found.get(followUp.referencesId) ?? {}
    const out = goneOut.has(followUp.state)
    if (followUp.msgType === 'Cancel' && out) entry.cancelledBy ??= followUp.id
    else if (followUp.msgType === 'Cancel') entry.cancelNotSent ??= followUp.id
    else if (out) {
      entry.updatedBy = followUp.id
      updates.push(followUp)
    } else continue
    found.set(followUp.referencesId, entry)
  }
  // A Cancel of an Update withdraws the whole story, this message with it: that Cancel is this
  // one's too, so a list never shows the original warning as current once the thread is
  // withdrawn. (Recursive: an Update of that Update carries the Cancel further down.)
  const cancels = updates.length ? replacedBy(ctx, updates.map((update) => update.id)) : new Map<string, Superseded>()
  for (const {id: update, referencesId: original} of updates) {
    const cancel = cancels.get(update)
    if (!cancel?.cancelledBy && !cancel?.cancelNotSent) continue
    const entry = found.get(original) ?? {}
    if (cancel.cancelledBy) entry.cancelledBy ??= cancel.cancelledBy
    else entry.cancelNotSent ??= cancel.cancelNotSent
    found.set(original, entry)
  }
  return found
}
