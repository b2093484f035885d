import {Args, Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {announcementFlags, refuseChannelNameAsText, statusFlag} from '../cli/draft-flags.js'
import {canPrompt} from '../cli/prompts/can-prompt.js'
import {DraftCancelled} from '../cli/prompts/draft-cancelled.js'
import {draftQuestions} from '../cli/prompts/draft-questions.js'
import {announcementText, givenAnnouncementText} from '../cli/read-text.js'
import {createDraft, parseLanguage, parseStatus, type DraftInput} from '../core/drafting.js'
import {splitChannelList} from '../core/fields.js'
import {shortId} from '../core/ids.js'
import {UsageError} from '../core/errors.js'
import {isDrill} from '../core/drill.js'
import {fillTemplateAndTyped, templateNamed, overTemplate} from '../core/templates.js'
import {approvalsOf} from '../core/approval.js'
import {approvalsWanted} from '../views/approval-wanted.js'
import {announcementJson} from '../views/format.js'
import {stopSignals} from '../cli/stop-signals.js'

export default class Draft extends CrierCommand {
  static override description = 'Create a draft announcement from an argument, --file or stdin; on a terminal, asks for what is missing.'
  static override startsHome = true
  static override examples = [
    'echo "The A55 is closed westbound." | <%= config.bin %> draft - --severity Moderate --channel website --expires +6h',
    '<%= config.bin %> draft "Water supply restored in Llandudno." --severity Minor --area Llandudno',
    '<%= config.bin %> draft   # on a terminal: $EDITOR (or typed lines), then questions and a summary',
    '<%= config.bin %> draft --template road-closure --var road=A55 --var direction=westbound --var junctions="J11 and J12" --var until=18:00 --var area=Bangor   # the README\'s road-closure template',
  ]
  static override args = {text: Args.string({description: 'The text, or - to read stdin.', ignoreStdin: true})}
  static override flags = {
    ...announcementFlags,
    ...statusFlag,
    'no-input': Flags.boolean({description: 'Never ask: missing input is an error (exit 2), as off a terminal. Also CRIER_NO_PROMPT=1.'}),
    template: Flags.string({char: 't', description: 'Start from this template (templates: in config); flags given here win over its fields.'}),
    var: Flags.string({description: 'Fill a template placeholder: NAME=VALUE; repeatable.', multiple: true, multipleNonGreedy: true}),
  }

  async run() {
    const {args, flags} = await this.parse(Draft)
    const {file, channel, 'no-input': noInput, template, var: vars, ...fields} = flags
    if (vars?.length && !template) throw new UsageError('--var fills a template\'s placeholders — give --template NAME')
    const prompting = canPrompt({stdinIsTTY: Boolean(process.stdin.isTTY), stdoutIsTTY: Boolean(process.stdout.isTTY), json: this.jsonEnabled(), noInput, env: process.env})
    const templateText = template ? templateNamed(await this.crierConfig(), template).text : undefined
    // Off a terminal a missing text is exit 2 before anything is opened, as it always was.
    const typedText = prompting || templateText !== undefined ? await givenAnnouncementText(args.text, file, {emptyPipeIsNone: templateText !== undefined}) : await announcementText(args.text, file)
    const filled = template ? fillTemplateAndTyped(await this.crierConfig(), template, vars ?? [], {...fields, text: typedText}) : undefined
    const {text: filledTemplateText, ...templateFields} = filled?.template ?? {}
    const {text: filledTypedText, ...typedFields} = filled?.typed ?? {...fields, text: typedText}
    const text = filledTypedText ?? filledTemplateText
    const ctx = await this.context()
    refuseChannelNameAsText(args.text, channel, ctx.config)
    const given = {...overTemplate(templateFields, {...typedFields, channels: splitChannelList(channel ?? [])}), text}
    // Refused before any question rather than after the officer answered them all.
    if (given.lang !== undefined) parseLanguage(given.lang)
    if (given.status !== undefined) parseStatus(given.status)
    const questions = prompting ? draftQuestions(given, ctx.config) : []
    let input: DraftInput | undefined = {...given, text: text!}
    if (questions.length > 0) {
      const {completeDraftInteractively} = await import('../cli/prompts/guided-draft.js')
      try {
        input = await completeDraftInteractively(ctx, given, questions)
      } catch (error) {
        if (!(error instanceof DraftCancelled)) throw error
        process.stderr.write('Cancelled — no draft was created.\n')
        this.exit(130)
      }
      if (!input) {
        this.log('Nothing created.')
        return {created: false}
      }
    }
    // A signal from here is heard, so the draft and the line naming it both happen: Node's default
    // could end it between the two (saved, and a script told nothing, which then drafts it again).
    const signals = stopSignals()
    try {
      const announcement = createDraft(ctx, input)
      const drill = isDrill(announcement.status) ? `, ${announcement.status}` : ''
      const id = shortId(announcement.id)
      const approval = announcement.state === 'pending_approval' ? `; then it needs ${approvalsWanted(announcement, approvalsOf(ctx, announcement))}: crier approve ${id}` : ''
      this.say(`Draft ${id} created (${announcement.severity}${drill}${announcement.state === 'pending_approval' ? ', waiting for approval' : ''}). Next: crier preview ${id}${approval}`)
      return announcementJson(announcement)
    } finally {
      signals.dispose()
    }
  }
}
