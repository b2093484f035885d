import {oneLine} from '../../core/terminal-text.js'
import type {LiveViewOptions, LiveViewSession} from './session.js'

// No Ink here either: the caller passes the session module it has started importing, so a
// command that never shows the view never loads it.

/**
 * Starts the live view; when it cannot start (a terminal Ink cannot drive, a module that failed
 * to load), says why in one line on stderr and returns undefined for the caller to fall back to
 * plain progress lines — delivery goes on either way.
 */
export async function openLiveView(view: Promise<typeof import('./session.js')>, options: LiveViewOptions): Promise<LiveViewSession | undefined> {
  try {
    const {startLiveView} = await view
    return await startLiveView(options)
  } catch (error) {
    process.stderr.write(`Live view unavailable (${oneLine(error instanceof Error ? error.message : String(error), 200)}); plain progress lines instead.\n`)
    return undefined
  }
}
