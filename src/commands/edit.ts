import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {announcementFlags, statusFlag} from '../cli/draft-flags.js'
import {readFileText, readStdinText} from '../cli/read-text.js'
import {approvalsOf, mustGet} from '../core/approval.js'
import {variantIndexFor} from '../core/announcement.js'
import {editAnnouncement, parseLanguage, type EditInput} from '../core/drafting.js'
import {UsageError} from '../core/errors.js'
import {splitChannelList} from '../core/fields.js'
import {shortId} from '../core/ids.js'
import {checkAnnouncementText} from '../core/text-input.js'
import {approvalsWanted} from '../views/approval-wanted.js'
import {announcementJson} from '../views/format.js'
import {counted} from '../core/counted.js'
import {oneLine} from '../core/terminal-text.js'
import {inTerminalForeground} from '../core/terminal-foreground.js'

export default class Edit extends CrierCommand {
  static override description = 'Change fields of a draft; editing approved text withdraws its approvals.'
  static override examples = [
    '<%= config.bin %> edit 01JD5X --expires +12h',
    '<%= config.bin %> edit 01JD5X --text "Corrected text."',
    '<%= config.bin %> edit 01JD5X --lang cy-GB --text "Mae\'r A55 ar gau."   # the Welsh text, added or changed; the English stays',
    '<%= config.bin %> edit 01JD5X   # opens $EDITOR on a terminal',
  ]
  static override args = {id: idArg}
  static override flags = {
    ...announcementFlags,
    ...statusFlag,
    // What these two mean for a text already there, said only where they do it.
    zone: Flags.string({description: 'Target subscribers in these zones (their zone column); repeatable or a comma list; needs --area. --zone "" removes the targeting.', multiple: true, multipleNonGreedy: true}),
    lang: Flags.string({description: 'The language whose text to change, or to add beside the others (a tag such as cy-GB; default: the first).'}),
    text: Flags.string({description: 'New text, or - to read stdin.'}),
  }

  async run() {
    const {args, flags} = await this.parse(Edit)
    const ctx = await this.context()
    const id = resolveAnnouncementId(ctx, args.id)
    const {file, channel, text: textFlag, json: _json, config: _config, ...fields} = flags
    const input: EditInput = {...fields}
    if (channel) input.channels = splitChannelList(channel)
    if (file !== undefined) input.text = readFileText(file)
    else if (textFlag === '-') input.text = readStdinText()
    else if (textFlag !== undefined) input.text = checkAnnouncementText(Buffer.from(textFlag, 'utf8'), '--text')
    // --lang alone says which language's text to change, not what to change it to.
    const changed = Object.entries(input).some(([field, value]) => field !== 'lang' && value !== undefined)
    if (!changed) {
      if (!process.stdin.isTTY || !process.stdout.isTTY || !inTerminalForeground()) {
        throw new UsageError(`nothing to change — give a flag such as --text, --headline or --expires${input.lang === undefined ? '' : ' with --lang'} (or run on a terminal to use $EDITOR)`)
      }
      const {variants} = mustGet(ctx, id)
      const language = input.lang === undefined ? undefined : parseLanguage(input.lang)
      input.text = editInEditor(language === undefined ? variants[0]!.description : (variants[variantIndexFor(variants, language)]?.description ?? ''))
    }
    const {announcement, withdrawnApprovals, keptHeadline, unchanged} = editAnnouncement(ctx, id, input)
    if (unchanged) {
      this.say(`Unchanged: ${shortId(id)} already says that${announcement.state === 'approved' ? ' (its approvals stand)' : ''}.`)
      return {...announcementJson(announcement), withdrawnApprovals, changed: false}
    }
    // A raised severity can make a draft wait for approval: said, as draft says it.
    const waiting = announcement.state === 'pending_approval' && !withdrawnApprovals ? ` (${announcement.severity}, waiting for approval: it needs ${approvalsWanted(announcement, approvalsOf(ctx, announcement))}: crier approve ${shortId(id)})` : ''
    this.say(`Edited ${shortId(id)}${waiting}${withdrawnApprovals ? `; ${counted(withdrawnApprovals, 'approval')} withdrawn — it needs approving again` : ''}.`)
    // On stderr with --json too: a script is the likelier to leave "open" over "closed".
    if (keptHeadline) process.stderr.write(`Note: the headline stays "${oneLine(keptHeadline, 140)}" — if the new text says otherwise, change it with --headline\n`)
    return {...announcementJson(announcement), withdrawnApprovals, changed: true}
  }
}

function editInEditor(current: string): string {
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi'
  const dir = mkdtempSync(join(tmpdir(), 'crier-edit-'))
  const file = join(dir, 'announcement.txt')
  try {
    writeFileSync(file, current + '\n', {mode: 0o600})
    const result = spawnSync(editor, [file], {stdio: 'inherit', shell: true})
    if (result.status !== 0) throw new UsageError(`${editor} exited with status ${result.status} — nothing was changed`)
    return checkAnnouncementText(readFileSync(file), 'the edited text')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
