import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import type {Config} from '../config/load.js'
import type {Store} from '../store/index.js'

/**
 * What identifies the configuration in force: SHA-256 of the config file's text as written,
 * before `${ENV}` is resolved (so no secret is ever hashed in, and a rotated secret is not a
 * config change), or of the embedded default's channels and policy.
 */
export function configFingerprint(config: Config): {source: string; sha256: string} | undefined {
  let text: string
  if (config.source === 'embedded default') {
    text = JSON.stringify({channels: config.channels, policy: config.policy})
  } else {
    try {
      // Read again rather than threaded through the loader; a file swapped between the two
      // reads is recorded as the newer text, which the next command loads anyway.
      text = readFileSync(config.source, 'utf8')
    } catch {
      return undefined
    }
  }
  return {source: config.source, sha256: createHash('sha256').update(text).digest('hex')}
}

/**
 * Appends `config-loaded` to the audit trail when the config differs from the one last recorded;
 * with the zone the file names, which commands that read no config (list) show times in.
 */
export function recordConfigLoad(store: Store, config: Config, options: {ifFree?: boolean} = {}): void {
  const fingerprint = configFingerprint(config)
  if (fingerprint) store.audit.recordConfigLoad({...fingerprint, ...(config.timezoneNamed ? {timeZone: config.timezone} : {})}, Date.now(), options)
}
