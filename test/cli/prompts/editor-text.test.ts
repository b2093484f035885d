import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {DraftCancelled} from '../../../src/cli/prompts/draft-cancelled.js'
import {chosenEditor, textFromEditor} from '../../../src/cli/prompts/editor-text.js'
import {UsageError} from '../../../src/core/errors.js'

// The text from $EDITOR: real (shell-script) editors that write, fail, write nothing, or are
// interrupted.

describe('chosenEditor', () => {
  it('prefers VISUAL, then EDITOR, and never guesses one', () => {
    expect(chosenEditor({VISUAL: 'code --wait', EDITOR: 'vi'})).toBe('code --wait')
    expect(chosenEditor({EDITOR: 'nano'})).toBe('nano')
    expect(chosenEditor({EDITOR: '  '})).toBeUndefined()
    expect(chosenEditor({})).toBeUndefined()
  })
})

describe('textFromEditor', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crier-editor-test-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  function editor(script: string): string {
    const file = join(dir, 'editor.sh')
    writeFileSync(file, `#!/bin/sh\n${script}\n`)
    chmodSync(file, 0o700)
    return file
  }

  it('returns what the editor saved, trimmed, with its paragraphs', () => {
    expect(textFromEditor(editor(`printf 'Road closed.\\r\\n\\r\\nUse the A5.\\n\\n' > "$1"`))).toBe('Road closed.\n\nUse the A5.')
  })

  it('gives the editor an empty private file', () => {
    const seen = join(dir, 'seen')
    textFromEditor(editor(`stat -c %a "$1" > ${seen}; wc -c < "$1" >> ${seen}; echo text > "$1"`))
    const [mode, size] = readFileSync(seen, 'utf8').trim().split('\n')
    expect(mode).toBe('600')
    expect(size!.trim()).toBe('0')
  })

  it('refuses an empty text with exit 2', () => {
    expect(() => textFromEditor(editor('true'))).toThrow(new UsageError('the text from the editor is empty — give the announcement text'))
  })

  it('refuses when the editor fails, saying nothing was created', () => {
    const failing = editor('exit 3')
    expect(() => textFromEditor(failing)).toThrow(new UsageError(`${failing} exited with status 3 — nothing was created`))
  })

  it('cancels the draft when the editor is stopped by Ctrl-C', () => {
    expect(() => textFromEditor(editor('kill -INT $$'))).toThrow(DraftCancelled)
  })
})
