import type {LiveSnapshot} from '../../engine/live-snapshot.js'
import type {RetryResult} from '../../engine/retry-dead.js'
import {oneLine} from '../../core/terminal-text.js'
import {LiveViewModel, type CloseReason, type KeyPress, type LiveRole} from './model.js'
import {pollSnapshots} from './poll.js'

// Runs the live view on a terminal: loads Ink (only here: a command off a terminal never
// imports this module), polls snapshots into the model, draws the model, and turns keys into
// what the command does (detach, retry, quit). The view draws on stderr, so stdout keeps only
// the command's result.

export interface LiveViewOptions {
  role: LiveRole
  /** One snapshot of the announcement's delivery; called about four times a second. */
  read: () => LiveSnapshot
  /** `r`: requeue the dead deliveries that may be retried. */
  retry: () => RetryResult
  /** The sender confirmed `q`: stop claiming, let what is in flight finish. */
  detach?: () => void
  /** Ctrl-C (raw mode turns it into a key, not a signal). */
  interrupt: () => void
  colour: boolean
  output?: NodeJS.WriteStream
  input?: NodeJS.ReadStream
  intervalMs?: number
}

/** Why a watcher's view ended by itself. */
export type LiveEnd = 'final' | 'quit' | 'interrupted'

export type {CloseReason} from './model.js'

export interface LiveViewSession {
  /** A watcher's view: resolves when every delivery is final, or the officer quits. */
  ended: Promise<LiveEnd>
  /** A signal asked the sender to stop: say so in the footer. */
  stopping(text: string): void
  /** Something the officer must know while it goes on (a channel paused): shown until the next one. */
  notice(text: string): void
  /** Reads a last snapshot, draws the last frame and gives the terminal back. */
  close(reason: CloseReason): Promise<LiveSnapshot>
}

type InkApp = typeof import('./ink-app.js')
let loading: Promise<InkApp> | undefined

/**
 * Starts importing Ink and the view (about half a second of a cold start, unbundled) so that a
 * command can overlap it with opening the store. React ships a development build unless
 * NODE_ENV says production; crier is never a React development environment.
 */
export function preloadLiveView(): Promise<InkApp> {
  process.env.NODE_ENV ??= 'production'
  loading ??= import('./ink-app.js')
  return loading
}

export async function startLiveView(options: LiveViewOptions): Promise<LiveViewSession> {
  const {render, createElement, Fragment, LiveView, KeyInput, chalk, supportsColorStderr} = await preloadLiveView()
  const output = options.output ?? process.stderr
  const input = options.input ?? process.stdin
  const hasKeys = input.isTTY === true && typeof input.setRawMode === 'function'
  // Ink colours through chalk, which judges stdout; the view is on stderr, and NO_COLOR or
  // --no-color must leave no styling at all.
  const stderrLevel = supportsColorStderr ? supportsColorStderr.level : 0
  const colour = options.colour && stderrLevel > 0
  chalk.level = colour ? stderrLevel : 0

  const model = new LiveViewModel(options.role)
  let endWith: (end: LiveEnd) => void = () => {}
  const ended = new Promise<LiveEnd>((resolve) => (endWith = resolve))
  let hasEnded = false
  const end = (how: LiveEnd) => {
    if (hasEnded) return
    hasEnded = true
    endWith(how)
  }

  const tree = () => {
    const props = model.props({hasKeys, colour, columns: output.columns || 80, rows: output.rows || 24})
    return createElement(Fragment, null, props ? createElement(LiveView, props) : null, createElement(KeyInput, {isActive: hasKeys && !hasEnded, onKey}))
  }
  const draw = () => instance.rerender(tree())

  const onSnapshot = (snapshot: LiveSnapshot) => {
    model.onSnapshot(snapshot)
    draw()
    if (model.phase === 'final') end('final')
  }
  function onKey(key: KeyPress) {
    const effect = model.onKey(key)
    if (effect === 'retry') {
      try {
        model.onRetried(options.retry())
      } catch (error) {
        model.notify(`Could not retry: ${oneLine(error instanceof Error ? error.message : String(error), 200)}`)
      }
    } else if (effect === 'detach') options.detach?.()
    else if (effect === 'quit') end('quit')
    else if (effect === 'interrupt') {
      if (options.role === 'watcher') end('interrupted')
      else options.interrupt()
    }
    draw()
  }

  model.onSnapshot(options.read())
  const instance = render(tree(), {stdout: output, stderr: output, stdin: input, exitOnCtrlC: false, patchConsole: false})
  if (model.phase === 'final') end('final')
  const poller = pollSnapshots(options.read, onSnapshot, () => {
    // The next read tries again (a checkpoint holding the database for a moment).
  }, {intervalMs: options.intervalMs})
  // Before Ink's own resize handler, which would otherwise draw one frame at the old width.
  output.prependListener('resize', draw)

  return {
    ended,
    stopping(text) {
      model.onStopping(text)
      draw()
    },
    notice(text) {
      model.onNotice(text)
      draw()
    },
    async close(reason) {
      poller.stop()
      output.off('resize', draw)
      try {
        model.onSnapshot(options.read())
      } catch {
        // The last frame shows the last snapshot read.
      }
      model.onFinished(reason)
      hasEnded = true
      draw()
      instance.unmount()
      await instance.waitUntilExit()
      return model.snapshot!
    },
  }
}
