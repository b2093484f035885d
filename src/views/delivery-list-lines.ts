import type {Config} from '../config/load.js'
import {driverFor} from '../channels/registry.js'
import {counted} from '../core/counted.js'
import {oneLine} from '../core/terminal-text.js'
import type {DeliveryListed} from '../store/deliveries.js'

// `crier status ID --deliveries unknown`: each delivery that needs a person, with whom it was
// for — on an SMS channel their number, on an e-mail one their address — to check with the
// provider (did the text go out?) before anyone sends again.

export function deliveryListLines(listed: {total: number; deliveries: DeliveryListed[]}, config: Config): string[] {
  if (listed.total === 0) return ['No deliveries in those states.']
  const channelWidth = Math.max(...listed.deliveries.map((d) => d.channel.length))
  const lines = listed.deliveries.map((d) => {
    const who = whoFor(d, config)
    const receipt = d.receiptId ? `, provider id ${oneLine(d.receiptId, 80)}` : ''
    return `  ${d.channel.padEnd(channelWidth)}  ${d.state.padEnd(7)}  ${who}  (${counted(d.attempts, 'attempt')}${receipt})  ${oneLine(d.lastError ?? '', 200)}`.trimEnd()
  })
  const more = listed.total - listed.deliveries.length
  return [`Deliveries: ${listed.total}`, ...lines, ...(more > 0 ? [`  … and ${more} more`] : [])]
}

function whoFor(d: DeliveryListed, config: Config): string {
  if (d.name === null && d.email === null && d.phone === null) return d.id
  const channel = config.channels[d.channel]
  const contact = channel ? driverFor(channel.type)?.capabilities.contact : undefined
  const address = contact === 'email' ? d.email : contact === 'phone' ? d.phone : (d.phone ?? d.email)
  return [d.name ? oneLine(d.name, 60) : undefined, address ?? '(no contact now)'].filter(Boolean).join(' ')
}
