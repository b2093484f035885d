import {spawnSync} from 'node:child_process'
import {chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {crierBin, jsonOf, makeCrierHome} from '../helpers/cli.js'

// `crier edit ID` with no flags opens $EDITOR, but only on a terminal: run it under a real
// pseudo-terminal (util-linux `script`) with an "editor" that rewrites the file it is given.

describe('edit on a terminal', () => {
  it('opens $EDITOR on the text and saves what the editor wrote', () => {
    const home = makeCrierHome()
    try {
      const created = jsonOf(home.run(['draft', 'The A55 is closed at J11.', '--severity', 'Minor', '--json']))
      const editor = join(home.home, 'fake-editor.sh')
      writeFileSync(editor, '#!/bin/sh\nsed -i "s/J11/J12/" "$1"\n')
      chmodSync(editor, 0o700)
      const command = `${process.execPath} ${crierBin} edit ${created.id}`
      const result = spawnSync('script', ['-qec', command, '/dev/null'], {env: {...home.env, EDITOR: editor, TERM: 'dumb'}, encoding: 'utf8', timeout: 30_000})
      expect(result.status, result.stdout + result.stderr).toBe(0)
      expect(result.stdout).toMatch(/Edited \w+\./)
      expect(jsonOf(home.run(['show', created.id, '--json'])).variants[0].description).toBe('The A55 is closed at J12.')
    } finally {
      home.cleanup()
    }
  })

  it('leaves the text unchanged when the editor fails', () => {
    const home = makeCrierHome()
    try {
      const created = jsonOf(home.run(['draft', 'Unchanged text.', '--severity', 'Minor', '--json']))
      const command = `${process.execPath} ${crierBin} edit ${created.id}`
      const result = spawnSync('script', ['-qec', command, '/dev/null'], {env: {...home.env, EDITOR: 'false', TERM: 'dumb'}, encoding: 'utf8', timeout: 30_000})
      expect(result.status).toBe(2)
      expect(result.stdout).toMatch(/Error: false exited with status 1 — nothing was changed/)
      expect(jsonOf(home.run(['show', created.id, '--json'])).variants[0].description).toBe('Unchanged text.')
    } finally {
      home.cleanup()
    }
  })
})
