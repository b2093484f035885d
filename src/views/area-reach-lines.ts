import type {Area} from '../core/announcement.js'
import {unreachableWhy, type AreaReach} from '../core/area-reach.js'
import {zoneGeocode} from '../core/area-targeting.js'
import {oneLine} from '../core/terminal-text.js'
import {formatCount} from './live/format.js'

/**
 * "residents-email: the area takes in 944 of the 4,944 subscribers of residents, of whom 500 can
 * be sent to (444 have no e-mail address); 310 cannot be placed (no location or zone) and are left out."
 */
export function areaReachLine(reach: AreaReach): string {
  const unplaced = reach.unplaced > 0 ? `; ${formatCount(reach.unplaced)} cannot be placed (no location or zone) and ${reach.unplaced === 1 ? 'is' : 'are'} left out` : ''
  // Who it reaches, as the fan-out will: the officer learns it before sending, not from the skipped count after.
  const why = unreachableWhy(reach)
  const reachable = why ? `, of whom ${formatCount(reach.inside - reach.noContact - reach.optedOut)} can be sent to (${why})` : ''
  return `${reach.channel}: the area takes in ${formatCount(reach.inside)} of the ${formatCount(reach.subscribers)} subscribers of ${reach.list}${reachable}${unplaced}.`
}

/** "circle 53.14,-3.79 r 2.5 km; polygon of 4 corners; zones LL26-riverside, LL26-town" */
export function areaTargetsText(area: Area): string {
  const parts = [
    ...area.circles.map((circle) => `circle ${circle.lat},${circle.lon} r ${circle.radiusKm} km`),
    ...area.polygons.map((ring) => `polygon of ${ring.length - 1} corners`),
  ]
  const zones = area.geocodes.filter((geocode) => geocode.name === zoneGeocode).map((geocode) => oneLine(geocode.value, 60))
  if (zones.length) parts.push(`${zones.length === 1 ? 'zone' : 'zones'} ${zones.join(', ')}`)
  return parts.join('; ')
}
