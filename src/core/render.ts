import type {Config} from '../config/load.js'
import type {ChannelConfig, Driver, Recipient, Rendered} from '../channels/driver.js'
import {driverFor} from '../channels/registry.js'
import {primaryVariant, type Announcement} from './announcement.js'
import {UsageError} from './errors.js'

// One place that turns an announcement into what a channel publishes, used by preview, by the
// policy check and by the dispatcher: what the officer previews is what goes out.

export interface ChannelRendering {
  channel: ChannelConfig
  driver: Driver
  rendered: Rendered
}

export function channelConfig(config: Config, name: string): ChannelConfig {
  const channel = config.channels[name]
  if (!channel) {
    const known = Object.keys(config.channels)
    throw new UsageError(`channel "${name}" is not configured — configured: ${known.length ? known.join(', ') : 'none'} (see crier channels list)`)
  }
  return channel
}

export function driverOf(channel: ChannelConfig): Driver {
  const driver = driverFor(channel.type)
  if (!driver) throw new UsageError(`channel "${channel.name}" has unknown type "${channel.type}" — fix the config`)
  return driver
}

/** Where the announcement's CAP document is published: the first feed channel it goes to with a baseUrl. */
export function capUrlFor(announcement: Announcement, config: Config): string | undefined {
  for (const name of announcement.channels) {
    const channel = config.channels[name]
    if (channel?.type === 'feed' && typeof channel.baseUrl === 'string') {
      return `${channel.baseUrl.replace(/\/+$/, '')}/cap/${announcement.id}.xml`
    }
  }
  return undefined
}

export interface RenderOptions {
  recipient?: Recipient
  /** The announcement an Update or Cancel refers to. */
  referenced?: Announcement
}

export function renderForChannel(announcement: Announcement, config: Config, name: string, options: RenderOptions = {}): ChannelRendering {
  const channel = channelConfig(config, name)
  const driver = driverOf(channel)
  const variant = primaryVariant(announcement)
  const rendered = driver.render(announcement, variant, {channel, capUrl: capUrlFor(announcement, config), ...options})
  return {channel, driver, rendered}
}

export function renderForAllChannels(announcement: Announcement, config: Config, options: RenderOptions = {}): ChannelRendering[] {
  return announcement.channels.map((name) => renderForChannel(announcement, config, name, options))
}

/** The announcement an Update or Cancel refers to, looked up by the caller's store. */
export function referencedBy(announcement: Announcement, get: (id: string) => Announcement | undefined): Announcement | undefined {
  return announcement.references ? get(announcement.references) : undefined
}
