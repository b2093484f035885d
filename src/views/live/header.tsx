import {Box, Text} from 'ink'
import type {LiveSnapshot} from '../../engine/live-snapshot.js'
import {shortId} from '../../core/ids.js'
import {oneLine} from '../../core/terminal-text.js'
import {drillFlag} from '../format.js'
import {formatCount, formatDuration, severityColour, severityWord} from './format.js'
import type {LivePhase} from './model.js'

export interface HeaderProps {
  snapshot: LiveSnapshot
  phase: LivePhase
  colour: boolean
  columns: number
}

/** Severity (word, and colour when on), headline and elapsed time; under it, where the broadcast stands. */
export function Header({snapshot, phase, colour, columns}: HeaderProps) {
  const {announcement} = snapshot
  const elapsed = snapshot.startedAt === null ? '—' : formatDuration(snapshot.at - snapshot.startedAt)
  const headline = oneLine(announcement.headline, Math.max(10, columns))
  return (
    <Box flexDirection="column" width={columns}>
      <Box width={columns}>
        <Box flexGrow={1} flexShrink={1}>
          <Text wrap="truncate-end">
            {/* A Cancel withdraws an alarm: its old severity in red or orange would raise one. */}
            <Text bold={colour} color={colour && announcement.msgType !== 'Cancel' ? severityColour(announcement.severity) : undefined}>
              {announcement.msgType === 'Cancel' ? 'CANCEL' : severityWord(announcement.severity)}
            </Text>
            {'  '}
            {drillFlag(announcement)}
            {headline}
          </Text>
        </Box>
        <Box flexShrink={0} marginLeft={1}>
          <Text>{elapsed}</Text>
        </Box>
      </Box>
      <Text wrap="truncate-end" color={colour && snapshot.trouble > 0 ? 'red' : undefined}>
        {standing(snapshot, phase)}
      </Text>
    </Box>
  )
}

function standing(snapshot: LiveSnapshot, phase: LivePhase): string {
  const id = shortId(snapshot.announcement.id)
  const total = snapshot.channels.reduce((n, c) => n + c.total, 0)
  if (snapshot.startedAt === null) return `${id} · not sent yet (${snapshot.announcement.state.replace('_', ' ')})`
  const sent = snapshot.channels.reduce((n, c) => n + c.sent, 0)
  const trouble = snapshot.trouble > 0 ? ` · ${formatCount(snapshot.trouble)} ${snapshot.trouble === 1 ? 'needs' : 'need'} attention` : ''
  if (snapshot.isFinal) return `${id} · all ${formatCount(total)} final · ${formatCount(sent)} sent${trouble}`
  const verb = phase === 'detaching' || phase === 'stopping' ? 'stopping' : 'sending'
  return `${id} · ${verb} · ${formatCount(total - snapshot.pending)} of ${formatCount(total)} final · ${formatCount(snapshot.pending)} pending${trouble}`
}
