import {writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {inTerminalForeground} from '../../src/core/terminal-foreground.js'
import {tempDirsAfterEach} from '../helpers/closed-after-each.js'

// /proc/PID/stat: pid (comm) state ppid pgrp session tty_nr tpgid …; comm may hold spaces and parentheses.

const tempDir = tempDirsAfterEach()

function statFile(line: string): string {
  const file = join(tempDir('crier-stat-'), 'stat')
  writeFileSync(file, line)
  return file
}

describe('inTerminalForeground', () => {
  it('is true when the process group is the terminal\'s foreground group', () => {
    expect(inTerminalForeground(statFile('4242 (node) S 4200 4242 4100 34816 4242 4194560 100 0 0 0\n'))).toBe(true)
  })

  it('is false in a background group (timeout without --foreground, &), whatever the command name holds', () => {
    expect(inTerminalForeground(statFile('4242 (node) S 4241 4241 4100 34816 4100 4194560 100 0 0 0\n'))).toBe(false)
    expect(inTerminalForeground(statFile('4242 (my (odd) name) S 4241 4241 4100 34816 4100 4194560 100 0 0 0\n'))).toBe(false)
  })

  it('is true without a controlling terminal, or where /proc cannot say', () => {
    expect(inTerminalForeground(statFile('4242 (node) S 1 4242 4242 0 -1 4194560 100 0 0 0\n'))).toBe(true)
    expect(inTerminalForeground(join(tmpdir(), 'no-such-dir-for-crier', 'stat'))).toBe(true)
    expect(inTerminalForeground(statFile('garbage'))).toBe(true)
  })
})
