import type {CoreContext} from '../core/context.js'
import {PolicyRefusal} from '../core/errors.js'
import {createDraft, type DraftInput} from '../core/drafting.js'
import {fanOut, type FanOutOptions, type FanOutResult} from './fan-out.js'

class RollBack extends Error {
  constructor(readonly result: FanOutResult) {
    super('dry run')
  }
}

/**
 * `broadcast -`: drafts from the given text and queues it in one transaction, so a refusal by
 * policy leaves nothing behind. A dry run does both and rolls back.
 */
export function draftAndFanOut(ctx: CoreContext, input: DraftInput, options: Pick<FanOutOptions, 'dryRun' | 'override'> = {}): FanOutResult {
  try {
    return ctx.store.transaction(() => {
      const draft = createDraft(ctx, input)
      const result = fanOut(ctx, draft.id, {override: options.override})
      if (options.dryRun) throw new RollBack({...result, dryRun: true, queued: 0})
      return result
    })
  } catch (error) {
    if (error instanceof RollBack) return error.result
    if (error instanceof PolicyRefusal) {
      // The draft was rolled back: its id named nothing anyone could look up.
      const reason = error.message.replace(/ — ask another officer.*$/, '').replace(/^\w{12,26} \(/, 'it (')
      throw new PolicyRefusal(`${reason} — nothing was saved; create it with crier draft, get it approved, then crier broadcast ID`)
    }
    throw error
  }
}
