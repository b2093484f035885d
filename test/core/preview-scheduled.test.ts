import {afterEach, describe, expect, it} from 'vitest'
import {createDraft} from '../../src/core/drafting.js'
import {previewAnnouncement} from '../../src/core/preview.js'
import {scheduleAnnouncement} from '../../src/core/scheduling.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

let world: World | undefined
afterEach(() => {
  if (world) removeWorld(world)
  world = undefined
})

describe('preview of a scheduled announcement', () => {
  it('judges quiet hours when it will go out, not when the officer previews it', () => {
    world = makeWorld('timezone: UTC\nchannels:\n  website: {type: feed, dir: ./public}\npolicy:\n  quietHours: {from: "22:00", to: "07:00"}\n')
    // 23:30 UTC: inside quiet hours now.
    const night = Date.UTC(2026, 10, 25, 23, 30)
    const ctx = {...world.ctx, now: () => night}
    const draft = createDraft(ctx, {text: 'Bins collected on Tuesday this week.', severity: 'Minor', channels: ['website'], expires: '+2d'})
    const quiet = (id: string) => previewAnnouncement(ctx, world!.store.announcements.get(id)!).findings.filter((f) => f.rule === 'quiet-hours')
    expect(quiet(draft.id)).toHaveLength(1)
    scheduleAnnouncement(ctx, draft.id, {at: '2026-11-26T09:00:00Z'})
    expect(quiet(draft.id)).toEqual([])
  })
})
