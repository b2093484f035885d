import {cpus, tmpdir} from 'node:os'
import {canTimeWithGnuTime, formatMB, formatSeconds} from './audience.js'
import {benchEmail} from './email.js'
import {describeMachine} from './machine.js'
import {benchMemory} from './memory.js'
import {benchQueue} from './queue.js'
import {benchSms, claimTarget as smsClaimTarget} from './sms.js'
import {benchStartup} from './startup.js'
import {benchImport} from './subscriber-import.js'
import {describeShape, removeTempDirs} from './fixtures.js'
import {groupCommitSize as floorGroupCommitSize} from './floor-queue.js'
import {describeRate, formatMs, formatRate, formatRatio, table, type Summary, type Verdict, type WarmRuns} from './stats.js'
import {benchScheduling} from './scheduling.js'
import {benchWebhook, claimTarget as webhookClaimTarget} from './webhook.js'
import type {SideCpu, ThreadCpu} from './child-server.js'
import {liveViewSection} from './live-view.js'
import {auditSection} from './audit.js'
import {socialSection} from './social.js'

// `npm run bench`: crier's figures beside their baselines, measured in one run on the machine
// it names. Medians with min/max and the number of runs; ratios against the named baseline.
// Goals are the issues': start-up ≤ 2.5× `node -e ''`, the no-op queue ≥ 0.5× the raw SQLite
// floor, webhook fan-out ≥ 0.8× a bare undici blaster; e-mail ≥ 0.8× a bare pooled nodemailer
// script, SMS ≥ 0.8× a bare undici blaster, and peak RSS ≤ 250 MB at 1,000,000 recipients
// and ≤ 1.5× that at 100,000; `audit verify` ≥ 200k events/s and the audit trail costing ≤ 5%
// on the no-op queue; the live view's first frame ≤ 7× `node -e ''` and < 10% of a core while
// watching 100k; each social driver ≤ 1.5× a bare request per post. Nothing here fails on a
// missed goal: it reports.
//
// `node --expose-gc dist/bench/index.js [SECTION…]` runs only the sections named (startup, queue,
// webhook, email, sms, memory, import, scheduling, audit, live, social; `audience` is email, sms,
// memory and import); none: all of them.

// 25: the medians of 15 moved by ±0.15× from one bench to the next here (node -e itself 80–140 ms).
const startupRuns = 25
const importRuns = 5
const queueDeliveries = 100_000
const queueChannels = 50
const queueRuns = 3
const webhookRequests = 10_000
const webhookRuns = 5
const emailRecipients = 20_000
const emailRuns = 3
/** nodemailer with Nagle on waits for a delayed ACK per message: a smaller batch says as much. */
const emailDefaultRecipients = 2_000
const emailDefaultRuns = 1
const smsRecipients = 50_000
const smsRuns = 5
const memorySizes = [100_000, 1_000_000]
const memoryRuns = 3
const importRows = 1_000_000
const subscriberImportRuns = 3
/** The memory and import sections stop repeating runs past this (the issue: "~4 minutes"). */
const sectionBudgetMs = 4 * 60_000
const liveFirstFrameRuns = 11
const liveWatchRecipients = 100_000

const sections = ['startup', 'queue', 'webhook', 'email', 'sms', 'memory', 'import', 'scheduling', 'audit', 'live', 'social'] as const
type Section = (typeof sections)[number]
const groups: Record<string, Section[]> = {audience: ['email', 'sms', 'memory', 'import'], all: [...sections]}

function chosenSections(args: string[]): Section[] {
  if (args.length === 0) return [...sections]
  const chosen = new Set<Section>()
  for (const arg of args) {
    const named = groups[arg] ?? (sections.includes(arg as Section) ? [arg as Section] : undefined)
    if (!named) {
      console.error(`Error: unknown bench section "${arg}" — name some of ${[...sections, ...Object.keys(groups)].join(', ')}, or none for all`)
      process.exit(2)
    }
    for (const section of named) chosen.add(section)
  }
  return sections.filter((section) => chosen.has(section))
}

async function main(): Promise<void> {
  const chosen = chosenSections(process.argv.slice(2))
  const began = performance.now()
  console.log(`crier bench${chosen.length < sections.length ? ` (sections: ${chosen.join(', ')})` : ''}\n`)
  for (const line of describeMachine(tmpdir())) console.log(`  ${line}`)
  if (!(globalThis as {gc?: unknown}).gc) console.log('  (run with --expose-gc to collect garbage between runs)')
  const verdicts: Verdict[] = []
  const run: Record<Section, () => Promise<void>> = {
    startup: async () => startupSection(verdicts),
    queue: () => queueSection(verdicts),
    webhook: () => webhookSection(verdicts),
    email: () => emailSection(verdicts),
    sms: () => smsSection(verdicts),
    memory: () => memorySection(verdicts),
    import: () => importSection(verdicts),
    scheduling: () => schedulingSection(verdicts),
    live: async () => void verdicts.push(...(await liveViewSection(liveFirstFrameRuns, liveWatchRecipients))),
    audit: () => auditSection(verdicts),
    social: () => socialSection(verdicts),
  }
  for (const section of chosen) await run[section]()

  console.log('\nSummary (medians)\n')
  console.log(
    table(
      ['figure', 'crier', 'baseline', 'ratio', 'goal', 'met'],
      verdicts.map((v) => [v.figure, v.crier, v.baseline, v.ratio === undefined ? '—' : formatRatio(v.ratio), v.goal, v.isMet === undefined ? 'info' : v.isMet ? 'met' : 'NOT MET']),
    ),
  )
  console.log(`\nbench took ${((performance.now() - began) / 1000).toFixed(0)} s`)
}

function startupSection(verdicts: Verdict[]): void {
  console.log(`\n1. Start-up: wall time of a whole process, ${startupRuns} runs each, round-robin\n`)
  const startup = benchStartup(startupRuns, importRuns)
  console.log(
    table(
      ['command', 'median', 'min', 'max', 'runs', `× node -e ''`],
      [startup.baseline, ...startup.rows].map((row) => [row.label, formatMs(row.summary.median), row.summary.min.toFixed(1), row.summary.max.toFixed(1), String(row.summary.runs), formatRatio(row.ratio)]),
    ),
  )
  console.log(`\n  oclif (dist/src/cli/oclif.cjs) loaded with the V8 code cache the build wrote: ${startup.codeCacheAccepted ? 'yes, V8 took it' : 'NO — V8 refused it, so every start compiled oclif (rebuild with this Node)'}`)
  console.log(`\n  For information: import() of a module start-up must not load, each in a fresh node (${importRuns} runs)\n`)
  console.log(
    table(
      ['module', 'median', 'min', 'max', 'runs'],
      startup.imports.map((cost) => [cost.module, formatMs(cost.summary.median), cost.summary.min.toFixed(1), cost.summary.max.toFixed(1), String(cost.summary.runs)]),
    ),
  )
  for (const row of startup.rows) {
    const hasGoal = row.label.startsWith('crier list') && !row.label.includes('--all')
    verdicts.push({
      figure: `start-up: ${row.label}`,
      crier: formatMs(row.summary.median),
      baseline: `${formatMs(startup.baseline.summary.median)} (node -e '')`,
      ratio: row.ratio,
      goal: hasGoal ? '≤ 2.50×' : '—',
      isMet: hasGoal ? row.ratio <= 2.5 : undefined,
    })
  }
}

async function queueSection(verdicts: Verdict[]): Promise<void> {
  console.log(`\n2. No-op queue: ${queueDeliveries.toLocaleString('en-GB')} deliveries of one announcement over ${queueChannels} channels (concurrency 64), ${queueRuns} runs each\n`)
  const queue = await benchQueue(queueDeliveries, queueChannels, queueRuns)
  const queueRatio = queue.crier.median / queue.floor.median
  const fanOutRatio = queue.fanOut.median / queue.fanOutFloor.median
  console.log(`  crier  Dispatcher.run() until idle:   ${describeRate(queue.crier, 'deliveries/s')}`)
  console.log(`  floor  same SQL, bare sync loop:      ${describeRate(queue.floor, 'deliveries/s')}`)
  console.log(`  ratio  crier / floor:                 ${formatRatio(queueRatio)}`)
  console.log(`  crier's median run: ${describeShape(queue.shape)} (floor: claims of 128 per channel, commits of 128)`)
  console.log(`  fan-out (insert in one transaction): crier store ${describeRate(queue.fanOut, 'deliveries/s')}; bare INSERT ${describeRate(queue.fanOutFloor, 'deliveries/s')}; ${formatRatio(fanOutRatio)}`)
  verdicts.push({
    figure: 'no-op queue',
    crier: formatRate(queue.crier.median, 'deliveries/s'),
    baseline: `${formatRate(queue.floor.median, 'deliveries/s')} (raw SQLite loop)`,
    ratio: queueRatio,
    goal: '≥ 0.50×',
    isMet: queueRatio >= 0.5,
  })
  verdicts.push({
    figure: 'fan-out insert',
    crier: formatRate(queue.fanOut.median, 'deliveries/s'),
    baseline: `${formatRate(queue.fanOutFloor.median, 'deliveries/s')} (raw INSERT loop)`,
    ratio: fanOutRatio,
    goal: '—',
    isMet: undefined,
  })
}

async function webhookSection(verdicts: Verdict[]): Promise<void> {
  console.log(`\n3. Webhook fan-out: ${webhookRequests.toLocaleString('en-GB')} POSTs to a local node:http server (own process) answering 200 at once, ${webhookRuns} runs each\n`)
  const hook = await benchWebhook(webhookRequests, webhookRuns)
  const hookRatio = hook.crier.median / hook.blaster.median
  console.log(`  crier    one announcement × ${hook.requests.toLocaleString('en-GB')} deliveries on one webhook channel (concurrency ${hook.concurrency}), Dispatcher.run():`)
  console.log(`           ${describeRate(hook.crier, 'requests/s')}`)
  console.log(`  blaster  undici Pool (connections ${hook.concurrency}), ${hook.concurrency} request loops, same ${hook.bodyBytes}-byte body:`)
  console.log(`           ${describeRate(hook.blaster, 'requests/s')}`)
  console.log(`  durable  the same blaster, each POST a delivery taken from crier's queue SQL on a bare connection (claims of ${webhookClaimTarget}):`)
  console.log(`           ${describeRate(hook.durable, 'requests/s')}`)
  console.log(`  ratio    crier / blaster: ${formatRatio(hookRatio)}`)
  console.log(`  CPU per request (median runs): crier ${describeCpu(hook.cpu.crier)}; blaster ${describeCpu(hook.cpu.blaster)}; durable ${describeCpu(hook.cpu.durable)}`)
  explainDurableBlaster(hook.crier, hook.blaster, hook.durable)
  console.log(`  crier's median run: ${describeShape(hook.shape)}`)
  verdicts.push(...blasterVerdicts('webhook fan-out', 'webhook', 'requests/s', hook), warmVerdict('webhook', 'requests/s', 'request', hook.warm))
}

/**
 * The warm runs: crier and the bare blaster again with compiled code kept between runs, crier as
 * a worker (one dispatcher and its queue thread for every run), printed, and their ratio for the
 * summary (information: the goal is judged on the runs above).
 */
function warmVerdict(short: string, unit: string, item: string, warm: WarmRuns<{rate: number; cpu: SideCpu}>): Verdict {
  const ratio = warm.crier.summary.median / warm.baseline.summary.median
  console.log(`  warm     crier and the blaster again, compiled code kept between runs (each run above follows a collection, which drops it),`)
  console.log(`           crier as a worker runs: one dispatcher for every run, its queue thread started once (each run above starts its own):`)
  console.log(`           crier ${describeRate(warm.crier.summary, unit)}; blaster ${describeRate(warm.baseline.summary, unit)}`)
  console.log(`           crier / blaster: ${formatRatio(ratio)}; CPU per ${item} (median runs): crier ${describeCpu(warm.crier.median.cpu)}; blaster ${describeCpu(warm.baseline.median.cpu)}`)
  return {
    figure: `${short}, warm worker`,
    crier: formatRate(warm.crier.summary.median, unit),
    baseline: `${formatRate(warm.baseline.summary.median, unit)} (undici blaster)`,
    ratio,
    goal: '—',
    isMet: undefined,
  }
}

/** The goal against the bare blaster, and, for information, crier against the durable one. */
function blasterVerdicts(figure: string, short: string, unit: string, side: {crier: Summary; blaster: Summary; durable: Summary}): Verdict[] {
  const ratio = side.crier.median / side.blaster.median
  return [
    {figure, crier: formatRate(side.crier.median, unit), baseline: `${formatRate(side.blaster.median, unit)} (undici blaster)`, ratio, goal: '≥ 0.80×', isMet: ratio >= 0.8},
    {
      figure: `${short} vs durable blaster`,
      crier: formatRate(side.crier.median, unit),
      baseline: `${formatRate(side.durable.median, unit)} (blaster + queue SQL)`,
      ratio: side.crier.median / side.durable.median,
      goal: '—',
      isMet: undefined,
    },
  ]
}

/**
 * Why crier's figure trails the blaster's: what the queue's SQL alone costs the same blaster
 * (the durable one), and how crier compares with that.
 */
function explainDurableBlaster(crier: Summary, blaster: Summary, durable: Summary): void {
  console.log(`  the durable blaster keeps crier's promise and nothing more: each delivery claimed under a lease in a commit before its`)
  console.log(`  request, its attempt row and result committed after (in commits of ${floorGroupCommitSize}, riding on the next claim), all on its one thread`)
  console.log(`  durable / blaster: ${formatRatio(durable.median / blaster.median)} — the cost of that SQL alone on these ${cpus().length} cores, shared with the server;  crier / durable: ${formatRatio(crier.median / durable.median)}`)
  console.log(`  (crier's queue thread runs the same SQL beside its sends; the no-op queue above measures it without the network)`)
}

/** "160 µs (main thread 95, …) + server 61 µs" */
function describeCpu(cpu: SideCpu): string {
  return `${Math.round(cpu.client)} µs${describeThreads(cpu.threads)}${cpu.server === undefined ? '' : ` + server ${Math.round(cpu.server)} µs`}`
}

/** " (main thread 95, queue thread 45, V8/libuv 12)": where the client's CPU went. */
function describeThreads(threads: ThreadCpu | undefined): string {
  if (!threads) return ''
  const parts = [`main thread ${Math.round(threads.main)}`]
  if (threads.started >= 0.5) parts.push(`queue thread ${Math.round(threads.started)}`)
  parts.push(`V8/libuv ${Math.round(threads.helpers)}`)
  return ` (${parts.join(', ')})`
}

/** "123.4 MB (min 120.0, max 125.1, 3 runs)" */
function describeMB(summary: Summary): string {
  return `${formatMB(summary.median)} (min ${(summary.min / 1e6).toFixed(1)}, max ${(summary.max / 1e6).toFixed(1)}, ${summary.runs} run${summary.runs === 1 ? '' : 's'})`
}

async function emailSection(verdicts: Verdict[]): Promise<void> {
  console.log(`\n4. E-mail: ${emailRecipients.toLocaleString('en-GB')} recipients to smtp-server on 127.0.0.1 (own process, accepts everything), ${emailRuns} runs each\n`)
  const mail = await benchEmail(emailRecipients, emailRuns, emailDefaultRecipients, emailDefaultRuns)
  const ratio = mail.crier.median / mail.raw.median
  const defaultRatio = mail.crier.median / mail.rawDefault.median
  const n = mail.maxConnections
  console.log(`  crier        ${mail.recipients.toLocaleString('en-GB')} subscribers, fanOut(), one email channel (maxConnections ${n}, so concurrency ${n}), Dispatcher.run():`)
  console.log(`               ${describeRate(mail.crier, 'messages/s')}   (${Math.round(mail.crierBytes).toLocaleString('en-GB')} bytes of DATA per message)`)
  console.log(`  raw          nodemailer pool (maxConnections ${n}), ${n} send loops, crier's rendered message, TCP_NODELAY as crier's driver sets it:`)
  console.log(`               ${describeRate(mail.raw, 'messages/s')}   (${Math.round(mail.rawBytes).toLocaleString('en-GB')} bytes of DATA per message)`)
  console.log(`  raw default  the same script with nodemailer's default socket (Nagle on), ${mail.rawDefaultRecipients.toLocaleString('en-GB')} messages:`)
  console.log(`               ${describeRate(mail.rawDefault, 'messages/s')}`)
  console.log(`  ratio        crier / raw (same socket option): ${formatRatio(ratio)};  crier / raw with nodemailer defaults: ${formatRatio(defaultRatio)}`)
  console.log(`  Note: crier's email driver connects with TCP_NODELAY (email.ts, getSocket → connectWithoutDelay); nodemailer's`)
  console.log(`  default leaves Nagle on and every message then waits for the server's delayed ACK. The goal is judged`)
  console.log(`  against the raw script with the same socket option; the default is shown for information.`)
  console.log(`  CPU per message (median runs): crier ${describeCpu(mail.cpu.crier)}; raw ${describeCpu(mail.cpu.raw)}`)
  console.log(`  crier's median run: ${describeShape(mail.shape)}`)
  verdicts.push({
    figure: 'e-mail (SMTP pool)',
    crier: formatRate(mail.crier.median, 'messages/s'),
    baseline: `${formatRate(mail.raw.median, 'messages/s')} (raw nodemailer pool, noDelay)`,
    ratio,
    goal: '≥ 0.80×',
    isMet: ratio >= 0.8,
  })
  verdicts.push({
    figure: 'e-mail vs nodemailer defaults',
    crier: formatRate(mail.crier.median, 'messages/s'),
    baseline: `${formatRate(mail.rawDefault.median, 'messages/s')} (raw nodemailer pool, Nagle on)`,
    ratio: defaultRatio,
    goal: '—',
    isMet: undefined,
  })
}

async function smsSection(verdicts: Verdict[]): Promise<void> {
  console.log(`\n5. SMS: ${smsRecipients.toLocaleString('en-GB')} recipients to a Twilio-shaped API on 127.0.0.1 (own process, 201 at once), ${smsRuns} runs each\n`)
  const text = await benchSms(smsRecipients, smsRuns)
  const ratio = text.crier.median / text.blaster.median
  console.log(`  crier    ${text.recipients.toLocaleString('en-GB')} subscribers, fanOut(), one sms channel (Twilio, concurrency ${text.concurrency}), Dispatcher.run():`)
  console.log(`           ${describeRate(text.crier, 'messages/s')}`)
  console.log(`  blaster  undici Pool (connections ${text.concurrency}), ${text.concurrency} request loops, the same ${text.bodyBytes}-byte form body and Basic auth:`)
  console.log(`           ${describeRate(text.blaster, 'messages/s')}`)
  console.log(`  durable  the same blaster, each message a delivery taken from crier's queue SQL on a bare connection (claims of ${smsClaimTarget}):`)
  console.log(`           ${describeRate(text.durable, 'messages/s')}`)
  console.log(`  ratio    crier / blaster: ${formatRatio(ratio)}`)
  console.log(`  CPU per message (median runs): crier ${describeCpu(text.cpu.crier)}; blaster ${describeCpu(text.cpu.blaster)}; durable ${describeCpu(text.cpu.durable)}`)
  explainDurableBlaster(text.crier, text.blaster, text.durable)
  console.log(`  crier's median run: ${describeShape(text.shape)}`)
  verdicts.push(...blasterVerdicts('SMS (Twilio API)', 'SMS', 'messages/s', text), warmVerdict('SMS', 'messages/s', 'message', text.warm))
}

async function memorySection(verdicts: Verdict[]): Promise<void> {
  const sizes = memorySizes.map((size) => size.toLocaleString('en-GB')).join(' and ')
  console.log(`\n6. Memory: peak RSS of the built CLI, crier broadcast ID --no-wait then crier run, for ${sizes} SMS recipients (Twilio-shaped fake, own process)`)
  console.log(`   peak RSS ${canTimeWithGnuTime ? "from /usr/bin/time -f %M (the process's max RSS)" : 'polled from /proc/PID/status VmHWM every 20 ms (no /usr/bin/time)'}; MB = 10⁶ bytes; up to ${memoryRuns} runs each\n`)
  const began = performance.now()
  const memory = await benchMemory(memorySizes, memoryRuns, sectionBudgetMs, (line) => console.log(`  ${line}`))
  console.log(`  draft: crier draft "${memory.text}" --severity Minor --channel residents-sms --json (sent as "[Minor] ${memory.text}", one GSM-7 segment); sms channel concurrency ${memory.concurrency}, rate unset`)
  console.log('')
  console.log(
    table(
      ['recipients', 'broadcast --no-wait: peak RSS', 'wall', 'run: peak RSS', 'wall', 'then status ID: wall'],
      memory.rows.map((row) => [
        row.recipients.toLocaleString('en-GB'),
        describeMB(row.broadcast),
        formatSeconds(row.broadcastMs.median),
        describeMB(row.run),
        formatSeconds(row.runMs.median),
        formatMs(row.statusMs.median),
      ]),
    ).replace(/^/gm, '  '),
  )
  for (const row of memory.rows) if (row.note) console.log(`  ${row.recipients.toLocaleString('en-GB')}: ${row.note}`)
  if (memory.stderr.length) console.log(`  stderr of the CLI (exit codes were 0):\n${memory.stderr.map((line) => `    ${line}`).join('\n')}`)
  const small = memory.rows[0]!
  const large = memory.rows[memory.rows.length - 1]!
  const largeLabel = large.recipients.toLocaleString('en-GB')
  for (const command of ['broadcast', 'run'] as const) {
    const label = command === 'broadcast' ? 'crier broadcast --no-wait' : 'crier run'
    const ratio = large[command].median / small[command].median
    console.log(`  ${label}: RSS(${largeLabel}) / RSS(${small.recipients.toLocaleString('en-GB')}) = ${formatRatio(ratio)}`)
    verdicts.push({
      figure: `memory: ${label}`,
      crier: `${formatMB(large[command].median)} at ${largeLabel}`,
      baseline: `${formatMB(small[command].median)} at ${small.recipients.toLocaleString('en-GB')}`,
      ratio,
      goal: '≤ 250 MB, ≤ 1.50×',
      isMet: large[command].median <= 250e6 && ratio <= 1.5,
    })
  }
  console.log(`  (${largeLabel}: crier run took ${formatSeconds(large.runMs.median)}, broadcast --no-wait ${formatSeconds(large.broadcastMs.median)}; section ${formatSeconds(performance.now() - began)})`)
}

async function schedulingSection(verdicts: Verdict[]): Promise<void> {
  console.log(`\n8. Scheduling: crier worker firing 200 one-off schedules due over 2 minutes (feed channel), then idle for 60 s\n`)
  const result = await benchScheduling()
  console.log(`  delay from due time to the first delivery attempt: p50 ${formatMs(result.p50Ms)}, p99 ${formatMs(result.p99Ms)}, max ${formatMs(result.maxMs)} (${result.schedules} schedules)`)
  console.log(`  idle worker CPU over ${result.idleSeconds} s: ${result.idleCpuPercent.toFixed(2)}% of one core`)
  verdicts.push({figure: 'worker firing delay p99', crier: formatMs(result.p99Ms), baseline: `p50 ${formatMs(result.p50Ms)}`, goal: '≤ 1 s', isMet: result.p99Ms <= 1000})
  verdicts.push({figure: 'idle worker CPU (60 s)', crier: `${result.idleCpuPercent.toFixed(2)}%`, baseline: '—', goal: '< 1% of a core', isMet: result.idleCpuPercent < 1})
}

async function importSection(verdicts: Verdict[]): Promise<void> {
  console.log(`\n7. Import: crier subscribers import FILE --list county (the built CLI, a child process) on a ${importRows.toLocaleString('en-GB')}-row CSV, up to ${subscriberImportRuns} runs\n`)
  const imported = await benchImport(importRows, subscriberImportRuns, sectionBudgetMs, (line) => console.log(`  ${line}`))
  console.log(`  rows/s (whole process, start-up included): ${describeRate(imported.rate, 'rows/s')}`)
  console.log(`  wall time: ${formatSeconds(imported.ms.median)} (min ${formatSeconds(imported.ms.min)}, max ${formatSeconds(imported.ms.max)})`)
  console.log(`  peak RSS:  ${describeMB(imported.peakRss)}`)
  if (imported.note) console.log(`  ${imported.note}`)
  verdicts.push({
    figure: 'subscribers import (1M rows)',
    crier: `${formatRate(imported.rate.median, 'rows/s')}, peak ${formatMB(imported.peakRss.median)}`,
    baseline: '—',
    goal: '—',
    isMet: undefined,
  })
}

try {
  await main()
} finally {
  removeTempDirs()
}
