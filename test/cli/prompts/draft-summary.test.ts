import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {channelLengths, draftSummary} from '../../../src/cli/prompts/draft-summary.js'
import {createDraft} from '../../../src/core/drafting.js'
import {previewAnnouncement} from '../../../src/core/preview.js'
import {makeWorld, removeWorld, type World} from '../../helpers/world.js'

// The summary above guided drafting's final confirm: the answers, each channel's length against
// its limit, the policy findings and approvals — from the same preview `crier preview` uses.

describe('channelLengths', () => {
  it('shows one measured part against its limit', () => {
    expect(channelLengths([{label: 'POST', text: '{}', length: {count: 574, limit: 1048576, unit: 'bytes'}}])).toBe('574/1048576 bytes')
  })

  it('shows each part of a thread and marks the one over the limit', () => {
    const parts = [
      {label: '1/2', text: 'a', length: {count: 280, limit: 280, unit: 'x-weighted' as const}},
      {label: '2/2', text: 'b', length: {count: 301, limit: 280, unit: 'x-weighted' as const}},
    ]
    expect(channelLengths(parts)).toBe('2 parts: 280/280, 301/280 (over the limit) characters (X weighting)')
  })

  it('says so when a channel has no length limit, or nothing to publish', () => {
    expect(channelLengths([{label: 'cap', text: '<alert/>'}, {label: 'atom', text: '<entry/>'}])).toBe('2 parts, no length limit')
    expect(channelLengths([])).toBe('nothing to publish')
  })
})

describe('draftSummary', () => {
  let world: World
  beforeEach(() => {
    world = makeWorld(`timezone: Europe/London
channels:
  website: {type: feed, dir: ./public}
  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}
policy:
  content: {requireFields: [area]}
`)
  })
  afterEach(() => removeWorld(world))

  it('lists the answers, every channel with its lengths, the findings and the approvals needed', () => {
    const now = Date.UTC(2026, 10, 25, 12, 0)
    const ctx = {...world.ctx, now: () => now}
    const draft = createDraft(ctx, {text: 'The A55 is closed westbound.\u001b]0;pwned\u0007', severity: 'Severe', urgency: 'Expected', certainty: 'Observed', expires: '+6h', channels: ['website', 'partners']})
    const lines = draftSummary(previewAnnouncement(ctx, draft), now, 'Europe/London').split('\n')
    expect(lines.slice(0, 5)).toEqual(['Severity Severe · urgency Expected · certainty Observed', 'Headline: The A55 is closed westbound.', 'Text: The A55 is closed westbound.', 'Expires: Wed 25 Nov 2026 18:00 GMT (in 6 h 0 min)', 'Channels:'])
    expect(lines[5]).toBe('  website (feed)      2 parts, no length limit')
    expect(lines[6]).toMatch(/^ {2}partners \(webhook\) {2}\d+\/1048576 bytes$/)
    expect(lines.slice(7)).toEqual([expect.stringMatching(/^Policy error: policy requires area\b/), 'Approval: 1 needed before it can be broadcast.'])
    expect(lines[7]).not.toContain(draft.id.slice(0, 8))
    expect(lines.join('\n')).not.toContain('\u001b')
  })

  it('shows the start of the text (it may come from $EDITOR, never on screen), each line cut to the width', () => {
    const text = ['Editor text: the Menai bridge is closed to high-sided vehicles.', '', 'Gusts to 70 mph expected on the Britannia Bridge and the A55 across Anglesey through the evening.', 'Line three.', 'Line four.', 'Line five.', 'Line six.'].join('\n')
    const draft = createDraft(world.ctx, {text, headline: 'Menai bridge closed', severity: 'Minor', area: 'Menai', channels: ['website']})
    const lines = draftSummary(previewAnnouncement(world.ctx, draft), world.ctx.now(), 'UTC').split('\n')
    const start = lines.indexOf('Text: Editor text: the Menai bridge is closed to high-sided vehicles.')
    expect(start).toBe(2)
    expect(lines.slice(3, 7)).toEqual(['      Gusts to 70 mph expected on the Britannia Bridge and the A55 across Ang…', '      Line three.', '      Line four.', '      (2 more lines: crier preview shows it whole)'])
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80)
  })

  it('says when there are no findings and no approval is needed', () => {
    const draft = createDraft(world.ctx, {text: 'Water restored.', severity: 'Minor', area: 'Llandudno', channels: ['website']})
    const summary = draftSummary(previewAnnouncement(world.ctx, draft), world.ctx.now(), 'UTC')
    expect(summary).toContain('Area: Llandudno')
    expect(summary).toContain('Expires: never')
    expect(summary).toContain('Policy: no findings.')
    expect(summary).toContain('Approval: not needed.')
  })

  it('shows a targeted draft\'s shapes and zones, and whom each e-mail or SMS channel reaches', () => {
    const targeted = makeWorld(`timezone: Europe/London
channels:
  residents-sms: {type: sms, accountSid: AC1, authToken: secret-token, from: "+447700900999", audience: residents}
`)
    try {
      targeted.store.transaction(() => {
        for (let i = 0; i < 4; i++) {
          targeted.store.subscribers.upsert({list: 'residents', name: `R${i}`, email: null, phone: i === 0 ? null : `+4477009000${10 + i}`, language: null, lat: null, lon: null, zone: i < 3 ? 'RIV' : 'TOWN', tags: []}, Date.now())
        }
      })
      const draft = createDraft(targeted.ctx, {text: 'River rising.', severity: 'Minor', area: 'Riverside', zone: ['RIV'], channels: ['residents-sms']})
      const lines = draftSummary(previewAnnouncement(targeted.ctx, draft), targeted.ctx.now(), 'UTC').split('\n')
      expect(lines).toContain('Targets: zone RIV')
      expect(lines).toContain('Targeted: residents-sms: the area takes in 3 of the 4 subscribers of residents, of whom 2 can be sent to (1 has no phone number).')
    } finally {
      removeWorld(targeted)
    }
  })
})
