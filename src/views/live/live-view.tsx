import {Box, Static, Text} from 'ink'
import {ChannelRow, CompactChannelRow} from './channel-row.js'
import {FinishedLine} from './finished-line.js'
import {Footer} from './footer.js'
import {Header} from './header.js'
import {chromeLines, fitNotice, layoutChannels, nameWidthFor, noticeLines} from './layout.js'
import type {LiveViewProps} from './model.js'

/**
 * The live view: channels that have finished, printed once (<Static>), then the live region —
 * header, a row per channel still sending, the keys. Props in, pixels out.
 */
export function LiveView(props: LiveViewProps) {
  const {snapshot, colour, columns} = props
  // The notice has the lines the header and keys leave, and no more: the frame must fit the terminal.
  const notice = fitNotice(props.notice, columns, Math.max(1, props.rows - chromeLines + 1))
  const layout = layoutChannels(props.active, props.rates, {columns, rows: props.rows, noticeLines: noticeLines(notice, columns)})
  const finishedNameWidth = nameWidthFor(snapshot.channels.map((c) => c.channel), columns)
  const Row = layout.mode === 'detailed' ? ChannelRow : CompactChannelRow
  return (
    <>
      <Static items={props.finished}>{(item) => <FinishedLine key={item.key} item={item} colour={colour} columns={columns} nameWidth={finishedNameWidth} />}</Static>
      <Box flexDirection="column" width={columns}>
        <Header snapshot={snapshot} phase={props.phase} colour={colour} columns={columns} />
        {layout.shown.map((progress) => (
          <Row key={progress.channel} progress={progress} rate={props.rates[progress.channel]} colour={colour} columns={columns} nameWidth={layout.nameWidth} />
        ))}
        {layout.hidden > 0 ? <Text wrap="truncate-end">+{layout.hidden} more channels: a taller terminal shows them</Text> : null}
        <Footer role={props.role} phase={props.phase} notice={notice} hasKeys={props.hasKeys} retryableDead={snapshot.retryableDead} colour={colour} columns={columns} />
      </Box>
    </>
  )
}
