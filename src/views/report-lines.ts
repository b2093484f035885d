import {stringify} from 'csv-stringify/sync'
import type {ChannelReport, DeliveryReport} from '../engine/report.js'
import {counted} from '../core/counted.js'
import {oneLine} from '../core/terminal-text.js'
import {wrap} from './fit-width.js'
import {formatUtc} from './format.js'
import {formatCount, formatDuration} from './live/format.js'

// crier report's three forms: a table for the terminal, CSV for a spreadsheet, JSON for scripts.

/**
 * The table, one line per channel and a total; columns only a few reports need (skipped,
 * cancelled) appear when not all zero. Wider than `width` (a terminal's), it is split into
 * blocks that fit, each starting with the channel, rather than wrapping a row across lines.
 */
export function reportTable(report: DeliveryReport, width?: number): string[] {
  const fit = (text: string) => (width === undefined ? [text] : wrap(text, width, ''))
  const heading = fit(`Deliveries queued ${windowWords(report)}: ${counted(report.announcements, 'announcement')}, ${counted(report.total.deliveries, 'delivery', 'deliveries')}.`)
  if (report.channels.length === 0) return heading
  const rows: ChannelReport[] = [...report.channels, {...report.total, channel: 'total'}]
  const columns: Array<{header: string; cell: (row: ChannelReport) => string; left?: boolean; when?: boolean}> = [
    {header: 'channel', cell: (row) => oneLine(row.channel, 40), left: true},
    {header: 'deliveries', cell: (row) => formatCount(row.deliveries)},
    {header: 'sent', cell: (row) => formatCount(row.sent)},
    {header: 'pending', cell: (row) => formatCount(row.pending)},
    {header: 'dead', cell: (row) => formatCount(row.dead)},
    {header: 'unknown', cell: (row) => formatCount(row.unknown)},
    {header: 'expired', cell: (row) => formatCount(row.expired)},
    {header: 'skipped', cell: (row) => formatCount(row.skipped), when: report.total.skipped > 0},
    {header: 'cancelled', cell: (row) => formatCount(row.cancelled), when: report.total.cancelled > 0},
    {header: 'failed tries', cell: (row) => formatCount(row.failedTries)},
    {header: 'median', cell: (row) => latencyCell(row.latencyMs?.median)},
    {header: 'p95', cell: (row) => latencyCell(row.latencyMs?.p95)},
    {header: 'slowest', cell: (row) => latencyCell(row.latencyMs?.max)},
  ]
  const shown = columns.filter((column) => column.when !== false)
  const cells = [shown.map((column) => column.header), ...rows.map((row) => shown.map((column) => column.cell(row)))]
  const widths = shown.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)))
  // Blocks of columns after the channel's, each as many as fit the width (at least one).
  const blocks: number[][] = []
  for (let i = 1; i < shown.length; i++) {
    const block = blocks.at(-1)
    const used = block ? widths[0]! + block.reduce((sum, j) => sum + 2 + widths[j]!, 0) : 0
    if (block && (width === undefined || used + 2 + widths[i]! <= width)) block.push(i)
    else blocks.push([i])
  }
  const lines = blocks.flatMap((block, b) => [
    ...(b > 0 ? [''] : []),
    ...cells.map((line) => [0, ...block].map((i) => (shown[i]!.left ? line[i]!.padEnd(widths[i]!) : line[i]!.padStart(widths[i]!))).join('  ').trimEnd()),
  ])
  return [...heading, '', ...lines, '', ...fit('median, p95, slowest: time from queued to sent; failed tries: errors, timeouts and refusals, retried or not.')]
}

const csvColumns = ['channel', 'announcements', 'deliveries', 'sent', 'pending', 'dead', 'unknown', 'expired', 'skipped', 'cancelled', 'tries', 'failed_tries', 'median_ms', 'p95_ms', 'slowest_ms'] as const

/** RFC 4180 (CRLF): a header, one row per channel, then the total (channel `(all)`). */
export function reportCsv(report: DeliveryReport): string {
  const rows: ChannelReport[] = [...report.channels, {...report.total, channel: '(all)'}]
  const records = rows.map((row) => [row.channel, row.announcements, row.deliveries, row.sent, row.pending, row.dead, row.unknown, row.expired, row.skipped, row.cancelled, row.tries, row.failedTries, row.latencyMs?.median ?? '', row.latencyMs?.p95 ?? '', row.latencyMs?.max ?? ''])
  return stringify(records, {header: true, columns: [...csvColumns], record_delimiter: 'windows'})
}

/** The report in --json: times in epoch ms, as in every crier --json document. */
export function reportJson(report: DeliveryReport) {
  return {...report}
}

function windowWords(report: DeliveryReport): string {
  return report.since === null ? `up to ${formatUtc(report.until)}` : `from ${formatUtc(report.since)} until ${formatUtc(report.until)}`
}

/** "350 ms", "4.2 s", then "1:05" (minutes) and "1:02:03". */
function latencyCell(ms: number | undefined): string {
  if (ms === undefined) return '—'
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return formatDuration(ms)
}
