// Plain statistics and formatting for the bench: medians with their spread, never means
// (one slow run from a noisy neighbour must not move the figure).

/** A figure measured several times: the median, the spread and how many runs. */
export interface Summary {
  median: number
  min: number
  max: number
  runs: number
}

export function summarise(samples: number[]): Summary {
  if (samples.length === 0) throw new Error('no samples to summarise')
  const sorted = [...samples].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
  return {median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length}
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`
}

export function formatRate(perSecond: number, unit: string): string {
  return `${Math.round(perSecond).toLocaleString('en-GB')} ${unit}`
}

export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`
}

/** "12,345 deliveries/s (min 12,000, max 12,500, 3 runs)" */
export function describeRate(summary: Summary, unit: string): string {
  const n = (value: number) => Math.round(value).toLocaleString('en-GB')
  return `${formatRate(summary.median, unit)} (min ${n(summary.min)}, max ${n(summary.max)}, ${summary.runs} runs)`
}

/** Left-aligned text columns, two spaces apart; numbers are already formatted by the caller. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

let collectingBetweenRuns = true

/**
 * Runs the collector between measured runs when node was started with --expose-gc. V8's forced
 * collection also drops the code its JIT compiled, so the run after it compiles afresh as it
 * goes, as a new crier process does (a cron `crier run`, a `crier broadcast`): about 115
 * functions optimised again in each 10,000-request webhook run of crier, 5 without it.
 */
export function collectGarbage(): void {
  if (!collectingBetweenRuns) return
  const gc = (globalThis as {gc?: () => void}).gc
  if (gc) gc()
}

/** A side's runs with compiled code kept between them: the rates and the median run. */
export interface WarmSide<T> {
  summary: Summary
  median: T
}

/** Both sides' warm runs. */
export interface WarmRuns<C, B = C> {
  crier: WarmSide<C>
  baseline: WarmSide<B>
}

/**
 * `runs` rounds of crier and its baseline in turn with the collector left alone, so that the
 * JIT's code stays warm from run to run: with crier's side one dispatcher run again and again, a
 * long-lived process's steady state (`crier worker`), beside the cold runs, which start after
 * collectGarbage().
 */
export async function warmRuns<T extends {rate: number}, B extends {rate: number}>(
  runs: number,
  crier: () => Promise<T>,
  baseline: () => Promise<B>,
): Promise<WarmRuns<T, B>> {
  collectingBetweenRuns = false
  try {
    const crierRuns: T[] = []
    const baselineRuns: B[] = []
    for (let run = 0; run < runs; run++) {
      crierRuns.push(await crier())
      baselineRuns.push(await baseline())
    }
    const [crierSummary, crierMedian] = medianRun(crierRuns)
    const [baselineSummary, baselineMedian] = medianRun(baselineRuns)
    return {crier: {summary: crierSummary, median: crierMedian}, baseline: {summary: baselineSummary, median: baselineMedian}}
  } finally {
    collectingBetweenRuns = true
  }
}

/** One line of the bench's closing summary: a figure, its baseline, and whether it meets its goal. */
export interface Verdict {
  figure: string
  crier: string
  baseline: string
  /** Absent when there is no baseline. */
  ratio?: number
  goal: string
  isMet: boolean | undefined
}

/** The summary of runs' rates, and the run whose rate is the median (for its CPU and shape). */
export function medianRun<T extends {rate: number}>(runs: T[]): [Summary, T] {
  const summary = summarise(runs.map((run) => run.rate))
  return [summary, runs.find((run) => run.rate === summary.median) ?? runs[0]!]
}
