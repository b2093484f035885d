import {checkbox, confirm, input, rawlist, select} from '@inquirer/prompts'
import {certainties, severities, urgencies, type Announcement} from '../../core/announcement.js'
import type {CoreContext} from '../../core/context.js'
import {createDraft, type DraftInput} from '../../core/drafting.js'
import {parseCategory, parseCertainty, parseSeverity, parseUrgency, parseWebLink} from '../../core/fields.js'
import {requiredApprovals} from '../../core/policy/approvals.js'
import {previewAnnouncement} from '../../core/preview.js'
import {channelConfig} from '../../core/render.js'
import {checkAnnouncementText, maxTextBytes} from '../../core/text-input.js'
import {parseExpiry} from '../../core/time-input.js'
import {formatInZone} from '../../core/when.js'
import {DraftCancelled} from './draft-cancelled.js'
import {defaultCertainty, defaultChannels, defaultExpiry, defaultHeadline, defaultUrgency, type DraftQuestion, type GivenDraft} from './draft-questions.js'
import {draftSummary} from './draft-summary.js'
import {chosenEditor, textFromEditor} from './editor-text.js'
import {counted} from '../../core/counted.js'

// Guided drafting: `crier draft` on a terminal asks for what the command line left out, shows
// the per-channel summary and creates the draft only after "yes". This module is imported
// (and @inquirer/prompts with it) only when there is something to ask.

/** What `crier draft` was given; the text may be missing. */
export type GivenDraftInput = Omit<DraftInput, 'text'> & GivenDraft

// CAP 1.2 §3.2.2's definitions, shortened to what an officer needs to choose.
const severityHelp: Record<(typeof severities)[number], string> = {
  Extreme: 'extraordinary threat to life or property',
  Severe: 'significant threat to life or property',
  Moderate: 'possible threat to life or property',
  Minor: 'minimal to no known threat',
  Unknown: 'severity unknown',
}
const urgencyHelp: Record<(typeof urgencies)[number], string> = {
  Immediate: 'act now',
  Expected: 'act soon (within the next hour)',
  Future: 'act in the near future',
  Past: 'no action needed any more',
  Unknown: 'not known',
}
const certaintyHelp: Record<(typeof certainties)[number], string> = {
  Observed: 'happened or is happening',
  Likely: 'more likely than not',
  Possible: 'possible, but not likely',
  Unlikely: 'not expected to happen',
  Unknown: 'not known',
}

/**
 * Asks `questions` (from draftQuestions), then shows the summary and asks to create. Returns
 * the completed input for createDraft, or undefined when the officer says no. Nothing is
 * written here; Ctrl-C at any point throws DraftCancelled.
 */
export async function completeDraftInteractively(ctx: CoreContext, given: GivenDraftInput, questions: DraftQuestion[], output: NodeJS.WritableStream = process.stdout): Promise<DraftInput | undefined> {
  refuseInvalidGivenFields(ctx, given)
  try {
    const answers: GivenDraftInput = {...given}
    for (const question of questions) await ask(ctx, question, answers, output)
    const draft: DraftInput = {...answers, text: answers.text!}
    const preview = previewAnnouncement(ctx, unsavedDraft(ctx, draft))
    output.write(`\n${draftSummary(preview, ctx.now(), ctx.config.timezone)}\n\n`)
    return (await confirm({message: 'Create this draft?', default: true})) ? draft : undefined
  } catch (error) {
    // @inquirer/prompts rejects with ExitPromptError when Ctrl-C is pressed at a prompt.
    if (error instanceof Error && error.name === 'ExitPromptError') throw new DraftCancelled()
    throw error
  }
}

/** A mistyped flag is refused before any question, not after the officer answered them all. */
function refuseInvalidGivenFields(ctx: CoreContext, given: GivenDraftInput): void {
  if (given.severity) parseSeverity(given.severity)
  if (given.urgency) parseUrgency(given.urgency)
  if (given.certainty) parseCertainty(given.certainty)
  if (given.category) parseCategory(given.category)
  if (given.web) parseWebLink(given.web)
  if (given.expires) parseExpiry(given.expires, ctx.now(), ctx.config.timezone)
  for (const name of given.channels) channelConfig(ctx.config, name)
}

async function ask(ctx: CoreContext, question: DraftQuestion, answers: GivenDraftInput, output: NodeJS.WritableStream): Promise<void> {
  const {config} = ctx
  switch (question) {
    case 'text': {
      const editor = chosenEditor(process.env)
      if (editor) {
        output.write(`Opening ${editor} for the announcement text — save and quit to continue.\n`)
        answers.text = textFromEditor(editor)
      } else {
        answers.text = await textFromLines(output)
      }
      return
    }
    case 'headline':
      answers.headline = await input({message: 'Headline', default: defaultHeadline(answers.text!)})
      return
    case 'severity':
      // Numbered, with nothing chosen: Enter alone is refused, so an officer pressing Enter
      // through the questions cannot make a road closure Extreme (the first in the list).
      answers.severity = await rawlist({
        message: 'Severity (type its number)',
        choices: severities.map((value) => {
          const approvals = requiredApprovals(config.policy, value)
          const needs = approvals ? ` — needs ${counted(approvals, 'approval')}` : ''
          return {value, short: value, name: `${value.padEnd(9)}${severityHelp[value]}${needs}`}
        }),
      })
      return
    case 'urgency':
      answers.urgency = await select({message: 'Urgency', default: defaultUrgency, choices: urgencies.map((value) => ({value, short: value, name: `${value.padEnd(10)}${urgencyHelp[value]}`}))})
      return
    case 'certainty':
      answers.certainty = await select({message: 'Certainty', default: defaultCertainty, choices: certainties.map((value) => ({value, short: value, name: `${value.padEnd(9)}${certaintyHelp[value]}`}))})
      return
    case 'area':
      answers.area = await input({message: 'Area (where it applies, e.g. "Bangor, Gwynedd")', validate: requireNonBlank})
      return
    case 'instruction':
      answers.instruction = await input({message: 'Instruction (what the public should do)', validate: requireNonBlank})
      return
    case 'web':
      answers.web = await input({message: 'Link to more information (https://…)', validate: (value) => checkedBy(() => parseWebLink(value))})
      return
    case 'channels': {
      const ticked = new Set(defaultChannels(config))
      answers.channels = await checkbox({
        message: 'Channels (space ticks or unticks, enter accepts)',
        required: true,
        choices: Object.values(config.channels).map((channel) => ({value: channel.name, short: channel.name, name: `${channel.name} (${channel.type})`, checked: ticked.has(channel.name)})),
      })
      return
    }
    case 'expires':
      answers.expires = await input({
        message: 'Expires (+6h, +2d, or an ISO 8601 time)',
        default: defaultExpiry,
        validate: (value) => checkedBy(() => parseExpiry(value, ctx.now(), config.timezone)),
        // Echo the resolved time, as `crier schedule` does.
        transformer: (value, {isFinal}) => (isFinal ? `${value} → ${formatInZone(parseExpiry(value, ctx.now(), config.timezone), config.timezone)}` : value),
      })
      return
  }
}

/**
 * The text without an editor: one line per prompt, an empty line ends it (everyone knows
 * Enter; few know a lone "."). Paragraph breaks therefore need $EDITOR or --file, which the
 * hint says. Bounded by the 1 MiB text limit.
 */
async function textFromLines(output: NodeJS.WritableStream): Promise<string> {
  output.write('Type the announcement text. Press Enter on an empty line to finish (for paragraphs, set $EDITOR or use --file).\n')
  const lines: string[] = []
  let bytes = 0
  while (bytes <= maxTextBytes) {
    const first = lines.length === 0
    const line = await input({message: first ? 'Text' : '   ', theme: first ? {} : {prefix: ' '}, validate: first ? requireNonBlank : undefined})
    if (line.trim() === '') break
    lines.push(line)
    bytes += Buffer.byteLength(line) + 1
  }
  return checkAnnouncementText(Buffer.from(lines.join('\n'), 'utf8'), 'the text')
}

function requireNonBlank(value: string): true | string {
  return value.trim() !== '' || 'type something, or press Ctrl-C to stop'
}

/** A core parser as an inquirer validator: its one-line error is shown and the question asked again. */
function checkedBy(parse: () => unknown): true | string {
  try {
    parse()
    return true
  } catch (error) {
    return (error as Error).message
  }
}

const rollBack = Symbol('roll back the previewed draft')

/**
 * The announcement createDraft would make, for the summary, without keeping it: built in a
 * transaction that is rolled back, so every check and default is core's own and nothing stays.
 */
function unsavedDraft(ctx: CoreContext, draft: DraftInput): Announcement {
  let built: Announcement | undefined
  try {
    ctx.store.transaction(() => {
      built = createDraft(ctx, draft)
      throw rollBack
    })
  } catch (error) {
    if (error !== rollBack) throw error
  }
  return built!
}
