import type {Config} from '../../config/load.js'
import type {Announcement} from '../announcement.js'
import {primaryVariant} from '../announcement.js'
import type {ChannelRendering} from '../render.js'

// The one policy check that preview, approve and broadcast all run. A finding with level
// "error" blocks sending; a "warning" is shown.

export interface Finding {
  level: 'error' | 'warning'
  rule: string
  message: string
  channel?: string
}

// CAP 1.2 §3.2.2: headline "SHOULD be less than 160 characters".
const capHeadlineAdvice = 160

export function checkPolicy(announcement: Announcement, config: Config, renderings: ChannelRendering[], now: number): Finding[] {
  const findings: Finding[] = []
  const variant = primaryVariant(announcement)

  for (const field of config.policy.content.requireFields) {
    const present = {
      headline: variant.headline.trim() !== '',
      area: Boolean(announcement.area?.description),
      expires: announcement.expiresAt !== undefined,
      instruction: Boolean(variant.instruction),
      web: Boolean(announcement.web),
      event: announcement.event.trim() !== '',
    }[field]
    if (!present) findings.push({level: 'error', rule: 'required-field', message: `policy requires ${field} — add --${field}`})
  }

  for (const v of announcement.variants) {
    const length = [...v.headline].length
    if (length > capHeadlineAdvice) {
      findings.push({level: 'warning', rule: 'headline-length', message: `headline (${v.language}) is ${length} characters; CAP advises under ${capHeadlineAdvice}`})
    }
  }

  if (announcement.expiresAt !== undefined && announcement.expiresAt <= now) {
    findings.push({level: 'error', rule: 'expired', message: `the announcement expired at ${new Date(announcement.expiresAt).toISOString()} — set a later --expires`})
  }

  for (const {channel, rendered} of renderings) {
    if ((announcement.status === 'Exercise' || announcement.status === 'Test') && !channel.allowTest) {
      findings.push({level: 'error', rule: 'test-channel', channel: channel.name, message: `${announcement.status} announcements may not go to ${channel.name} — it is not marked allowTest`})
    }
    for (const part of rendered.parts) {
      if (part.length && part.length.count > part.length.limit) {
        findings.push({
          level: 'error',
          rule: 'channel-limit',
          channel: channel.name,
          message: `${channel.name}: ${part.label} is ${part.length.count} ${part.length.unit}, over the limit of ${part.length.limit}`,
        })
      }
    }
  }
  return findings
}

export function blockingFindings(findings: Finding[]): Finding[] {
  return findings.filter((finding) => finding.level === 'error')
}
