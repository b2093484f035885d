import type {Area, Circle} from './announcement.js'
import {UsageError} from './errors.js'

// Geo-targeting. An announcement's area may carry CAP shapes (circles, polygons) and zones (CAP
// geocodes named "zone"); when it does, per-recipient channels (e-mail, SMS) go only to the
// subscribers inside it: whose lat/lon falls in a shape, or whose zone is one of the area's.
// A subscriber with neither a location nor a zone the area can judge cannot be placed, and is
// left out — and counted, so the officer sees how many (preview, broadcast). Broadcast channels
// (feed, social, webhook) are public and unaffected; the shapes go out in the CAP document.

/** The CAP geocode valueName under which crier writes --zone values. */
export const zoneGeocode = 'zone'

/** Mean Earth radius (IUGG), km: haversine distances are good to ~0.5% — metres at town scale. */
const earthRadiusKm = 6371.0088

/** Whether the area narrows who on a per-recipient channel receives it. */
export function isTargeted(area: Area | undefined): area is Area {
  return Boolean(area && (area.circles.length > 0 || area.polygons.length > 0 || zonesOf(area).length > 0))
}

/** A subscriber's place, as the subscriber table has it. */
export interface Place {
  lat: number | null
  lon: number | null
  zone: string | null
}

/** true inside, false outside, undefined when the area cannot tell (no usable location or zone for it). */
export function placeInArea(area: Area, place: Place): boolean | undefined {
  let judged = false
  if (place.lat !== null && place.lon !== null && (area.circles.length > 0 || area.polygons.length > 0)) {
    judged = true
    if (area.circles.some((circle) => distanceKm(circle.lat, circle.lon, place.lat!, place.lon!) <= circle.radiusKm)) return true
    if (area.polygons.some((ring) => insideRing(ring, place.lat!, place.lon!))) return true
  }
  const zones = zonesOf(area)
  if (place.zone !== null && place.zone.trim() !== '' && zones.length > 0) {
    judged = true
    const zone = place.zone.trim().toLowerCase()
    if (zones.some((value) => value.toLowerCase() === zone)) return true
  }
  return judged ? false : undefined
}

/** An area with the shapes and zones given as flags; throws a one-line UsageError naming the flag. */
export function areaFrom(description: string, shapes: {circle?: string[]; polygon?: string[]; zone?: string[]}): Area {
  return {
    description,
    circles: (shapes.circle ?? []).map(parseCircleFlag),
    polygons: (shapes.polygon ?? []).map(parsePolygonFlag),
    geocodes: (shapes.zone ?? []).flatMap((text) => text.split(',')).map((zone) => zone.trim()).filter(Boolean).map((value) => ({name: zoneGeocode, value})),
  }
}

export function hasShapeFlags(shapes: {circle?: string[]; polygon?: string[]; zone?: string[]}): boolean {
  return Boolean(shapes.circle?.length || shapes.polygon?.length || shapes.zone?.length)
}

/** "53.14,-3.79 2.5": centre latitude,longitude and radius in km (CAP's circle). */
function parseCircleFlag(text: string): Circle {
  const [pair = '', radius = '', ...rest] = text.trim().split(/\s+/)
  const point = parsePoint(pair)
  const radiusKm = Number(radius)
  if (!point || radius === '' || rest.length > 0 || !Number.isFinite(radiusKm) || radiusKm <= 0) {
    throw new UsageError(`--circle "${text}" is not a circle — give "LAT,LON RADIUS_KM", e.g. "53.14,-3.79 2.5"`)
  }
  return {lat: point[0], lon: point[1], radiusKm}
}

/** "LAT,LON LAT,LON LAT,LON …": at least three corners; closed here when open (CAP wants a closed ring). */
function parsePolygonFlag(text: string): Array<[number, number]> {
  const points = text.trim().split(/\s+/).map(parsePoint)
  const valid = points.every((point): point is [number, number] => point !== undefined)
  const ring = valid ? closeRing(points) : []
  if (!valid || ring.length < 4 || new Set(ring.map((point) => point.join(','))).size < 3) {
    throw new UsageError(`--polygon "${text}" is not a polygon — give at least three corners as "LAT,LON LAT,LON LAT,LON"`)
  }
  return ring
}

function parsePoint(pair: string): [number, number] | undefined {
  const parts = pair.split(',')
  if (parts.length !== 2 || parts.some((part) => part.trim() === '')) return undefined
  const [lat, lon] = parts.map(Number) as [number, number]
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined
  return [lat, lon]
}

function closeRing(points: Array<[number, number]>): Array<[number, number]> {
  const first = points[0]
  const last = points.at(-1)
  return first && last && (first[0] !== last[0] || first[1] !== last[1]) ? [...points, first] : points
}

function zonesOf(area: Area): string[] {
  return area.geocodes.filter((geocode) => geocode.name === zoneGeocode).map((geocode) => geocode.value)
}

/** Great-circle distance (haversine), km. */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180
  const dLat = (lat2 - lat1) * rad
  const dLon = (lon2 - lon1) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2
  return 2 * earthRadiusKm * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** Even-odd ray casting on latitude/longitude: right for the town- and county-sized rings alerts use. */
function insideRing(ring: Array<[number, number]>, lat: number, lon: number): boolean {
  let inside = false
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [latI, lonI] = ring[i]!
    const [latJ, lonJ] = ring[j]!
    if (latI > lat !== latJ > lat && lon < ((lonJ - lonI) * (lat - latI)) / (latJ - latI) + lonI) inside = !inside
  }
  return inside
}
