import {envFlagSet} from '../../core/env-flag.js'
import {inTerminalForeground} from '../../core/terminal-foreground.js'
// Whether the live view can run, and in colour. No Ink here: these decide whether Ink is loaded.

/**
 * The live view is for a person at a terminal (it draws on stderr and reads keys): not for
 * --json, a pipe, a dumb terminal, a CI job's log, or a command run in the background.
 */
export function canShowLiveView(isJson: boolean, stream: {isTTY?: boolean} = process.stderr, env: NodeJS.ProcessEnv = process.env, foreground = inTerminalForeground): boolean {
  return !isJson && stream.isTTY === true && env.TERM !== 'dumb' && !envFlagSet(env.CI) && foreground()
}

/** Colour unless --no-color, or NO_COLOR is set to anything but the empty string (no-color.org). */
export function wantsColour(colourFlag: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return colourFlag && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '')
}
