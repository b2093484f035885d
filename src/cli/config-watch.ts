import {unwatchFile, watchFile, type Stats} from 'node:fs'

/**
 * Calls `onChange` when the config file is created, edited, replaced or removed (polled every
 * second: editors replace files rather than write them in place, and a poll sees both) once it
 * has stayed unchanged for a second — not halfway through a save — and on SIGHUP, the
 * conventional "reload" of a long-running service. Returns the function that stops it.
 */
export function watchConfig(path: string, onChange: (why: 'file' | 'SIGHUP') => void): () => void {
  let settling: NodeJS.Timeout | undefined
  const listener = (current: Stats, previous: Stats) => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return
    clearTimeout(settling)
    settling = setTimeout(() => onChange('file'), 1000)
  }
  watchFile(path, {interval: 1000, persistent: false}, listener)
  const hangUp = () => onChange('SIGHUP')
  process.on('SIGHUP', hangUp)
  return () => {
    clearTimeout(settling)
    unwatchFile(path, listener)
    process.off('SIGHUP', hangUp)
  }
}
