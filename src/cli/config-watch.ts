import {existsSync, statSync} from 'node:fs'
import type {Config} from '../config/load.js'
import {redact} from '../config/secrets.js'

export type ReloadTrigger = 'file' | 'SIGHUP'

/**
 * Calls `onChange` when the config file is created, edited, replaced or removed (polled every
 * second: editors replace files rather than write them in place, and a poll sees both) once it
 * has stayed unchanged for a second — not halfway through a save — and on SIGHUP, the
 * conventional "reload" of a long-running service. Returns the function that stops it.
 *
 * Its own poll, not fs.watchFile: that one's first look is asynchronous and a file missing at
 * it is never reported until it comes back, so a file removed just as a worker starts went
 * unnoticed. Here the first look is taken before this returns.
 */
export function watchConfig(path: string, onChange: (why: ReloadTrigger) => void): () => void {
  let settling: NodeJS.Timeout | undefined
  let seen = lookAt(path)
  const poll = setInterval(() => {
    const now = lookAt(path)
    if (now === seen) return
    seen = now
    clearTimeout(settling)
    settling = setTimeout(() => onChange('file'), 1000)
  }, 1000)
  // The watch alone does not keep a process alive.
  poll.unref()
  const hangUp = () => onChange('SIGHUP')
  process.on('SIGHUP', hangUp)
  return () => {
    clearTimeout(settling)
    clearInterval(poll)
    process.off('SIGHUP', hangUp)
  }
}

/** What a poll compares: the file's identity, size and modification time, or that it is missing. */
function lookAt(path: string): string {
  try {
    const stat = statSync(path)
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`
  } catch {
    return 'missing'
  }
}

export interface ConfigReloadOptions {
  file: string
  /** The config a reload would replace. */
  inForce: () => Config
  /** The config as it is on disk now; throws when it does not load. */
  load: () => Promise<Config>
  /** What is on disk may not replace the config in force, and why (secrets redacted). */
  onRefused: (problem: string) => void
  /** Puts it in force; a throw (the database locked past its wait) leaves the one in force. */
  onReload: (config: Config, trigger: ReloadTrigger) => Promise<void>
}

/**
 * For a long-running command: on each change (watchConfig), loads the config again, one load at
 * a time, and hands on only one that may replace the config in force — one that loads, still
 * has a file behind it and channels in it, and (unless SIGHUP asked) differs. Resolves, once
 * stopped, when the last load has been dealt with.
 */
export function watchConfigReloads(options: ConfigReloadOptions): () => Promise<void> {
  let reloading = Promise.resolve()
  const check = (trigger: ReloadTrigger) => {
    reloading = reloading.then(async () => {
      const inForce = options.inForce()
      // A file that went away is not a wish to run on the embedded default's channels…
      const gone = () => options.onRefused(`${options.file} is gone — put it back; a restart would run on the embedded default`)
      if (inForce.source !== 'embedded default' && !existsSync(options.file)) return gone()
      let config: Config
      try {
        config = await options.load()
      } catch (error) {
        return options.onRefused(redact(error instanceof Error ? error.message : String(error)))
      }
      // …removed between that look and the load, which then fell back on the default.
      if (inForce.source !== 'embedded default' && config.source === 'embedded default') return gone()
      // …nor is an emptied one (a truncated copy) a wish to stop every channel.
      if (Object.keys(config.channels).length === 0 && Object.keys(inForce.channels).length > 0) return options.onRefused(`${options.file} declares no channels`)
      if (trigger === 'file' && JSON.stringify(config) === JSON.stringify(inForce)) return
      await options.onReload(config, trigger).catch((error: unknown) => options.onRefused(redact(error instanceof Error ? error.message : String(error))))
    })
  }
  const stopWatching = watchConfig(options.file, check)
  // The file may have changed between the load of the config in force and the watch's first
  // look (a worker starting under load): compared once now, or that change would go unseen.
  check('file')
  return async () => {
    stopWatching()
    await reloading
  }
}
