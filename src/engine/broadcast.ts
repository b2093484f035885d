import type {CoreContext} from '../core/context.js'
import {PolicyRefusal} from '../core/errors.js'
import {createDraft, type DraftInput} from '../core/drafting.js'
import {shortId} from '../core/ids.js'
import {fanOut, type FanOutOptions, type FanOutResult} from './fan-out.js'

class RollBack extends Error {
  constructor(readonly result: FanOutResult) {
    super('dry run')
  }
}

/**
 * `broadcast ID`: queues it (fanOut) — or, queued already and left waiting (Ctrl-C or q on an
 * earlier broadcast, a sender that died, --no-wait with no worker), queues nothing twice and
 * says so (`resumed`): broadcasting it again takes up sending what waits.
 */
export function fanOutOrResume(ctx: CoreContext, id: string, options: FanOutOptions = {}): FanOutResult & {resumed?: true} {
  if (options.dryRun) return fanOut(ctx, id, options)
  // Looked at in the queueing's own transaction: of two broadcasts of one id at once, the second
  // finds what the first queued and resumes — read before the first committed, it was refused
  // as "being sent", exit 3, and told to cancel a message going out as it should.
  return ctx.store.transaction(() => {
    const current = ctx.store.announcements.get(id)
    if (current?.state === 'sending' && ctx.store.deliveries.hasPending(id)) {
      return {announcement: current, findings: [], queued: 0, dryRun: false, targeting: [], resumed: true as const}
    }
    return fanOut(ctx, id, options)
  })
}

/**
 * `broadcast -`: drafts from the given text and queues it in one transaction, so a refusal by
 * policy leaves nothing behind. A dry run does both and rolls back.
 */
export function draftAndFanOut(ctx: CoreContext, input: DraftInput, options: Pick<FanOutOptions, 'dryRun' | 'override' | 'requireSecrets'> = {}): FanOutResult {
  let draftId = ''
  try {
    return ctx.store.transaction(() => {
      const draft = createDraft(ctx, input)
      draftId = draft.id
      const result = fanOut(ctx, draft.id, {override: options.override, requireSecrets: options.requireSecrets && !options.dryRun})
      if (options.dryRun) throw new RollBack({...result, dryRun: true, queued: 0})
      return result
    })
  } catch (error) {
    // A dry run's draft was rolled back too: its findings' hints name no id ("crier edit 01M… --expires" → "--expires").
    if (error instanceof RollBack) return {...error.result, findings: error.result.findings.map((finding) => ({...finding, message: withoutId(finding.message, draftId)}))}
    if (error instanceof PolicyRefusal) {
      // The draft was rolled back: its id names nothing anyone could look up, so neither it nor
      // a hint built on it is repeated.
      const reason = withoutId(error.message.replace(/ — (?:\S+ needs its approvals: )?ask another officer.*$/, ''), draftId)
      // What policy refuses is put right on the command line; what needs approval, by a draft.
      const next = reason.includes('crier schedule ID')
        ? 'create it with crier draft (the same text and flags), then schedule it so'
        : reason.startsWith('refused by policy')
          ? 'put that right and run it again'
          : 'create it with crier draft, get it approved, then crier broadcast ID'
      throw new PolicyRefusal(`${reason} — nothing was saved; ${next}`)
    }
    throw error
  }
}

function withoutId(message: string, id: string): string {
  if (!id) return message
  const ids = `(?:${id}|${shortId(id)})`
  return message
    .replace(new RegExp(`^${ids} \\((\\w+)\\)`), (_, severity: string) => `${/^[AEIOU]/.test(severity) ? 'an' : 'a'} ${severity} announcement`)
    .replace(new RegExp(` \\([^()]*\\b${ids}\\b[^()]*\\)`, 'g'), '')
    // Scheduling needs a saved draft: said as such, not as a flag broadcast does not take.
    .replace(new RegExp(`crier (schedule|unschedule) ${ids} `, 'g'), 'crier $1 ID ')
    .replace(new RegExp(`crier \\w+ ${ids} `, 'g'), '')
    // Anything else said of it: "and 01M… is Severe" → "and it is Severe".
    .replace(new RegExp(`\\b${ids}\\b`, 'g'), 'it')
}
