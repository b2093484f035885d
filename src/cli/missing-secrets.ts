import type {Config} from '../config/load.js'
import {missingSecretsOf} from '../config/missing-secrets.js'

/**
 * One line per channel of `channels` whose secret this shell lacks: what is queued for it waits
 * for a crier run or worker whose environment has it (run and worker say so if theirs lacks it).
 */
export function missingSecretLines(config: Config, channels: readonly string[]): string[] {
  return channels.flatMap((name) => {
    const missing = missingSecretsOf(config, name)
    return missing ? [`${name} cannot send from this shell: ${missing} — a crier run or worker whose environment has it sends it`] : []
  })
}
