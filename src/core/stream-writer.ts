import type {Writable} from 'node:stream'

/**
 * Writes streamed output (a million subscribers, the whole audit chain) as fast as its reader
 * takes it. Resolves true once the text is handed over, or false — and writes nothing more —
 * once the stream has failed or closed: a reader that went away (`| head -1`) never sends the
 * 'drain' a full buffer waits for, and a promise left waiting on it ends Node with exit 13.
 */
export function streamWriter(out: Writable): (text: string) => Promise<boolean> {
  const isOpen = () => !out.destroyed && !out.writableEnded && !out.errored
  return async (text) => {
    if (!isOpen()) return false
    if (out.write(text)) return isOpen()
    return new Promise<boolean>((resolve) => {
      if (!isOpen()) return resolve(false)
      const settle = () => {
        out.off('drain', settle)
        out.off('error', settle)
        out.off('close', settle)
        resolve(isOpen())
      }
      out.on('drain', settle)
      out.on('error', settle)
      out.on('close', settle)
    })
  }
}
