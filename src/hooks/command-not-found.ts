import type {Hook} from '@oclif/core'
import {envFlagSet} from '../core/env-flag.js'
import {inTerminalForeground} from '../core/terminal-foreground.js'
import {oneLine} from '../core/terminal-text.js'

/** Exit code of a word that is not a crier command (README "exit codes"), as a shell's own. */
const notACommand = 127

/**
 * What oclif could not find as a command. With commands named by words (`channels list`), oclif
 * takes every word up to the first flag as part of the name while the command so far takes no
 * arguments: `crier run 55s` is looked up as `run 55s`. That is a stray argument, refused by the
 * command itself as any other (exit 2, `Unexpected argument: 55s — see crier run --help`). A word
 * after a command that also heads others (`audit verfy`) is a typo of one of those, as is one
 * that matches nothing (`lsit`): one `Error:` line, exit 127; a person at a terminal is offered
 * the nearest command instead.
 */
const hook: Hook.CommandNotFound = async function ({id, argv = [], config}) {
  // A flag before the command (`crier --config FILE list`, as git -C reads): crier's flags go after it.
  if (id.startsWith('-')) {
    const command = argv.find((word) => config.findCommand(word))
    const where = command ? `after the command: crier ${command} ${id} …` : 'after the command'
    process.stderr.write(`Error: ${shown(id)} goes ${where}, not before it — crier help lists the commands\n`)
    this.exit(2)
  }
  const words = id.split(':')
  for (let length = words.length - 1; length > 0; length--) {
    const commandId = words.slice(0, length).join(':')
    if (!config.findCommand(commandId)) continue
    if (config.commandIDs.some((other) => other.startsWith(`${commandId}:`))) break
    return config.runCommand(commandId, [...words.slice(length), ...argv])
  }
  // The words up to the first that names nothing: `brodcast 01JD5X` is a typo of one word.
  const isKnown = (prefix: string) => Boolean(config.findCommand(prefix)) || config.commandIDs.some((other) => other.startsWith(`${prefix}:`))
  let known = 1
  while (known < words.length && isKnown(words.slice(0, known).join(':'))) known++
  const typed = words.slice(0, known)
  const rest = [...words.slice(known), ...argv]
  const visible = config.commands.filter((command) => !command.hidden).map((command) => command.id)
  const nearest = nearestId(typed.join(':'), visible)
  if (nearest && process.stdin.isTTY && process.stderr.isTTY && !envFlagSet(process.env.CRIER_NO_PROMPT) && !envFlagSet(process.env.CI) && inTerminalForeground()) {
    const {confirm} = await import('@inquirer/prompts')
    // Left unanswered, it gives up rather than hold the terminal.
    const isConfirmed = await confirm({message: `${shown(typed.join(' '))} is not a crier command. Did you mean ${nearest.replace(/:/g, ' ')}?`, default: true}, {output: process.stderr, signal: AbortSignal.timeout(10_000)}).catch(() => false)
    if (isConfirmed) return config.runCommand(nearest, rest)
  }
  const suggestion = nearest ? `did you mean crier ${nearest.replace(/:/g, ' ')}? crier help lists them` : 'crier help lists them'
  process.stderr.write(`Error: ${shown(typed.join(' '))} is not a crier command — ${suggestion}\n`)
  this.exit(notACommand)
}

export default hook

/** A word typed as a command, as shown back: from a script it may carry terminal controls. */
function shown(word: string): string {
  return oneLine(word, 80)
}

/** The command id nearest to `id` in edit distance, if any is within half its length. */
export function nearestId(id: string, ids: readonly string[]): string | undefined {
  let best: {id: string; distance: number} | undefined
  for (const candidate of ids) {
    const distance = editDistance(id, candidate)
    if (!best || distance < best.distance) best = {id: candidate, distance}
  }
  return best && best.distance <= Math.max(2, Math.floor(id.length / 2)) ? best.id : undefined
}

/** Edit distance counting a swap of two neighbours as one edit, as in a typo (`lsit`: list, not edit). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let distance = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = distance
    }
  }
  return rows[a.length]![b.length]!
}
