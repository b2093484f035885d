import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {temporaryBeside} from '../core/temporary-file.js'

// Facts a channel's check() learned about the account or instance (Mastodon's character
// limit), kept in CRIER_HOME so preview and render can use them without a network call.
// They are defaults: a setting written in config.yaml always wins.

export type ChannelFacts = Record<string, Record<string, string | number | boolean>>

export function channelFactsFile(home: string): string {
  return join(home, 'channel-facts.json')
}

export function readChannelFacts(home: string): ChannelFacts {
  let text: string
  try {
    text = readFileSync(channelFactsFile(home), 'utf8')
  } catch {
    return {}
  }
  try {
    const parsed = JSON.parse(text) as unknown
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ChannelFacts) : {}
  } catch {
    // A damaged cache only costs the facts; `crier channels test` writes it again.
    return {}
  }
}

/** Records what each channel learned; written whole to a temporary file and renamed. */
export function saveChannelFacts(home: string, learned: ChannelFacts): void {
  const facts = {...readChannelFacts(home)}
  for (const [channel, values] of Object.entries(learned)) facts[channel] = {...facts[channel], ...values}
  const file = channelFactsFile(home)
  const temporary = temporaryBeside(file)
  writeFileSync(temporary, JSON.stringify(facts, null, 2) + '\n', {mode: 0o600, flag: 'wx'})
  renameSync(temporary, file)
}
