import {createHash} from 'node:crypto'

// Bluesky record keys derived from a delivery id: the same key on every attempt, so that a
// resend finds its own post there instead of posting twice (putRecord with swapRecord: null).

const base32Sortable = '234567abcdefghijklmnopqrstuvwxyz'
const ulid = /^[0-9A-HJKMNP-TV-Z]{26}$/i
const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
/** Parts 0–63 of a thread share one hash and differ in the clock id's low 6 bits, so they sort in thread order. */
const partsPerGroup = 64

/**
 * The record key of part `partIndex` of a delivery: a TID (13 characters of sortable base32,
 * 64 bits: a zero bit, 53 bits of microseconds, 10 bits of clock id) that is the same on every
 * attempt. The time is the delivery id's ULID timestamp to the millisecond. Within that
 * millisecond, the first 512 microseconds and the clock id's top 4 bits carry the low 13 bits
 * of the ULID's random part, which a monotonic factory counts up within a millisecond — so up
 * to 8,192 deliveries made in one millisecond by one process get different keys, and two
 * processes' deliveries collide only in the same millisecond, with a chance of 1 in 8,192.
 * The clock id's low 6 bits are the part's index, so a thread's first 64 parts sort in order;
 * later parts take a hashed microsecond from 512 up, never a first part's key.
 */
export function recordKey(deliveryId: string, partIndex: number): string {
  const group = Math.floor(partIndex / partsPerGroup)
  const part = partIndex % partsPerGroup
  if (!ulid.test(deliveryId)) {
    const digest = createHash('sha256').update(`${deliveryId}\n${group}`).digest()
    const micros = (digest.readUInt32BE(8) % 2 ** 31) * 1_000_000 + (digest.readUInt32BE(0) % 1_000_000)
    return tid(micros, ((digest[4]! & 0x0f) << 6) | part)
  }
  const millisecond = ulidTime(deliveryId) * 1000
  if (group === 0) {
    const counter = crockfordValue(deliveryId.slice(-3)) & 0x1fff
    return tid(millisecond + (counter >> 4), ((counter & 0x0f) << 6) | part)
  }
  const digest = createHash('sha256').update(`${deliveryId}\n${group}`).digest()
  return tid(millisecond + 512 + (digest.readUInt32BE(0) % 488), ((digest[4]! & 0x0f) << 6) | part)
}

/** Microseconds since the epoch (under 2^53, so a Number holds them exactly) fill 11 characters, the clock id the last 2. */
function tid(micros: number, clockId: number): string {
  return sortableBase32(micros, 11) + sortableBase32(clockId, 2)
}

function sortableBase32(value: number, digits: number): string {
  let text = ''
  for (let rest = value, i = 0; i < digits; i++, rest = Math.floor(rest / 32)) text = base32Sortable[rest % 32]! + text
  return text
}

/** A ULID's first 10 characters: milliseconds since the epoch in Crockford base32. */
function ulidTime(id: string): number {
  return crockfordValue(id.slice(0, 10))
}

function crockfordValue(text: string): number {
  let value = 0
  for (const character of text.toUpperCase()) value = value * 32 + crockford.indexOf(character)
  return value
}
