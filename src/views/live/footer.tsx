import {Box, Text} from 'ink'
import {formatCount} from './format.js'
import type {LivePhase, LiveRole} from './model.js'

export interface FooterProps {
  role: LiveRole
  phase: LivePhase
  notice?: string
  hasKeys: boolean
  retryableDead: number
  colour: boolean
  columns: number
}

/** The keys that work now, and the latest notice (a question, what a key did, why it stopped), wrapped: it must be read whole. */
export function Footer({role, phase, notice, hasKeys, retryableDead, colour, columns}: FooterProps) {
  const keys = keysFor(role, phase, hasKeys, retryableDead)
  return (
    <Box flexDirection="column" width={columns}>
      {keys.length > 0 ? (
        <Text wrap="truncate-end">
          {keys.map(([key, what], i) => (
            <Text key={key}>
              {i > 0 ? ' · ' : ''}
              <Text bold={colour} color={colour ? 'cyan' : undefined}>
                {key}
              </Text>{' '}
              {what}
            </Text>
          ))}
        </Text>
      ) : null}
      {notice ? (
        <Text wrap="wrap" color={colour && phase === 'confirming' ? 'yellow' : undefined}>
          {notice}
        </Text>
      ) : null}
    </Box>
  )
}

function keysFor(role: LiveRole, phase: LivePhase, hasKeys: boolean, retryableDead: number): Array<[string, string]> {
  if (phase === 'final') return []
  if (phase === 'detaching' || phase === 'stopping') return role === 'sender' ? [['Ctrl-C', 'again aborts the sends in flight']] : []
  if (!hasKeys) return [['Ctrl-C', role === 'sender' ? 'stops sending (the rest stays queued)' : 'stops watching']]
  if (phase === 'confirming') return [['y', 'detach'], ['n', 'keep sending']]
  const retry: [string, string] = ['r', retryableDead > 0 ? `retry ${formatCount(retryableDead)} dead` : 'retry dead (none now)']
  return role === 'sender' ? [['q', 'detach'], retry, ['Ctrl-C', 'stop']] : [['q', 'quit'], retry]
}
