import {envFlagSet} from '../../core/env-flag.js'
// Whether the live view can run, and in colour. No Ink here: these decide whether Ink is loaded.

/** The live view draws on stderr: it needs a terminal there, and is off with --json. */
/** The live view is for a person at a terminal: not for --json, a pipe, a dumb terminal or a CI job's log. */
export function canShowLiveView(isJson: boolean, stream: {isTTY?: boolean} = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return !isJson && stream.isTTY === true && env.TERM !== 'dumb' && !envFlagSet(env.CI)
}

/** Colour unless --no-color, or NO_COLOR is set to anything but the empty string (no-color.org). */
export function wantsColour(colourFlag: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return colourFlag && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '')
}
