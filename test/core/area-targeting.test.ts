import {describe, expect, it} from 'vitest'
import {areaFrom, distanceKm, isTargeted, placeInArea} from '../../src/core/area-targeting.js'
import {UsageError} from '../../src/core/errors.js'

// Geo-targeting's geometry and the flags that describe it.

const llanrwst = {lat: 53.138, lon: -3.795}
const betwsYCoed = {lat: 53.093, lon: -3.801}

describe('area targeting', () => {
  it('measures great-circle distances (London–Paris 343.5 km; Llanrwst–Betws-y-Coed 5 km)', () => {
    expect(distanceKm(51.5074, -0.1278, 48.8566, 2.3522)).toBeCloseTo(343.5, 0)
    expect(distanceKm(llanrwst.lat, llanrwst.lon, betwsYCoed.lat, betwsYCoed.lon)).toBeGreaterThan(4.9)
    expect(distanceKm(llanrwst.lat, llanrwst.lon, betwsYCoed.lat, betwsYCoed.lon)).toBeLessThan(5.1)
  })

  it('takes in a subscriber inside a circle, not one outside it', () => {
    const area = areaFrom('Llanrwst', {circle: [`${llanrwst.lat},${llanrwst.lon} 4`]})
    expect(area.circles).toEqual([{lat: 53.138, lon: -3.795, radiusKm: 4}])
    expect(placeInArea(area, {...llanrwst, zone: null})).toBe(true)
    expect(placeInArea(area, {...betwsYCoed, zone: null})).toBe(false)
    expect(placeInArea(areaFrom('Conwy valley', {circle: [`${llanrwst.lat},${llanrwst.lon} 6`]}), {...betwsYCoed, zone: null})).toBe(true)
  })

  it('takes in points inside a polygon (closing an open ring as CAP wants), also in the notch of a concave one', () => {
    // A U shape: the notch between the arms (53.15, -3.80) is outside.
    const u = '53.10,-3.85 53.20,-3.85 53.20,-3.82 53.12,-3.82 53.12,-3.78 53.20,-3.78 53.20,-3.75 53.10,-3.75'
    const area = areaFrom('Valley', {polygon: [u]})
    expect(area.polygons[0]).toHaveLength(9)
    expect(area.polygons[0]!.at(-1)).toEqual([53.1, -3.85])
    expect(placeInArea(area, {lat: 53.11, lon: -3.8, zone: null})).toBe(true)
    expect(placeInArea(area, {lat: 53.18, lon: -3.84, zone: null})).toBe(true)
    expect(placeInArea(area, {lat: 53.15, lon: -3.8, zone: null})).toBe(false)
    expect(placeInArea(area, {lat: 53.3, lon: -3.8, zone: null})).toBe(false)
  })

  it('takes in subscribers by zone, whatever the case; comma lists and repeats both work', () => {
    const area = areaFrom('Riverside', {zone: ['LL26-riverside, LL26-bridge', 'LL26-mill']})
    expect(area.geocodes).toEqual([
      {name: 'zone', value: 'LL26-riverside'},
      {name: 'zone', value: 'LL26-bridge'},
      {name: 'zone', value: 'LL26-mill'},
    ])
    expect(placeInArea(area, {lat: null, lon: null, zone: 'll26-bridge'})).toBe(true)
    expect(placeInArea(area, {lat: null, lon: null, zone: 'LL26-town'})).toBe(false)
  })

  it('cannot place a subscriber with nothing the area can judge: no location for its shapes, no zone for its zones', () => {
    const circle = areaFrom('Llanrwst', {circle: ['53.138,-3.795 4']})
    expect(placeInArea(circle, {lat: null, lon: null, zone: 'LL26-riverside'})).toBeUndefined()
    const zones = areaFrom('Riverside', {zone: ['LL26-riverside']})
    expect(placeInArea(zones, {...llanrwst, zone: null})).toBeUndefined()
    // Shapes and zones together: either one that can judge decides.
    const both = areaFrom('Both', {circle: ['53.138,-3.795 4'], zone: ['LL26-riverside']})
    expect(placeInArea(both, {lat: null, lon: null, zone: 'LL26-riverside'})).toBe(true)
    expect(placeInArea(both, {...betwsYCoed, zone: null})).toBe(false)
  })

  it('an area with no shapes and no zones targets nobody in particular: the whole list', () => {
    expect(isTargeted(areaFrom('Gwynedd', {}))).toBe(false)
    expect(isTargeted(undefined)).toBe(false)
    expect(isTargeted(areaFrom('Gwynedd', {zone: ['']}))).toBe(false)
    expect(isTargeted(areaFrom('Gwynedd', {zone: ['LL57']}))).toBe(true)
  })

  it('refuses malformed shapes with a one-line error naming the flag', () => {
    const refusal = (shapes: Parameters<typeof areaFrom>[1]) => {
      try {
        areaFrom('Somewhere', shapes)
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError)
        return (error as Error).message
      }
      throw new Error('accepted')
    }
    expect(refusal({circle: ['53.1,-3.7']})).toBe('--circle "53.1,-3.7" is not a circle — give "LAT,LON RADIUS_KM", e.g. "53.14,-3.79 2.5"')
    expect(refusal({circle: ['53.1,-3.7 0']})).toMatch(/^--circle "53.1,-3.7 0" is not a circle/)
    expect(refusal({circle: ['93.1,-3.7 2']})).toMatch(/^--circle "93.1,-3.7 2" is not a circle/)
    expect(refusal({circle: ['-3.7 53.1 2']})).toMatch(/is not a circle/)
    expect(refusal({polygon: ['53.1,-3.7 53.2,-3.7']})).toBe('--polygon "53.1,-3.7 53.2,-3.7" is not a polygon — give at least three corners as "LAT,LON LAT,LON LAT,LON"')
    expect(refusal({polygon: ['53.1,-3.7 53.2,x 53.2,-3.6']})).toMatch(/is not a polygon/)
  })
})
