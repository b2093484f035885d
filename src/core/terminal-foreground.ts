import {readFileSync} from 'node:fs'

/**
 * Whether this process is in its terminal's foreground process group. One started in the
 * background (`timeout 60 crier broadcast …` without --foreground, `crier … &`) that put the
 * terminal in raw mode or read a key would be stopped by SIGTTOU or SIGTTIN, and hang holding
 * its deliveries: such a command shows plain lines and asks nothing instead. Linux says so in
 * /proc; elsewhere a terminal is taken to be in the foreground.
 */
export function inTerminalForeground(statFile = '/proc/self/stat'): boolean {
  let stat: string
  try {
    stat = readFileSync(statFile, 'utf8')
  } catch {
    return true
  }
  // After the command name (which may hold spaces and parentheses): state ppid pgrp session tty_nr tpgid …
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const processGroup = Number(fields[2])
  const terminalGroup = Number(fields[5])
  // No controlling terminal (-1), or a line it cannot read: nothing to be stopped by.
  if (!Number.isInteger(processGroup) || !Number.isInteger(terminalGroup) || terminalGroup <= 0) return true
  return processGroup === terminalGroup
}
