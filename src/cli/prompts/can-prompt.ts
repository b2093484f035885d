import {envFlagSet} from '../../core/env-flag.js'

/** What decides whether a command may ask questions. */
export interface PromptSurroundings {
  stdinIsTTY: boolean
  stdoutIsTTY: boolean
  /** --json: stdout is for one JSON document, and the caller is a program. */
  json: boolean
  /** --no-input */
  noInput: boolean
  env: NodeJS.ProcessEnv
}

/**
 * Prompts only for a person at a terminal: both stdin and stdout are terminals, and neither
 * --json, --no-input, CRIER_NO_PROMPT=1 nor CI says otherwise (a CI job given a pseudo-terminal
 * has nobody at it). Anywhere else missing input is an exit 2 naming the flag, never a prompt
 * waiting on a stdin nobody is typing into.
 */
export function canPrompt(surroundings: PromptSurroundings): boolean {
  const {stdinIsTTY, stdoutIsTTY, json, noInput, env} = surroundings
  return stdinIsTTY && stdoutIsTTY && !json && !noInput && !envFlagSet(env.CRIER_NO_PROMPT) && !envFlagSet(env.CI)
}
