import type {Config} from '../config/load.js'
import {createHttpClient} from '../channels/http.js'
import {missingSecretsOf} from '../config/missing-secrets.js'
import {redact} from '../config/secrets.js'
import {oneLine} from './terminal-text.js'
import {channelConfig, driverOf} from './render.js'

export interface ChannelCheck {
  channel: string
  type: string
  ok: boolean
  detail: string
  /** What the check learned for render (kept in CRIER_HOME by `channels test`). */
  learned?: Record<string, string | number | boolean>
}

/** `channels test`: each driver's check() — credentials and reachability, never a post. */
export async function checkChannels(config: Config, names: string[], timeoutMs = 15_000): Promise<ChannelCheck[]> {
  const http = createHttpClient({connectionsPerOrigin: 2})
  try {
    return await Promise.all(
      names.map(async (name) => {
        const channel = channelConfig(config, name)
        const missing = missingSecretsOf(config, name)
        if (missing) return {channel: name, type: channel.type, ok: false, detail: `not checked: this shell lacks its secret: ${missing}`}
        const driver = driverOf(channel)
        try {
          const result = await driver.check(channel, {http, signal: AbortSignal.timeout(timeoutMs)})
          return {channel: name, type: channel.type, ok: result.ok, detail: oneLine(redact(result.detail), 300), ...(result.learned && {learned: result.learned})}
        } catch (error) {
          return {channel: name, type: channel.type, ok: false, detail: oneLine(redact(error instanceof Error ? error.message : String(error)), 300)}
        } finally {
          await driver.close?.()
        }
      }),
    )
  } finally {
    await http.close()
  }
}
