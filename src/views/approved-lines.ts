import type {Announcement} from '../core/announcement.js'
import {zoneGeocode} from '../core/area-targeting.js'
import {oneLine, stripTerminalControls} from '../core/terminal-text.js'

/**
 * What an approval is of, in the approver's own output: their name goes on these words, so they
 * are all shown — every language's headline, text and advice, the area and the channels — not
 * the headline alone.
 */
export function approvedLines(announcement: Announcement): string[] {
  const lines = [`You approved (${announcement.severity}, to ${announcement.channels.join(', ')}):`]
  const bilingual = announcement.variants.length > 1
  const indent = (text: string) => stripTerminalControls(text).split('\n').map((line) => `    ${line}`.trimEnd())
  for (const variant of announcement.variants) {
    lines.push(`  ${bilingual ? `[${variant.language}] ` : ''}${oneLine(variant.headline, 200)}`)
    lines.push(...indent(variant.description))
    if (variant.instruction) lines.push(...indent(`What to do: ${variant.instruction}`))
  }
  const area = announcement.area
  if (area) {
    const zones = area.geocodes.filter((geocode) => geocode.name === zoneGeocode).map((geocode) => geocode.value)
    const shapes = [zones.length ? `zones ${zones.join(', ')}` : '', area.circles.length ? `${area.circles.length} circle(s)` : '', area.polygons.length ? `${area.polygons.length} polygon(s)` : ''].filter(Boolean)
    lines.push(`  Area: ${oneLine(area.description, 200)}${shapes.length ? ` (${shapes.join('; ')})` : ''}`)
  }
  return lines
}
