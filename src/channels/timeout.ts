import {parseDuration} from '../core/duration.js'

// How long a send may take, one rule for every driver and for the engine's lease: the channel's
// `timeout`, or 10 s.

const defaultTimeoutMs = 10_000

/** The channel's `timeout` in ms: the whole request, connect to last byte. */
export function channelTimeoutMs(channel: {timeout?: string}): number {
  return (channel.timeout ? parseDuration(channel.timeout) : undefined) ?? defaultTimeoutMs
}
