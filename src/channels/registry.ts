import type {Driver} from './driver.js'
import {bluesky} from './bluesky.js'
import {email} from './email.js'
import {facebook} from './facebook.js'
import {feed} from './feed.js'
import {mastodon} from './mastodon.js'
import {sms} from './sms.js'
import {telegram} from './telegram.js'
import {webhook} from './webhook.js'
import {x} from './x.js'

// Maps a channel's `type` to its driver. Drivers keep their heavy dependencies (HTTP client,
// XML builders, SDKs) behind dynamic imports, so loading the registry stays cheap.

const drivers = new Map<string, Driver<any, any>>([
  [feed.type, feed],
  [webhook.type, webhook],
  [sms.type, sms],
  [email.type, email],
  [mastodon.type, mastodon],
  [bluesky.type, bluesky],
  [telegram.type, telegram],
  [facebook.type, facebook],
  [x.type, x],
])

export function driverFor(type: string): Driver<any, any> | undefined {
  return drivers.get(type)
}

export function driverTypes(): string[] {
  return [...drivers.keys()].sort()
}

/** Adds a driver from outside the core (a package); a type may be registered once. */
export function registerDriver(driver: Driver<any, any>): void {
  if (drivers.has(driver.type)) throw new Error(`a driver of type "${driver.type}" is already registered`)
  drivers.set(driver.type, driver)
}
