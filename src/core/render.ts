import type {Config} from '../config/load.js'
import type {ChannelConfig, Driver, Recipient, Rendered} from '../channels/driver.js'
import {driverFor} from '../channels/registry.js'
import {followUpThread, primaryVariant, readerVariant, type Announcement, type Variant} from './announcement.js'
import {UsageError} from './errors.js'

// One place that turns an announcement into what a channel publishes, used by preview, by the
// policy check and by the dispatcher: what the officer previews is what goes out.

export interface ChannelRendering {
  channel: ChannelConfig
  driver: Driver
  rendered: Rendered
  /** A per-recipient channel of a bilingual announcement: the readers of this language get this. */
  language?: string
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
  /** The language variant to render (default: the announcement's first). */
  variant?: Variant
  /** The announcement an Update or Cancel refers to. */
  referenced?: Announcement
  /** The messages `referenced` itself follows up, nearest first: CAP <references> lists them all. */
  earlier?: Announcement[]
}

/**
 * What a channel that posts to everyone posts: the text in its configured language (matched as
 * a subscriber's is: cy for cy-GB and back), else the announcement's first.
 */
export function channelVariant(announcement: Pick<Announcement, 'variants'>, channel: Pick<ChannelConfig, 'language'>): Variant {
  return channel.language ? readerVariant(announcement.variants, channel.language) : primaryVariant(announcement)
}

/** The channel posts in a language the announcement has no text in: it would post the first language's. */
export function lacksChannelLanguage(announcement: Pick<Announcement, 'variants'>, channel: Pick<ChannelConfig, 'language'>): boolean {
  if (!channel.language) return false
  const wanted = channel.language.split('-')[0]!.toLowerCase()
  return channelVariant(announcement, channel).language.split('-')[0]!.toLowerCase() !== wanted
}

export function renderForChannel(announcement: Announcement, config: Config, name: string, options: RenderOptions = {}): ChannelRendering {
  const channel = channelConfig(config, name)
  const driver = driverOf(channel)
  const {variant = channelVariant(announcement, channel), ...context} = options
  const rendered = driver.render(announcement, variant, {channel, capUrl: capUrlFor(announcement, config), timeZone: config.timezone, ...context})
  return {channel, driver, rendered}
}

/**
 * Every channel's rendering; a per-recipient channel (e-mail, SMS) of a bilingual announcement
 * once per language, since each reader gets their own — a Welsh SMS can run to more segments
 * than the English one (ŵ and ŷ are not GSM-7), and policy and preview must see it.
 */
export function renderForAllChannels(announcement: Announcement, config: Config, options: RenderOptions = {}): ChannelRendering[] {
  return announcement.channels.flatMap((name) => {
    const first = renderForChannel(announcement, config, name, options)
    if (first.driver.kind !== 'per-recipient' || announcement.variants.length < 2) return [first]
    return announcement.variants.map((variant, index) =>
      index === 0 ? {...first, language: variant.language} : {...renderForChannel(announcement, config, name, {...options, variant}), language: variant.language},
    )
  })
}

/** The announcement an Update or Cancel refers to, looked up by the caller's store. */
export function referencedBy(announcement: Announcement, get: (id: string) => Announcement | undefined): Announcement | undefined {
  return announcement.references ? get(announcement.references) : undefined
}

/**
 * What an Update or Cancel follows up, for rendering: the message it refers to and the ones that
 * message follows up in turn (nearest first). A Cancel of an Update names the original Alert
 * too, so a CAP reader that never saw the Update still withdraws the Alert.
 */
export function followedUp(announcement: Announcement, get: (id: string) => Announcement | undefined): Pick<RenderOptions, 'referenced' | 'earlier'> {
  const referenced = referencedBy(announcement, get)
  if (!referenced) return {}
  const earlier = followUpThread(referenced.id, get).slice(1).flatMap((id) => get(id) ?? [])
  return earlier.length ? {referenced, earlier} : {referenced}
}
