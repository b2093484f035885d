import {afterEach, describe, expect, it} from 'vitest'
import {approveAnnouncement} from '../../src/core/approval.js'
import type {CoreContext} from '../../src/core/context.js'
import {createDraft, type DraftInput} from '../../src/core/drafting.js'
import {ExitCode, PolicyRefusal} from '../../src/core/errors.js'
import {shortId} from '../../src/core/ids.js'
import {scheduleAnnouncement, unscheduleAnnouncement} from '../../src/core/scheduling.js'
import {fanOut} from '../../src/engine/fan-out.js'
import {shiftDashboard} from '../../src/engine/dashboard.js'
import {dashboardLines} from '../../src/views/dashboard-lines.js'
import {fireDueSchedules} from '../../src/engine/scheduler.js'
import {cancelAnnouncement, draftUpdate} from '../../src/core/follow-up.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// Firing schedules against a real SQLite store with a clock the test moves: no sleeping. The
// channel is a webhook nobody answers; nothing is delivered here, only fanned out (rows).

const minute = 60_000
const hour = 60 * minute
/** Wed 25 Nov 2026 13:00 UTC (= GMT in Europe/London, the configured zone). */
const start = Date.UTC(2026, 10, 25, 13, 0)
/** The Tuesdays 08:00 GMT of a weekly "0 8 * * TUE" made at `start`. */
const tuesday1 = Date.UTC(2026, 11, 1, 8)
const tuesday2 = Date.UTC(2026, 11, 8, 8)
const tuesday3 = Date.UTC(2026, 11, 15, 8)
const tuesday4 = Date.UTC(2026, 11, 22, 8)

let world: World | undefined
let clock = start
afterEach(() => {
  if (world) removeWorld(world)
  world = undefined
  clock = start
})

/** A world in Europe/London with one webhook channel, and a context whose clock is `clock`. */
function setUp(extraYaml = ''): {ctx: CoreContext; w: World} {
  world = makeWorld(`timezone: Europe/London\nchannels:\n  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}\n${extraYaml}`)
  return {ctx: {...world.ctx, now: () => clock}, w: world}
}

function draft(ctx: CoreContext, input: Partial<DraftInput> = {}): string {
  return createDraft(ctx, {text: 'Bins are collected on Tuesday this week.', severity: 'Minor', channels: ['partners'], ...input}).id
}

function stateOf(w: World, id: string): string | undefined {
  return w.store.announcements.get(id)?.state
}

function deliveriesOf(w: World, id: string): number {
  return w.store.db.prepare('SELECT count(*) FROM delivery WHERE announcement_id = ?').pluck().get(id) as number
}

function count(w: World, table: 'announcement' | 'delivery' | 'schedule' | 'occurrence'): number {
  return w.store.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number
}

function scheduleRow(w: World, id: string) {
  const schedule = w.store.schedules.latestFor(id)
  if (!schedule) throw new Error(`no schedule for ${id}`)
  return schedule
}

describe('a one-off schedule', () => {
  it('fires once when due and never again', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    const result = scheduleAnnouncement(ctx, id, {at: '2026-11-25T14:00'})
    expect(result.next).toEqual([Date.UTC(2026, 10, 25, 14)])
    expect(result.understood).toBe('2026-11-25T14:00')
    expect(stateOf(w, id)).toBe('scheduled')

    clock = Date.UTC(2026, 10, 25, 14) - 1
    expect(fireDueSchedules(ctx)).toEqual([])
    expect(deliveriesOf(w, id)).toBe(0)

    clock = Date.UTC(2026, 10, 25, 14)
    const seen: unknown[] = []
    const events = fireDueSchedules(ctx, (event) => seen.push(event))
    expect(events).toEqual([{kind: 'fired', scheduleId: result.schedule.id, templateId: id, dueAt: Date.UTC(2026, 10, 25, 14), announcementId: id}])
    expect(seen).toEqual(events)
    // A one-off sends the announcement itself.
    expect(stateOf(w, id)).toBe('sending')
    expect(deliveriesOf(w, id)).toBe(1)
    expect(count(w, 'announcement')).toBe(1)
    expect(w.store.schedules.occurrencesOf(id)).toEqual([
      {scheduleId: result.schedule.id, dueAt: Date.UTC(2026, 10, 25, 14), state: 'fired', announcementId: id, recordedAt: clock, reason: null},
    ])

    expect(fireDueSchedules(ctx)).toEqual([])
    clock += 7 * 24 * hour
    expect(fireDueSchedules(ctx)).toEqual([])
    expect(deliveriesOf(w, id)).toBe(1)
    expect(w.store.schedules.occurrencesOf(id)).toHaveLength(1)
    expect(w.store.schedules.activeFor(id)).toBeUndefined()
    expect(scheduleRow(w, id)).toMatchObject({nextDueAt: null, endedAt: Date.UTC(2026, 10, 25, 14), endReason: 'last occurrence'})
  })

  it('reads --at in --tz when given, else in the configured zone', () => {
    const {ctx} = setUp()
    expect(scheduleAnnouncement(ctx, draft(ctx), {at: '2026-12-01T07:30', tz: 'America/New_York'}).schedule).toMatchObject({timeZone: 'America/New_York', nextDueAt: Date.UTC(2026, 11, 1, 12, 30)})
    expect(scheduleAnnouncement(ctx, draft(ctx), {at: '2026-12-01T07:30'}).schedule).toMatchObject({timeZone: 'Europe/London', nextDueAt: Date.UTC(2026, 11, 1, 7, 30)})
  })

  it('fires when a run comes a little late, within the grace period', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {at: '2026-11-25T14:00'})
    clock = Date.UTC(2026, 10, 25, 14, 14)
    expect(fireDueSchedules(ctx).map((event) => event.kind)).toEqual(['fired'])
    expect(deliveriesOf(w, id)).toBe(1)
  })

  it('is recorded missed beyond the grace period and goes back to approved, unsent', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {at: '2026-11-25T14:00'})
    clock = Date.UTC(2026, 10, 25, 14, 16)
    const events = fireDueSchedules(ctx)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({kind: 'missed', templateId: id, dueAt: Date.UTC(2026, 10, 25, 14)})
    expect(events[0]!.reason).toBe('missed: due 16 min ago, beyond the 15 min grace period')
    expect(deliveriesOf(w, id)).toBe(0)
    expect(stateOf(w, id)).toBe('approved')
    expect(w.store.schedules.occurrencesOf(id)).toEqual([expect.objectContaining({state: 'missed', announcementId: null, reason: events[0]!.reason})])
    // It shows where status and list look for missed occurrences.
    expect(w.store.schedules.missedSince(start)).toEqual([expect.objectContaining({templateId: id, state: 'missed'})])
    expect(fireDueSchedules(ctx)).toEqual([])
  })

  it('uses the configured grace period', () => {
    const {ctx, w} = setUp('scheduling: {grace: 1h}\n')
    const id = draft(ctx)
    expect(scheduleAnnouncement(ctx, id, {at: '2026-11-25T14:00'}).schedule.graceMs).toBe(hour)
    clock = Date.UTC(2026, 10, 25, 14, 45)
    expect(fireDueSchedules(ctx).map((event) => event.kind)).toEqual(['fired'])
    expect(deliveriesOf(w, id)).toBe(1)
  })

  it('an occurrence refused when it fires (quiet hours set since) is missed, told of the template, with no advice to make it a one-off', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    clock = tuesday1 + minute
    const quietMornings = {...ctx, config: {...ctx.config, policy: {...ctx.config.policy, quietHours: {from: '07:00', to: '09:00', except: [], level: 'block' as const}}}}
    const [event, ...more] = fireDueSchedules(quietMornings)
    expect(more).toEqual([])
    expect(event).toMatchObject({kind: 'missed', dueAt: tuesday1})
    expect(event!.reason).toBe(`missed: refused by policy — Minor announcements may not go out in quiet hours 07:00–09:00, and this one would at 2026-12-01 08:01 Europe/London — this occurrence of ${shortId(id)} is missed; its schedule goes on with the next`)
    expect(count(w, 'announcement')).toBe(1)
    expect(stateOf(w, id)).toBe('scheduled')
  })

  it('the dashboard shows every schedule\'s next occurrence: a frequent cron does not hide tomorrow\'s one-off; beyond ten, it counts the rest', () => {
    const {ctx} = setUp()
    scheduleAnnouncement(ctx, draft(ctx), {cron: '*/10 * * * *'})
    const oneOff = draft(ctx)
    scheduleAnnouncement(ctx, oneOff, {at: '2026-11-26T07:30'})
    let board = shiftDashboard(ctx)
    expect(board.scheduled).toHaveLength(5)
    expect(board.scheduled.filter((next) => next.announcement.id === oneOff).map((next) => next.at)).toEqual([Date.UTC(2026, 10, 26, 7, 30)])
    expect(board.scheduledNotShown).toBe(0)
    for (let i = 0; i < 10; i++) scheduleAnnouncement(ctx, draft(ctx), {at: `2026-11-2${7 + (i % 3)}T0${i % 10}:15`})
    board = shiftDashboard(ctx)
    expect(new Set(board.scheduled.map((next) => next.scheduleId)).size).toBe(10)
    expect(board.scheduledNotShown).toBe(2)
    expect(dashboardLines(board, ctx.config)).toContain('  … and 2 more schedules (crier list --status scheduled has them all)')
  })

  it('lists a Cancel that went out but died on a channel: there the public still holds what it withdrew', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    fanOut(ctx, id)
    // Sent to partners, then cancelled; the Cancel's post to partners ends dead (503s past its attempts).
    w.store.db.prepare(`UPDATE delivery SET state = 'sent', finished_at = ? WHERE announcement_id = ?`).run(clock, id)
    w.store.db.prepare(`UPDATE announcement SET state = 'sent', sent_at = ? WHERE id = ?`).run(clock, id)
    const cancel = cancelAnnouncement(ctx, id, undefined).followUp!
    fanOut(ctx, cancel.id)
    w.store.db.prepare(`UPDATE delivery SET state = 'dead', last_error = 'gave up after 8 attempts: 503', finished_at = ? WHERE announcement_id = ?`).run(clock, cancel.id)
    w.store.db.prepare(`UPDATE announcement SET state = 'sent_with_failures' WHERE id = ?`).run(cancel.id)
    const board = shiftDashboard(ctx)
    expect(board.untoldCancels).toEqual([{cancel: expect.objectContaining({id: cancel.id}), original: expect.objectContaining({id}), notReached: ['partners']}])
    const c = shortId(cancel.id)
    expect(dashboardLines(board, ctx.config, 300)).toContainEqual(expect.stringMatching(new RegExp(`^  ${shortId(id)} .*withdrawn; its Cancel ${c} did not reach partners \\(dead: crier status ${c}\\) — once that is put right, crier broadcast ${c} --retry-dead$`)))
    // Sent again and reached, it is told.
    w.store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(cancel.id)
    expect(shiftDashboard(ctx).untoldCancels).toEqual([])
  })

  it('the dashboard of a quiet shift fits the terminal too', () => {
    const {ctx} = setUp()
    const board = shiftDashboard(ctx)
    expect(dashboardLines(board, ctx.config)).toEqual(['Nothing sending, scheduled or waiting for approval, no Cancel waiting to go out, and nothing went wrong in the last 24 h.'])
    const narrow = dashboardLines(board, ctx.config, 80)
    expect(narrow.join(' ')).toBe('Nothing sending, scheduled or waiting for approval, no Cancel waiting to go out, and nothing went wrong in the last 24 h.')
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(80)
    expect(narrow).toHaveLength(2)
  })

  it('a cron in another zone is judged after the clock changes too: quiet hours it enters only in summer are found now', () => {
    const {ctx} = setUp()
    const id = draft(ctx)
    const quietNights = {...ctx, config: {...ctx.config, policy: {...ctx.config.policy, quietHours: {from: '22:00', to: '07:00', except: [], level: 'block' as const}}}}
    // 21:30 UTC is 21:30 in London in November, and 22:30 from the end of March: refused every night then.
    expect(() => scheduleAnnouncement(quietNights, id, {cron: '30 21 * * *', tz: 'UTC'})).toThrow(/Minor announcements may not go out in quiet hours 22:00–07:00, and this one would at 2027-03-2\d 22:30 Europe\/London — give a cron that fires outside them/)
    // In the policy's own zone a clock change moves nothing; and one that ends before the change is fine.
    expect(scheduleAnnouncement(quietNights, id, {cron: '30 21 * * *'}).schedule).toMatchObject({kind: 'cron'})
    unscheduleAnnouncement(ctx, id)
    expect(scheduleAnnouncement(quietNights, id, {cron: '30 21 * * *', tz: 'UTC', until: '2027-02-01'}).schedule).toMatchObject({kind: 'cron', timeZone: 'UTC'})
  })

  it('a cron that would fire in quiet hours is refused with advice about its cron, not a one-off --at', () => {
    const {ctx} = setUp()
    const id = draft(ctx)
    const quietMornings = {...ctx, config: {...ctx.config, policy: {...ctx.config.policy, quietHours: {from: '07:00', to: '09:00', except: [], level: 'block' as const}}}}
    expect(() => scheduleAnnouncement(quietMornings, id, {cron: '0 8 * * TUE'})).toThrow(
      `refused by policy — Minor announcements may not go out in quiet hours 07:00–09:00, and this one would at 2026-12-01 08:00 Europe/London — give a cron that fires outside them: crier schedule ${shortId(id)} --cron "…"`,
    )
    // Judged over a week of firings, not the three it echoes: every quarter hour fires at night too.
    const quietNights = {...ctx, config: {...ctx.config, policy: {...ctx.config.policy, quietHours: {from: '22:00', to: '07:00', except: [], level: 'block' as const}}}}
    expect(() => scheduleAnnouncement(quietNights, id, {cron: '*/15 * * * *'})).toThrow(/Minor announcements may not go out in quiet hours 22:00–07:00, and this one would at \d{4}-\d\d-\d\d 22:00 Europe\/London — give a cron that fires outside them/)
    expect(scheduleAnnouncement(quietNights, id, {cron: '0 9-17 * * *'}).schedule).toMatchObject({kind: 'cron'})
    unscheduleAnnouncement(ctx, id)
    // One that fires less than once a week is judged at its next firings all the same.
    expect(() => scheduleAnnouncement(quietNights, id, {cron: '0 23 1 * *'})).toThrow(/and this one would at \d{4}-\d\d-01 23:00 Europe\/London — give a cron that fires outside them/)
    // A one-off is told when the quiet hours end.
    expect(() => scheduleAnnouncement(quietMornings, id, {at: '2026-12-01T08:00'})).toThrow(`send it from 09:00: crier schedule ${shortId(id)} --at 2026-12-01T09:00`)
    expect(world!.store.schedules.activeFor(id)).toBeUndefined()
  })

  it('uses the grace in force when it fires, not the one when it was scheduled', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {at: '2026-11-25T14:00'})
    clock = Date.UTC(2026, 10, 25, 14, 45)
    // The admin raised the grace after scheduling (config.yaml edited; this run reads it).
    const raised = {...ctx, config: {...ctx.config, scheduling: {...ctx.config.scheduling, grace: '1h'}}}
    expect(fireDueSchedules(raised).map((event) => event.kind)).toEqual(['fired'])
    expect(deliveriesOf(w, id)).toBe(1)
  })

  it('whose announcement expired before the run came is recorded missed, with the reason', () => {
    const {ctx, w} = setUp()
    // Expires 14:05; due 14:00; the run comes at 14:06, inside the grace period.
    const id = draft(ctx, {expires: '2026-11-25T14:05Z'})
    scheduleAnnouncement(ctx, id, {at: '2026-11-25T14:00'})
    clock = Date.UTC(2026, 10, 25, 14, 6)
    const events = fireDueSchedules(ctx)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({kind: 'missed', dueAt: Date.UTC(2026, 10, 25, 14)})
    expect(events[0]!.reason).toMatch(/^missed: .*expired at 2026-11-25 14:05 Europe\/London/)
    expect(deliveriesOf(w, id)).toBe(0)
    expect(w.store.schedules.occurrencesOf(id)).toEqual([expect.objectContaining({state: 'missed', announcementId: null, reason: events[0]!.reason})])
    expect(fireDueSchedules(ctx)).toEqual([])
    // expired, not approved: approved would read as ready to send
    expect(stateOf(w, id)).toBe('expired')
  })
})

describe('a recurring schedule', () => {
  it('its template is not broadcast itself (the schedule would go on firing with nothing to unschedule); unscheduled, it may be', () => {
    const {ctx} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    expect(() => fanOut(ctx, id)).toThrow(`is the template of a recurring schedule (cron "0 8 * * TUE" Europe/London): its occurrences go out, each its own announcement, not it — to send it now as a one-off, crier unschedule ${shortId(id)} first`)
    expect(ctx.store.deliveries.countsByChannel(id)).toEqual([])
    unscheduleAnnouncement(ctx, id)
    expect(fanOut(ctx, id).queued).toBeGreaterThan(0)
  })

  it('fires each due occurrence exactly once, each as its own announcement; after the last the template, never sent itself, is approved again', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    const template = w.store.announcements.get(id)!
    const result = scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE', until: '2026-12-15'})
    expect(result.next).toEqual([tuesday1, tuesday2, tuesday3])
    expect(result.schedule).toMatchObject({kind: 'cron', cron: '0 8 * * TUE', timeZone: 'Europe/London', untilAt: Date.UTC(2026, 11, 15, 23, 59, 59), nextDueAt: tuesday1})

    const sent: string[] = []
    for (const due of [tuesday1, tuesday2, tuesday3]) {
      clock = due - 1
      expect(fireDueSchedules(ctx)).toEqual([])
      clock = due + 20_000
      const events = fireDueSchedules(ctx)
      expect(events).toHaveLength(1)
      const [event] = events
      expect(event).toMatchObject({kind: 'fired', scheduleId: result.schedule.id, templateId: id, dueAt: due})
      const occurrence = w.store.announcements.get(event!.announcementId!)!
      // Its own id and CAP identifier, the template's text and fields.
      expect(occurrence.id).not.toBe(id)
      expect(occurrence.identifier).toBe(`crier-${occurrence.id}`)
      expect(occurrence.identifier).not.toBe(template.identifier)
      expect(occurrence.variants).toEqual(template.variants)
      expect(occurrence.severity).toBe(template.severity)
      expect(occurrence.channels).toEqual(template.channels)
      expect(occurrence.effectiveAt).toBe(due)
      expect(occurrence.state).toBe('sending')
      expect(deliveriesOf(w, occurrence.id)).toBe(1)
      sent.push(occurrence.id)
      // Running again at the same moment fires nothing.
      expect(fireDueSchedules(ctx)).toEqual([])
      expect(stateOf(w, id)).toBe(due === tuesday3 ? 'approved' : 'scheduled')
    }
    expect(new Set(sent).size).toBe(3)
    expect(deliveriesOf(w, id)).toBe(0)
    expect(count(w, 'announcement')).toBe(4)
    expect(w.store.schedules.occurrencesOf(id).map((o) => [o.dueAt, o.state, o.announcementId])).toEqual([
      [tuesday1, 'fired', sent[0]],
      [tuesday2, 'fired', sent[1]],
      [tuesday3, 'fired', sent[2]],
    ])
    // --until 2026-12-15: nothing on the 22nd or after.
    expect(scheduleRow(w, id)).toMatchObject({nextDueAt: null, endReason: 'last occurrence'})
    clock = tuesday4 + minute
    expect(fireDueSchedules(ctx)).toEqual([])
    clock = tuesday4 + 30 * 24 * hour
    expect(fireDueSchedules(ctx)).toEqual([])
    expect(count(w, 'announcement')).toBe(4)
  })

  it('cancelling one occurrence says its schedule still fires the same words, and when next; it does not end it', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    clock = tuesday1 + minute
    const [fired] = fireDueSchedules(ctx)
    const occurrence = fired!.announcementId!
    w.store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(occurrence)
    const result = cancelAnnouncement(ctx, occurrence, 'Not this week: the depot is closed.')
    expect(result.scheduleStillFires).toMatchObject({templateId: id, nextDueAt: tuesday2})
    expect(result.followUp).toMatchObject({msgType: 'Cancel', references: occurrence})
    // Next week's bulletin may be right: the officer decides (crier unschedule).
    expect(w.store.schedules.activeFor(id)).toMatchObject({nextDueAt: tuesday2})
    // An announcement that is no occurrence has no such warning.
    const plain = draft(ctx, {text: 'Road closed at Trefriw.'})
    fanOut(ctx, plain)
    expect(cancelAnnouncement(ctx, plain, undefined).scheduleStillFires).toBeUndefined()
  })

  it('cancelling what went out withdraws its Update that was scheduled and never sent: it does not fire into a refusal later', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx, {text: 'Road closed at Trefriw.'})
    fanOut(ctx, id)
    w.store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(id)
    const update = draftUpdate(ctx, id, {text: 'The road at Trefriw reopens at 16:00.', channels: []})
    scheduleAnnouncement(ctx, update.id, {at: new Date(clock + hour).toISOString()})
    const draftOnly = draftUpdate(ctx, id, {text: 'The road at Trefriw reopens at 17:00.', channels: []})
    const result = cancelAnnouncement(ctx, id, 'Sent in error.')
    expect(result.withdrawnUpdates.sort()).toEqual([update.id, draftOnly.id].sort())
    expect(stateOf(w, update.id)).toBe('cancelled')
    expect(stateOf(w, draftOnly.id)).toBe('cancelled')
    expect(w.store.schedules.activeFor(update.id)).toBeUndefined()
    clock += 2 * hour
    expect(fireDueSchedules(ctx)).toEqual([])
    expect(deliveriesOf(w, update.id)).toBe(0)
  })

  it('after three weeks of downtime fires only the latest occurrence (within grace) and records the others missed', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    const {schedule} = scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    clock = tuesday3 + 5 * minute
    const events = fireDueSchedules(ctx)
    expect(events.map((event) => [event.kind, event.dueAt])).toEqual([
      ['missed', tuesday1],
      ['missed', tuesday2],
      ['fired', tuesday3],
    ])
    // in the configured zone, named, as the dashboard's lines are (08:00 GMT is 08:00 in London in December)
    expect(events[0]!.reason).toBe('missed: crier was not running (a later occurrence, 2026-12-15 08:00 Europe/London, was due too)')
    expect(events[1]!.reason).toBe(events[0]!.reason)
    // Exactly one new announcement, one delivery.
    expect(count(w, 'announcement')).toBe(2)
    expect(count(w, 'delivery')).toBe(1)
    expect(w.store.schedules.occurrencesOf(id).map((o) => [o.dueAt, o.state])).toEqual([
      [tuesday1, 'missed'],
      [tuesday2, 'missed'],
      [tuesday3, 'fired'],
    ])
    expect(stateOf(w, id)).toBe('scheduled')
    expect(w.store.schedules.latestFor(id)).toMatchObject({id: schedule.id, nextDueAt: tuesday4})
    expect(fireDueSchedules(ctx)).toEqual([])
  })

  it('after a long outage of a minute cron lists 101 missed, records the rest as one range, and fires the one due a moment ago', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '* * * * *'})
    const firstDue = start + minute
    clock = firstDue + 25 * hour + 27_000 // 1,501 occurrences due; the latest 27 s ago
    const latest = firstDue + 25 * hour
    const events = fireDueSchedules(ctx)
    expect(events).toHaveLength(103)
    expect(events.slice(0, 101).map((event) => [event.kind, event.dueAt])).toEqual(Array.from({length: 101}, (_, i) => ['missed', firstDue + i * minute]))
    expect(events[101]).toMatchObject({kind: 'missed', dueAt: firstDue + 101 * minute, reason: `missed: crier was not running — this and every occurrence after it before ${new Date(latest).toISOString().slice(0, 16).replace('T', ' ')} Europe/London`})
    expect(events[102]).toMatchObject({kind: 'fired', dueAt: latest})
    expect(count(w, 'delivery')).toBe(1)
    expect(w.store.schedules.latestFor(id)).toMatchObject({nextDueAt: latest + minute})
    expect(fireDueSchedules(ctx)).toEqual([])
    // The dashboard lists the newest 50 and counts them all, saying how many it did not list.
    const board = shiftDashboard(ctx)
    expect(board.missedOccurrences).toHaveLength(50)
    expect(board.missedOccurrencesCount).toBe(102)
    expect(dashboardLines(board, ctx.config).at(-1)).toBe('… and 52 earlier missed occurrences in the last 24 h (crier audit --since 24h has them all)')
  })

  it('after downtime beyond the grace period records every occurrence missed and fires none, then carries on', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    clock = tuesday3 + hour
    const events = fireDueSchedules(ctx)
    expect(events.map((event) => [event.kind, event.dueAt])).toEqual([
      ['missed', tuesday1],
      ['missed', tuesday2],
      ['missed', tuesday3],
    ])
    expect(events[2]!.reason).toBe('missed: due 1 h 0 min ago, beyond the 15 min grace period')
    expect(count(w, 'announcement')).toBe(1)
    expect(count(w, 'delivery')).toBe(0)
    expect(w.store.schedules.occurrencesOf(id).map((o) => o.state)).toEqual(['missed', 'missed', 'missed'])
    expect(w.store.schedules.missedSince(start)).toHaveLength(3)
    expect(stateOf(w, id)).toBe('scheduled')

    // The schedule is alive: next week fires as usual.
    clock = tuesday4
    expect(fireDueSchedules(ctx).map((event) => [event.kind, event.dueAt])).toEqual([['fired', tuesday4]])
    expect(count(w, 'announcement')).toBe(2)
    expect(w.store.schedules.occurrencesOf(id)).toHaveLength(4)
  })

  it('records an occurrence whose announcement has already expired as missed, with the reason, and keeps nothing of it', () => {
    const {ctx, w} = setUp()
    // Expires 5 minutes after scheduling: each occurrence expires 5 minutes after it is due.
    const id = draft(ctx, {expires: '+5m'})
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    clock = tuesday1 + 10 * minute // inside the grace period, past the occurrence's expiry
    const events = fireDueSchedules(ctx)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({kind: 'missed', templateId: id, dueAt: tuesday1})
    expect(events[0]!.announcementId).toBeUndefined()
    expect(events[0]!.reason).toMatch(/^missed: .*expired at 2026-12-01 08:05 Europe\/London/)
    expect(w.store.schedules.occurrencesOf(id)).toEqual([expect.objectContaining({dueAt: tuesday1, state: 'missed', announcementId: null, reason: events[0]!.reason})])
    // The clone and its fan-out were undone; the schedule moved on.
    expect(count(w, 'announcement')).toBe(1)
    expect(count(w, 'delivery')).toBe(0)
    expect(scheduleRow(w, id).nextDueAt).toBe(tuesday2)
    // Next week, on time, it goes (and expires 5 minutes later).
    clock = tuesday2 + minute
    const next = fireDueSchedules(ctx)
    expect(next.map((event) => event.kind)).toEqual(['fired'])
    expect(w.store.announcements.get(next[0]!.announcementId!)!.expiresAt).toBe(tuesday2 + 5 * minute)
  })

  it('fires DST days once: a 01:30 London job on the fall-back day', () => {
    const {ctx, w} = setUp()
    clock = Date.UTC(2026, 9, 24, 12) // Sat 24 Oct 2026, BST
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '30 1 * * *'})
    const fired: number[] = []
    // Walk the clock through the night minute by minute, as a `* * * * * crier run` would.
    for (clock = Date.UTC(2026, 9, 24, 22); clock <= Date.UTC(2026, 9, 25, 4); clock += minute) {
      for (const event of fireDueSchedules(ctx)) {
        expect(event.kind).toBe('fired')
        fired.push(event.dueAt)
      }
    }
    expect(fired).toEqual([Date.UTC(2026, 9, 25, 0, 30)])
    expect(w.store.schedules.occurrencesOf(id)).toHaveLength(1)
  })
})

describe('approval and unscheduling', () => {
  it('refuses to schedule a Severe draft without approval (exit 3), scheduling nothing', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx, {severity: 'Severe'})
    for (const request of [{at: 'tomorrow 07:30'}, {cron: '0 8 * * TUE'}]) {
      let refusal: unknown
      try {
        scheduleAnnouncement(ctx, id, request)
      } catch (error) {
        refusal = error
      }
      expect(refusal).toBeInstanceOf(PolicyRefusal)
      expect((refusal as PolicyRefusal).exitCode).toBe(ExitCode.refused)
      expect((refusal as PolicyRefusal).message).toMatch(/\(Severe\) needs 1 approval before it can be scheduled and has 0 — ask another officer to run crier approve/)
    }
    expect(count(w, 'schedule')).toBe(0)
    expect(stateOf(w, id)).toBe('pending_approval')
  })

  it('schedules a Severe announcement once another officer approved it; its occurrences go on that approval', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx, {severity: 'Severe'})
    approveAnnouncement({...ctx, user: 'officer.approver'}, id)
    expect(stateOf(w, id)).toBe('approved')
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    clock = tuesday1
    const events = fireDueSchedules(ctx)
    expect(events.map((event) => event.kind)).toEqual(['fired'])
    expect(deliveriesOf(w, events[0]!.announcementId!)).toBe(1)
  })

  it('when policy asks for more approvals after scheduling, the miss names the template, and another officer approving it lets the next occurrence go', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    // The admin raised the approvals needed (config.yaml edited; this run reads it).
    const tightened = {...ctx, config: {...ctx.config, policy: {...ctx.config.policy, approvals: {...ctx.config.policy.approvals, default: 1}}}}
    clock = tuesday1
    const [missed] = fireDueSchedules(tightened)
    // It named the occurrence's copy, rolled back with its fan-out: an id nobody could approve.
    expect(missed).toMatchObject({kind: 'missed'})
    expect(missed!.reason).toBe(`missed: ${shortId(id)} (Minor) needs 1 approval before it can be sent and has 0 — ask another officer to run crier approve ${shortId(id)}`)
    // What it says to do can be done: it stays scheduled, with the approval it lacked.
    approveAnnouncement({...tightened, user: 'officer.approver'}, id)
    expect(stateOf(w, id)).toBe('scheduled')
    clock = tuesday1 + 7 * 24 * 3_600_000
    expect(fireDueSchedules(tightened).map((event) => event.kind)).toEqual(['fired'])
    // Once it has what policy asks, approving it again is refused as before.
    expect(() => approveAnnouncement({...tightened, user: 'officer.third'}, id)).toThrow(/it is scheduled/)
  })

  it('a one-off missed for want of an approval policy now asks for goes back to approved, and can get it', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {at: '2026-11-25T14:00'})
    const tightened = {...ctx, config: {...ctx.config, policy: {...ctx.config.policy, approvals: {...ctx.config.policy.approvals, default: 1}}}}
    clock = Date.UTC(2026, 10, 25, 14, 0, 30)
    expect(fireDueSchedules(tightened).map((event) => event.kind)).toEqual(['missed'])
    expect(stateOf(w, id)).toBe('approved')
    // "approved already" sent the officer back to broadcast, which asked for this approval.
    approveAnnouncement({...tightened, user: 'officer.approver'}, id)
    expect(fanOut(tightened, id).queued).toBe(1)
  })

  it('unschedule returns a one-off to approved and it never fires', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    const {schedule} = scheduleAnnouncement(ctx, id, {at: '2026-11-25T14:00'})
    clock = Date.UTC(2026, 10, 25, 13, 30)
    const after = unscheduleAnnouncement(ctx, id)
    expect(after.state).toBe('approved')
    expect(stateOf(w, id)).toBe('approved')
    expect(w.store.schedules.latestFor(id)).toMatchObject({id: schedule.id, nextDueAt: null, endedAt: clock, endReason: 'unscheduled by officer.author'})
    for (clock = Date.UTC(2026, 10, 25, 14); clock < Date.UTC(2026, 10, 25, 15); clock += 5 * minute) expect(fireDueSchedules(ctx)).toEqual([])
    expect(count(w, 'delivery')).toBe(0)
    expect(count(w, 'occurrence')).toBe(0)
    expect(() => unscheduleAnnouncement(ctx, id)).toThrow(/is not scheduled \(it is approved\)/)
  })

  it('unschedule stops a recurring schedule between occurrences', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    clock = tuesday1
    expect(fireDueSchedules(ctx)).toHaveLength(1)
    clock = tuesday1 + hour
    expect(unscheduleAnnouncement(ctx, id).state).toBe('approved')
    clock = tuesday2
    expect(fireDueSchedules(ctx)).toEqual([])
    clock = tuesday4
    expect(fireDueSchedules(ctx)).toEqual([])
    expect(w.store.schedules.occurrencesOf(id)).toHaveLength(1)
    expect(count(w, 'announcement')).toBe(2)
  })
})

describe('cancelling a recurring announcement', () => {
  it('ends its schedule and names the occurrences that reached the public and are still current (each its own message)', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    clock = tuesday1 + minute
    fireDueSchedules(ctx)
    clock = tuesday2 + minute
    fireDueSchedules(ctx)
    const [first, second] = w.store.schedules.occurrencesOf(id).map((o) => o.announcementId!)
    // The first went out; the second is still queued (nothing of it public yet).
    w.store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(first)
    const result = cancelAnnouncement(ctx, id, undefined)
    expect(result.followUp).toBeUndefined()
    expect(result.occurrencesStillOut).toEqual([first])
    // Its broadcast has not finished (the announcement is still sending): said so, a cancel of it stops it.
    expect(w.store.announcements.get(first!)!.state).toBe('sending')
    expect(result.occurrencesSending).toEqual([first])
    expect(second).toBeDefined()
    expect(w.store.schedules.activeFor(id)).toBeUndefined()
  })
})


describe('broadcasting a scheduled announcement now', () => {
  it('ends its one-off schedule: it is not shown as coming, nor found missed at the due time', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {at: 'in 2 hours'})
    fanOut(ctx, id)
    expect(w.store.schedules.activeFor(id)).toBeUndefined()
    clock += 3 * hour
    expect(fireDueSchedules(ctx)).toEqual([])
    expect(count(w, 'occurrence')).toBe(0)
    expect(deliveriesOf(w, id)).toBe(1)
    expect(w.store.audit.list({subject: id}).filter((event) => event.action === 'schedule-ended').map((event) => JSON.parse(event.details).reason)).toEqual(['sent now by officer.author (crier broadcast)'])
  })

  it('refuses a recurring template, leaving its schedule running: its occurrences are their own sends', () => {
    const {ctx, w} = setUp()
    const id = draft(ctx)
    scheduleAnnouncement(ctx, id, {cron: '0 8 * * TUE'})
    expect(() => fanOut(ctx, id)).toThrow(/is the template of a recurring schedule/)
    expect(w.store.schedules.activeFor(id)?.kind).toBe('cron')
    expect(w.store.announcements.get(id)!.state).toBe('scheduled')
  })
})
