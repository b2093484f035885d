import {join} from 'node:path'
import {Dispatcher} from '../src/engine/dispatcher.js'
import {auditTrail, canonicalRow, chainHash, type AuditTrail} from '../src/store/audit.js'
import {assembleStore, openStore} from '../src/store/index.js'
import {openDatabase} from '../src/store/open.js'
import {benchAnnouncement, insertDeliveries, tempDir} from './fixtures.js'
import {maxAttempts, noopConfig} from './queue.js'
import {collectGarbage, describeRate, formatRate, summarise, type Summary} from './stats.js'

// The audit trail's two figures: `audit verify` over a chain of 1,000,000 events (the walk,
// one SHA-256 per row), and what the trail costs the no-op queue: the same Dispatcher run on
// the same queue with the trail and with a silent one, alternated in one process.

export interface AuditBenchResult {
  events: number
  /** store.audit.verify() over the whole chain, events per second. */
  verify: Summary
  /** Writing the chain straight through the table's INSERT (triggers on), events per second. */
  buildRate: number
  /** store.audit.append() one event at a time in one transaction, events per second. */
  appendRate: number
  deliveries: number
  channels: number
  /** No-op queue deliveries per second, with the audit trail and without it. */
  withAudit: Summary
  withoutAudit: Summary
  /**
   * The trail's cost, 1 − with / without, from each pair of runs made back to back: the median
   * of the pairs, so drift between pairs (a busy neighbour, the page cache) cancels out.
   */
  pairedCost: Summary
  /** Audit rows one queue run wrote (created, send-result). */
  eventsPerRun: number
  /**
   * The worst case, for information: as many announcements as deliveries (one each), so every
   * delivery finishes an announcement and appends its send-result row.
   */
  single: {announcements: number; withAudit: Summary; withoutAudit: Summary}
}

const appendEvents = 20_000
const buildBatch = 50_000

/** The same trail with append doing nothing: the store as it was before the audit trail. */
function silent(trail: AuditTrail): AuditTrail {
  return {...trail, append: (event) => ({seq: 0, at: 0, actor: '', action: event.action, subject: null, details: '{}', prevHash: '', hash: ''})}
}

export async function benchAudit(options: {events: number; verifyRuns: number; deliveries: number; channels: number; queueRuns: number; singles: number}): Promise<AuditBenchResult> {
  const chain = buildChain(options.events)
  const verify: number[] = []
  for (let run = 0; run < options.verifyRuns; run++) {
    collectGarbage()
    const started = performance.now()
    const verdict = chain.store.audit.verify()
    const ms = performance.now() - started
    if (!verdict.ok || verdict.events !== options.events) throw new Error(`audit verify: expected ${options.events} whole, got ${JSON.stringify(verdict)}`)
    verify.push((options.events / ms) * 1000)
  }
  chain.store.close()

  const names = Array.from({length: options.channels}, (_, i) => `audit-noop-${String(i + 1).padStart(2, '0')}`)
  const withAudit: number[] = []
  const withoutAudit: number[] = []
  const pairedCost: number[] = []
  let eventsPerRun = 0
  // In pairs, back to back, each side going first in every other pair, so drift over the runs
  // and whatever the first run of a pair meets touch both sides alike.
  const singleWith: number[] = []
  const singleWithout: number[] = []
  const whole = {announcements: 1, deliveriesEach: options.deliveries}
  for (let run = 0; run < options.queueRuns; run++) {
    const withFirst = run % 2 === 0
    const first = await queueRun(whole, names, withFirst)
    const second = await queueRun(whole, names, !withFirst)
    const [on, off] = withFirst ? [first, second] : [second, first]
    withAudit.push(on.rate)
    withoutAudit.push(off.rate)
    pairedCost.push(1 - on.rate / off.rate)
    eventsPerRun = on.events
    singleWith.push((await queueRun({announcements: options.singles, deliveriesEach: 1}, names, true)).rate)
    singleWithout.push((await queueRun({announcements: options.singles, deliveriesEach: 1}, names, false)).rate)
  }
  return {
    events: options.events,
    verify: summarise(verify),
    buildRate: chain.buildRate,
    appendRate: appendRate(),
    deliveries: options.deliveries,
    channels: options.channels,
    withAudit: summarise(withAudit),
    withoutAudit: summarise(withoutAudit),
    pairedCost: summarise(pairedCost),
    eventsPerRun,
    single: {announcements: options.singles, withAudit: summarise(singleWith), withoutAudit: summarise(singleWithout)},
  }
}

/** Rows shaped like a working force's: state changes, approvals, send results with counts. */
const templates: Array<{actor: string; action: string; details: (i: number) => string}> = [
  {actor: 'pc.jones', action: 'created', details: (i) => JSON.stringify({state: 'draft', author: 'pc.jones', severity: 'Moderate', status: 'Actual', msgType: 'Alert', channels: ['website', 'residents-sms'], headline: `A55 closed westbound J11–J12 (${i})`, contentHash: chainHash('', String(i))})},
  {actor: 'sgt.evans', action: 'approved', details: (i) => JSON.stringify({contentHash: chainHash('', String(i))})},
  {actor: 'sgt.evans', action: 'state-changed', details: () => JSON.stringify({from: 'approved', to: 'sending'})},
  {actor: 'cron', action: 'send-result', details: (i) => JSON.stringify({from: 'sending', to: 'sent', channels: {website: {sent: 1}, 'residents-sms': {sent: 9_000 + (i % 1000), skipped: 12}}})},
]

function buildChain(events: number): {store: ReturnType<typeof openStore>; buildRate: number} {
  const store = openStore(join(tempDir('audit-chain'), 'crier.db'), {actor: 'bench'})
  const insert = store.db.prepare(`INSERT INTO audit_event (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
  const start = Date.UTC(2026, 0, 1)
  let prev = store.audit.head().hash
  const started = performance.now()
  for (let from = 1; from <= events; from += buildBatch) {
    store.transaction(() => {
      for (let seq = from; seq < Math.min(from + buildBatch, events + 1); seq++) {
        const template = templates[seq % templates.length]!
        const subject = `01JH${String(Math.floor(seq / templates.length)).padStart(22, '0')}`
        const details = template.details(seq)
        const at = start + seq * 1000
        const hash = chainHash(prev, canonicalRow(seq, at, template.actor, template.action, subject, details))
        insert.run(seq, at, template.actor, template.action, subject, details, prev, hash)
        prev = hash
      }
    })
  }
  return {store, buildRate: (events / (performance.now() - started)) * 1000}
}

function appendRate(): number {
  const store = openStore(join(tempDir('audit-append'), 'crier.db'), {actor: 'bench'})
  const started = performance.now()
  store.transaction(() => {
    for (let i = 0; i < appendEvents; i++) store.audit.append({action: 'state-changed', subject: `01JH${String(i).padStart(22, '0')}`, details: {from: 'approved', to: 'sending'}})
  })
  const rate = (appendEvents / (performance.now() - started)) * 1000
  store.close()
  return rate
}

/** A no-op queue run: `announcements` × `deliveriesEach` deliveries, spread over the channels. */
async function queueRun(shape: {announcements: number; deliveriesEach: number}, names: string[], withAudit: boolean): Promise<{rate: number; events: number}> {
  const db = openDatabase(join(tempDir('audit-queue'), 'crier.db'))
  const trail = auditTrail(db, 'bench')
  const store = assembleStore(db, withAudit ? trail : silent(trail))
  const now = Date.now()
  const ids: string[] = []
  store.transaction(() => {
    for (let i = 0; i < shape.announcements; i++) {
      const channels = shape.announcements === 1 ? names : [names[i % names.length]!]
      const announcement = benchAnnouncement({now, channels, state: 'sending'})
      store.announcements.insert(announcement)
      insertDeliveries(store, announcement, channels, shape.deliveriesEach, maxAttempts)
      ids.push(announcement.id)
    }
  })
  const count = shape.announcements * shape.deliveriesEach

  collectGarbage()
  const dispatcher = new Dispatcher({store, config: noopConfig(names)})
  const started = performance.now()
  const summary = await dispatcher.run()
  const ms = performance.now() - started
  await dispatcher.close()

  const sent = db.prepare(`SELECT count(*) FROM delivery WHERE state = 'sent'`).pluck().get() as number
  if (sent !== count || summary.sent !== count) throw new Error(`audit queue: expected ${count} sent, the database says ${sent}`)
  const unfinished = db.prepare(`SELECT count(*) FROM announcement WHERE state != 'sent'`).pluck().get() as number
  if (unfinished !== 0) throw new Error(`audit queue: ${unfinished} announcements did not end sent`)
  const events = trail.head().seq
  if (withAudit ? events !== 2 * shape.announcements : events !== 0) throw new Error(`audit queue: ${events} audit rows with the trail ${withAudit ? 'on' : 'silent'}`)
  store.close()
  return {rate: (count / ms) * 1000, events}
}

/** Printed by bench/index.ts; a verdict per goal. */
export async function auditSection(verdicts: Array<{figure: string; crier: string; baseline: string; ratio?: number; goal: string; isMet: boolean | undefined}>): Promise<void> {
  const options = {events: 1_000_000, verifyRuns: 3, deliveries: 100_000, channels: 50, queueRuns: 6, singles: 10_000}
  console.log(`\n9. Audit trail: audit verify over ${options.events.toLocaleString('en-GB')} events (${options.verifyRuns} runs); the no-op queue (${options.deliveries.toLocaleString('en-GB')} deliveries over ${options.channels} channels) with and without the trail, ${options.queueRuns} pairs of runs back to back\n`)
  const result = await benchAudit(options)
  const cost = result.pairedCost.median
  console.log(`  verify   store.audit.verify(), one SHA-256 per row:  ${describeRate(result.verify, 'events/s')}`)
  console.log(`  build    the chain written through its INSERT (triggers on): ${formatRate(result.buildRate, 'events/s')}; store.audit.append() one by one: ${formatRate(result.appendRate, 'events/s')}`)
  console.log(`  queue    with the audit trail:     ${describeRate(result.withAudit, 'deliveries/s')}   (${result.eventsPerRun} audit rows per run: events are per announcement, not per delivery)`)
  console.log(`           with a silent trail:      ${describeRate(result.withoutAudit, 'deliveries/s')}`)
  const percent = (x: number) => `${(x * 100).toFixed(1)}%`
  console.log(`  cost     1 − with / without, per pair: median ${percent(cost)} (min ${percent(result.pairedCost.min)}, max ${percent(result.pairedCost.max)}, ${result.pairedCost.runs} pairs; below 0: within the noise)`)
  const single = result.single
  const singleCost = 1 - single.withAudit.median / single.withoutAudit.median
  console.log(`  worst case, for information: ${single.announcements.toLocaleString('en-GB')} announcements of one delivery each (a send-result row per delivery):`)
  console.log(`           with the audit trail:     ${describeRate(single.withAudit, 'deliveries/s')}`)
  console.log(`           with a silent trail:      ${describeRate(single.withoutAudit, 'deliveries/s')}   cost ${(singleCost * 100).toFixed(1)}%`)
  verdicts.push({
    figure: 'audit verify (1M events)',
    crier: formatRate(result.verify.median, 'events/s'),
    baseline: '—',
    goal: '≥ 200,000 events/s',
    isMet: result.verify.median >= 200_000,
  })
  verdicts.push({
    figure: 'audit trail cost, no-op queue',
    crier: formatRate(result.withAudit.median, 'deliveries/s'),
    baseline: `${formatRate(result.withoutAudit.median, 'deliveries/s')} (silent trail)`,
    ratio: 1 - cost,
    goal: '≤ 5% slower (≥ 0.95×)',
    isMet: cost <= 0.05,
  })
}
