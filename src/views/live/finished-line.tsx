import {Box, Text} from 'ink'
import {oneLine} from '../../core/terminal-text.js'
import {formatCount, formatDuration, truncate} from './format.js'
import type {FinishedChannel} from './model.js'

export interface FinishedLineProps {
  item: FinishedChannel
  colour: boolean
  columns: number
  nameWidth: number
}

/** A channel with nothing left pending, printed once above the live region: how it ended and when. */
export function FinishedLine({item, colour, columns, nameWidth}: FinishedLineProps) {
  const {progress} = item
  const trouble = progress.dead + progress.unknown + progress.expired
  const parts = [`sent ${formatCount(progress.sent)}/${formatCount(progress.total)}`]
  if (progress.dead) parts.push(`dead ${formatCount(progress.dead)}`)
  if (progress.unknown) parts.push(`unknown ${formatCount(progress.unknown)}`)
  if (progress.expired) parts.push(`expired ${formatCount(progress.expired)}`)
  if (progress.skipped) parts.push(`skipped ${formatCount(progress.skipped)}`)
  if (progress.cancelled) parts.push(`cancelled ${formatCount(progress.cancelled)}`)
  const when = item.elapsedMs === null ? '' : ` — finished at ${formatDuration(item.elapsedMs)}`
  const error = trouble > 0 && progress.lastError ? ` — last error: ${oneLine(progress.lastError, Math.max(10, columns))}` : ''
  return (
    <Box width={columns}>
      <Text wrap="truncate-end" color={colour ? (trouble > 0 ? 'red' : 'green') : undefined}>
        {trouble > 0 ? '✗' : '✓'} {truncate(oneLine(progress.channel, 200), nameWidth).padEnd(nameWidth)} {parts.join(', ')}
        {when}
        {error}
      </Text>
    </Box>
  )
}
