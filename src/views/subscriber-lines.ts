import {counted} from '../core/counted.js'
import {oneLine} from '../core/terminal-text.js'
import type {ListContactCount, Subscriber} from '../store/subscribers.js'
import {pad} from './format.js'

// `crier subscribers list`: an opt-out belongs to a contact (an SMS STOP stops that number only),
// so every line says which contact is opted out, never the subscriber as a whole.

/** "residents           5 subscribers: 4 e-mail addresses (1 opted out), 4 phones (2 opted out)" */
export function listCountLine(c: ListContactCount): string {
  const contacts = [
    c.emails ? `${counted(c.emails, 'e-mail address', 'e-mail addresses')} (${c.emailsOptedOut.toLocaleString('en-GB')} opted out)` : '',
    c.phones ? `${counted(c.phones, 'phone')} (${c.phonesOptedOut.toLocaleString('en-GB')} opted out)` : '',
  ].filter(Boolean)
  return `${pad(c.list, 20)}${counted(c.subscribers, 'subscriber')}: ${contacts.join(', ')}`
}

/** "opted out: e-mail", "opted out: e-mail, phone", or "" */
export function optedOutText(s: Pick<Subscriber, 'emailOptedOut' | 'phoneOptedOut'>): string {
  const contacts = [s.emailOptedOut ? 'e-mail' : '', s.phoneOptedOut ? 'phone' : ''].filter(Boolean)
  return contacts.length ? `opted out: ${contacts.join(', ')}` : ''
}

/** One subscriber as a table line; names come from a CSV, so terminal controls are stripped. */
export function subscriberLine(s: Subscriber): string {
  const optedOut = optedOutText(s)
  // One row per subscriber whatever was imported: a name with a line break stays on its row.
  return `${pad(String(s.id), 8)}${pad(s.email ?? '—', 32)}${pad(s.phone ?? '—', 16)}${pad(s.language ?? '—', 7)} ${optedOut ? `${optedOut}  ` : ''}${oneLine(s.name ?? '', 200)}`
}

/** One subscriber in `--json`: each contact beside whether it is opted out. */
export function subscriberJson(s: Subscriber) {
  return {
    id: s.id,
    list: s.list,
    name: s.name,
    email: s.email,
    emailOptedOut: s.emailOptedOut,
    phone: s.phone,
    phoneOptedOut: s.phoneOptedOut,
    language: s.language,
    lat: s.lat,
    lon: s.lon,
    zone: s.zone,
    tags: s.tags,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  }
}
