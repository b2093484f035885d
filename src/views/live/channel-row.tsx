import {Box, Text} from 'ink'
import {Fragment} from 'react'
import type {ChannelProgress} from '../../engine/live-snapshot.js'
import {oneLine} from '../../core/terminal-text.js'
import {barCells, formatCount, packTokens, percent, truncate} from './format.js'
import {countTokens, pendingOf} from './layout.js'

export interface ChannelRowProps {
  progress: ChannelProgress
  rate: number | undefined
  colour: boolean
  columns: number
  nameWidth: number
}

/** The channel's name column: cut to its width, padded. */
function nameCell(channel: string, width: number): string {
  return truncate(oneLine(channel, 200), width).padEnd(width)
}

/** Filled cells green when colour is on; the empty ones plain. */
function Bar({done, total, width, colour}: {done: number; total: number; width: number; colour: boolean}) {
  const {filled, empty} = barCells(done, total, width)
  return (
    <Text>
      <Text color={colour ? 'green' : undefined}>{'█'.repeat(filled)}</Text>
      {'░'.repeat(empty)}
    </Text>
  )
}

/** Name, progress bar and percent; the counts, rate and ETA under it; the last error, on one line. */
export function ChannelRow({progress, rate, colour, columns, nameWidth}: ChannelRowProps) {
  const done = progress.total - pendingOf(progress)
  const barWidth = Math.max(4, columns - nameWidth - 6)
  const lines = packTokens(countTokens(progress, rate, colour), Math.max(10, columns - 2))
  return (
    <Box flexDirection="column" width={columns}>
      <Text wrap="truncate-end">
        {nameCell(progress.channel, nameWidth)} <Bar done={done} total={progress.total} width={barWidth} colour={colour} /> {percent(done, progress.total).padStart(4)}
      </Text>
      {lines.map((tokens, line) => (
        <Text key={line} wrap="truncate-end">
          {'  '}
          {tokens.map((token, i) => (
            <Fragment key={i}>
              {i > 0 ? '  ' : ''}
              <Text color={token.colour}>{token.text}</Text>
            </Fragment>
          ))}
        </Text>
      ))}
      {progress.lastError ? (
        <Text wrap="truncate-end" color={colour ? 'red' : undefined}>
          {'  last error: '}
          {oneLine(progress.lastError, Math.max(10, columns))}
        </Text>
      ) : null}
    </Box>
  )
}

/** One line per channel, for terminals too short for the detailed rows; a channel in trouble ends with its last error, as far as it fits. */
export function CompactChannelRow({progress, colour, columns, nameWidth}: ChannelRowProps) {
  const done = progress.total - pendingOf(progress)
  const trouble = [progress.failed ? `failed ${formatCount(progress.failed)}` : '', progress.dead ? `dead ${formatCount(progress.dead)}` : '', progress.unknown ? `unknown ${formatCount(progress.unknown)}` : '']
    .filter(Boolean)
    .join(' ')
  return (
    <Text wrap="truncate-end">
      {nameCell(progress.channel, nameWidth)} <Bar done={done} total={progress.total} width={Math.min(12, Math.max(4, columns - nameWidth - 30))} colour={colour} /> {formatCount(progress.sent)}/{formatCount(progress.total)}
      {trouble ? ' ' : ''}
      <Text color={colour && (progress.dead || progress.unknown) ? 'red' : undefined}>{trouble}</Text>
      {trouble && progress.lastError ? ` — ${oneLine(progress.lastError, Math.max(10, columns))}` : ''}
    </Text>
  )
}
