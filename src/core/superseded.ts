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
}

const goneOut = new Set(['sending', 'sent', 'sent_with_failures'])

/**
 * For each of these announcements that a later message replaced, what replaced it — so a list
 * never shows a cancelled warning as simply "sent". A Cancel outranks any Update.
 */
export function supersededBy(ctx: CoreContext, ids: string[]): Map<string, Superseded> {
  const found = new Map<string, Superseded>()
  for (const followUp of ctx.store.announcements.followUpsOf(ids)) {
    const entry = found.get(followUp.referencesId) ?? {}
    const out = goneOut.has(followUp.state)
    if (followUp.msgType === 'Cancel' && out) entry.cancelledBy ??= followUp.id
    else if (followUp.msgType === 'Cancel') entry.cancelNotSent ??= followUp.id
    else if (out) entry.updatedBy = followUp.id
    else continue
    found.set(followUp.referencesId, entry)
  }
  return found
}
