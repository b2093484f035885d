import type {Announcement} from '../../src/core/announcement.js'

// Announcements for tests: a minimal valid one by default, everything else by override. Each
// call gets its own id and CAP identifier, so several can share one store or feed.

let sequence = 0

/** 9 May 2024 09:30:00 UTC: a whole second, as CAP `sent` keeps no fraction. */
export const baseTime = Date.UTC(2024, 4, 9, 9, 30, 0)

/** A minimal, valid, approved announcement; `overrides` replace whole fields. */
export function makeAnnouncement(overrides: Partial<Announcement> = {}): Announcement {
  sequence += 1
  const number = String(sequence).padStart(4, '0')
  return {
    // ULID-shaped (26 Crockford base-32 characters), like the ids the store creates.
    id: `01HXAMP1E0000000000000${number}`,
    identifier: `northwales-2024-${number}`,
    sender: 'alerts@northwales.example',
    status: 'Actual',
    msgType: 'Alert',
    scope: 'Public',
    category: 'Transport',
    event: 'Road closure',
    urgency: 'Expected',
    severity: 'Minor',
    certainty: 'Observed',
    variants: [{language: 'en-GB', headline: 'A55 closed at Junction 11', description: 'The A55 is closed eastbound at Junction 11 after a collision.'}],
    channels: ['website'],
    state: 'approved',
    author: 'pc.jones',
    createdAt: baseTime,
    updatedAt: baseTime,
    ...overrides,
  }
}

/**
 * Every CAP field crier writes: two languages, an area with a polygon, a circle and geocodes,
 * and text that XML must escape (`<`, `&`, quotes) or carry as UTF-8 (emoji, Welsh letters).
 */
export function makeFullAnnouncement(overrides: Partial<Announcement> = {}): Announcement {
  return makeAnnouncement({
    senderName: 'North Wales Police',
    category: 'Safety',
    event: 'Flooding',
    urgency: 'Immediate',
    severity: 'Severe',
    certainty: 'Likely',
    web: 'https://northwales.example/alerts/flood?area=conwy&lang=en',
    effectiveAt: baseTime,
    expiresAt: baseTime + 6 * 3_600_000,
    area: {
      description: 'Conwy & Llanrwst <riverside>',
      polygons: [
        [
          [53.28, -3.83],
          [53.29, -3.8],
          [53.14, -3.79],
          [53.13, -3.81],
          [53.28, -3.83],
        ],
      ],
      circles: [{lat: 53.1398, lon: -3.7966, radiusKm: 2.5}],
      geocodes: [
        {name: 'GSS', value: 'W06000003'},
        {name: 'postcode-district', value: 'LL26'},
      ],
    },
    variants: [
      {
        language: 'en-GB',
        headline: 'Flood warning: River Conwy "severe" 🌊',
        description: 'Water levels < 1m from the top of the defences & rising. Don\'t drive through flood water.',
        instruction: 'Move to higher ground now. Call 999 if you are in danger.',
      },
      {
        language: 'cy-GB',
        headline: 'Rhybudd llifogydd: Afon Conwy "difrifol" 🌊',
        description: 'Lefelau dŵr < 1m o ben yr amddiffynfeydd & yn codi.',
        instruction: 'Symudwch i dir uwch nawr. Ffoniwch 999 os ydych mewn perygl.',
      },
    ],
    ...overrides,
  })
}
