import {envFlagSet} from '../../core/env-flag.js'
import {inTerminalForeground} from '../../core/terminal-foreground.js'

/** What decides whether a command may ask questions. */
export interface PromptSurroundings {
  stdinIsTTY: boolean
  stdoutIsTTY: boolean
  /** --json: stdout is for one JSON document, and the caller is a program. */
  json: boolean
  /** --no-input */
  noInput: boolean
  env: NodeJS.ProcessEnv
  /** This process is in its terminal's foreground (default: as /proc says). */
  foreground?: () => boolean
}

/**
 * Prompts only for a person at a terminal: both stdin and stdout are terminals, in the
 * foreground (a prompt read from the background stops the process), and neither --json,
 * --no-input, CRIER_NO_PROMPT=1 nor CI says otherwise (a CI job given a pseudo-terminal has
 * nobody at it). Anywhere else missing input is an exit 2 naming the flag, never a prompt
 * waiting on a stdin nobody is typing into.
 */
export function canPrompt(surroundings: PromptSurroundings): boolean {
  const {stdinIsTTY, stdoutIsTTY, json, noInput, env, foreground = inTerminalForeground} = surroundings
  return stdinIsTTY && stdoutIsTTY && !json && !noInput && !envFlagSet(env.CRIER_NO_PROMPT) && !envFlagSet(env.CI) && foreground()
}
