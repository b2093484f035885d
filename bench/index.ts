import {tmpdir} from 'node:os'
import {describeMachine} from './machine.js'
import {benchQueue} from './queue.js'
import {benchStartup} from './startup.js'
import {describeShape, removeTempDirs} from './fixtures.js'
import {describeRate, formatMs, formatRate, formatRatio, table} from './stats.js'
import {benchWebhook} from './webhook.js'

// `npm run bench`: crier's figures beside their baselines, measured in one run on the machine
// it names. Medians with min/max and the number of runs; ratios against the named baseline.
// Goals are the issue's: start-up ≤ 2.5× `node -e ''`, the no-op queue ≥ 0.5× the raw SQLite
// floor, webhook fan-out ≥ 0.8× a bare undici blaster. Nothing here fails on a missed goal: it
// reports.

const startupRuns = 15
const importRuns = 5
const queueDeliveries = 100_000
const queueChannels = 50
const queueRuns = 3
const webhookRequests = 10_000
const webhookRuns = 3

interface Verdict {
  figure: string
  crier: string
  baseline: string
  ratio: number
  goal: string
  isMet: boolean | undefined
}

async function main(): Promise<void> {
  const began = performance.now()
  console.log('crier bench\n')
  for (const line of describeMachine(tmpdir())) console.log(`  ${line}`)
  if (!(globalThis as {gc?: unknown}).gc) console.log('  (run with --expose-gc to collect garbage between runs)')
  const verdicts: Verdict[] = []

  console.log(`\n1. Start-up: wall time of a whole process, ${startupRuns} runs each, round-robin\n`)
  const startup = benchStartup(startupRuns, importRuns)
  console.log(
    table(
      ['command', 'median', 'min', 'max', 'runs', `× node -e ''`],
      [startup.baseline, ...startup.rows].map((row) => [row.label, formatMs(row.summary.median), row.summary.min.toFixed(1), row.summary.max.toFixed(1), String(row.summary.runs), formatRatio(row.ratio)]),
    ),
  )
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

  console.log(`\n3. Webhook fan-out: ${webhookRequests.toLocaleString('en-GB')} POSTs to a local node:http server (own process) answering 200 at once, ${webhookRuns} runs each\n`)
  const hook = await benchWebhook(webhookRequests, webhookRuns)
  const hookRatio = hook.crier.median / hook.blaster.median
  console.log(`  crier    one announcement × ${hook.requests.toLocaleString('en-GB')} deliveries on one webhook channel (concurrency ${hook.concurrency}), Dispatcher.run():`)
  console.log(`           ${describeRate(hook.crier, 'requests/s')}`)
  console.log(`  blaster  undici Pool (connections ${hook.concurrency}), ${hook.concurrency} request loops, same ${hook.bodyBytes}-byte body:`)
  console.log(`           ${describeRate(hook.blaster, 'requests/s')}`)
  console.log(`  ratio    crier / blaster: ${formatRatio(hookRatio)}`)
  console.log(`  crier's median run: ${describeShape(hook.shape)}`)
  verdicts.push({
    figure: 'webhook fan-out',
    crier: formatRate(hook.crier.median, 'requests/s'),
    baseline: `${formatRate(hook.blaster.median, 'requests/s')} (undici blaster)`,
    ratio: hookRatio,
    goal: '≥ 0.80×',
    isMet: hookRatio >= 0.8,
  })

  console.log('\nSummary (medians)\n')
  console.log(
    table(
      ['figure', 'crier', 'baseline', 'ratio', 'goal', 'met'],
      verdicts.map((v) => [v.figure, v.crier, v.baseline, formatRatio(v.ratio), v.goal, v.isMet === undefined ? 'info' : v.isMet ? 'met' : 'NOT MET']),
    ),
  )
  console.log(`\nbench took ${((performance.now() - began) / 1000).toFixed(0)} s`)
}

try {
  await main()
} finally {
  removeTempDirs()
}
