import {Flags} from '@oclif/core'
import {categories, certainties, severities, urgencies} from '../core/announcement.js'
import type {Config} from '../config/load.js'
import {UsageError} from '../core/errors.js'

// The announcement fields as flags, shared by draft, edit and `broadcast -`. Enumerations are
// checked in core (case-insensitive, with the valid list in the error), not by oclif.

export const announcementFlags = {
  headline: Flags.string({description: 'Headline (CAP headline; default: the first sentence of the text).'}),
  channel: Flags.string({char: 'c', description: 'Channel to publish on; repeatable or a comma list.', multiple: true, multipleNonGreedy: true}),
  severity: Flags.string({char: 's', description: `Severity: ${severities.join(', ')}.`}),
  urgency: Flags.string({description: `Urgency: ${urgencies.join(', ')} (default Unknown).`}),
  certainty: Flags.string({description: `Certainty: ${certainties.join(', ')} (default Unknown).`}),
  category: Flags.string({description: `Category: ${categories.join(', ')} (default Other).`}),
  event: Flags.string({description: 'Event type, e.g. "Road closure" (edit: "" gives back the category’s own).'}),
  area: Flags.string({description: 'Area description, e.g. "Bangor, Gwynedd".'}),
  circle: Flags.string({description: 'Target a circle, "LAT,LON RADIUS_KM" (CAP circle): e-mail and SMS go only to subscribers inside the area. Repeatable; needs --area.', multiple: true, multipleNonGreedy: true}),
  polygon: Flags.string({description: 'Target a polygon, "LAT,LON LAT,LON LAT,LON …" (CAP polygon). Repeatable; needs --area.', multiple: true, multipleNonGreedy: true}),
  zone: Flags.string({description: 'Target subscribers in these zones (their zone column); repeatable or a comma list; needs --area.', multiple: true, multipleNonGreedy: true}),
  expires: Flags.string({description: 'Expiry: ISO 8601 (a date alone: the end of that day) or relative (+6h, +2d).'}),
  lang: Flags.string({description: 'Language of the text, a tag such as cy-GB (default: the first configured language).'}),
  instruction: Flags.string({description: 'What the public should do.'}),
  web: Flags.string({description: 'Link to more information (http or https; edit: "" removes it).'}),
  file: Flags.string({char: 'f', description: 'Read the text from this file.'}),
}

/**
 * CAP status, for draft, edit and `broadcast -` (which drafts): a follow-up (update, cancel)
 * keeps its original's.
 */
export const statusFlag = {
  status: Flags.string({description: 'Actual (default), or Exercise or Test for a drill: it is marked as one, and goes only to channels with allowTest: true.'}),
}

/**
 * `--channel website partners`: the second name is taken for the text (--channel takes one value
 * each time). A text that is only the name of a configured channel is refused, saying how to give
 * several, rather than published as the announcement.
 */
export function refuseChannelNameAsText(text: string | undefined, channelFlag: string[] | undefined, config: Config): void {
  const typed = text?.trim()
  if (!channelFlag?.length || !typed || !(typed in config.channels)) return
  throw new UsageError(`the text "${typed}" is the name of a channel — give several as --channel ${channelFlag[0]} --channel ${typed}, or --channel ${channelFlag[0]},${typed}`)
}
