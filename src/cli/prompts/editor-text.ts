import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {UsageError} from '../../core/errors.js'
import {checkAnnouncementText} from '../../core/text-input.js'
import {DraftCancelled} from './draft-cancelled.js'

/** The editor the officer chose ($VISUAL, then $EDITOR), or undefined: crier never guesses one. */
export function chosenEditor(env: NodeJS.ProcessEnv): string | undefined {
  return env.VISUAL?.trim() || env.EDITOR?.trim() || undefined
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`

/**
 * Opens `editor` on an empty private file and returns what was saved, checked like any
 * announcement text. The editor owns the terminal meanwhile: crier ignores Ctrl-C (as git does
 * around its editor) and lets the editor decide; an editor killed by it cancels the draft.
 */
export function textFromEditor(editor: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'crier-draft-'))
  const file = join(dir, 'announcement.txt')
  const ignore = () => {}
  process.on('SIGINT', ignore)
  try {
    writeFileSync(file, '', {mode: 0o600})
    // shell: $EDITOR is a command line ("code --wait", "nano -w"), as git and crontab read it.
    const result = spawnSync(`${editor} ${shellQuote(file)}`, {stdio: 'inherit', shell: true})
    if (result.signal === 'SIGINT' || result.status === 130) throw new DraftCancelled()
    if (result.status !== 0) throw new UsageError(`${editor} exited with status ${result.status ?? result.signal} — nothing was created`)
    return checkAnnouncementText(readFileSync(file), 'the text from the editor')
  } finally {
    process.off('SIGINT', ignore)
    rmSync(dir, {recursive: true, force: true})
  }
}
