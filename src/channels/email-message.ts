import {primaryVariant, type Announcement, type Variant} from '../core/announcement.js'
import {drillWord, isDrill} from '../core/drill.js'
import {isEmailAddress} from '../core/email-address.js'
import {followUpLead} from '../core/follow-up-lead.js'
import type {ChannelConfig, Recipient} from './driver.js'
import type {EmailSettings} from './email.js'

// What one subscriber's email says: subject, text and HTML bodies, the unsubscribe line and
// headers, and the Message-ID. Pure: the same announcement, variant, channel and recipient give
// the same payload.
//
// Header injection: every value that reaches a header (subject, names, addresses) goes through
// headerText(), which turns CR, LF and every other control character into a space.

/** A display name and an address, both already free of control characters. */
export interface Mailbox {
  name: string
  address: string
}

/** What render produces and send delivers unchanged; only the Message-ID is added in send. */
export interface EmailPayload {
  from: Mailbox
  replyTo?: Mailbox
  /** `address` is '' when the subscriber has no email address (send refuses it). */
  to: Mailbox
  subject: string
  text: string
  html: string
  /** List-Unsubscribe, List-Unsubscribe-Post, Auto-Submitted. */
  headers: Record<string, string>
  /** Who it was rendered for; absent when rendered for preview with the placeholder recipient. */
  recipient?: Recipient
  /** The variant rendered and the CAP link, so send can render again for another recipient. */
  language: string
  capUrl?: string
  timeZone?: string
  /** How nodemailer encodes the bodies and any non-ASCII header: decided once per announcement (see preferredTextEncoding). */
  textEncoding: TextEncoding
}

export type TextEncoding = 'quoted-printable' | 'base64'

/** Shown by preview when no subscriber is given; never sent to. */
const placeholderRecipient: Recipient = {id: 'preview', email: 'resident@example.invalid'}

export function renderEmail(
  announcement: Announcement,
  variant: Variant,
  channel: ChannelConfig<EmailSettings>,
  {capUrl, timeZone, textEncoding}: {capUrl?: string; timeZone?: string; textEncoding?: TextEncoding},
  recipient: Recipient | undefined,
): EmailPayload {
  const from = parseMailbox(channel.from) ?? {name: '', address: ''}
  const replyTo = channel.replyTo === undefined ? undefined : parseMailbox(channel.replyTo)
  const shown = recipient ?? placeholderRecipient
  // The subscriber's address as stored, not cleaned here: one with a control in it fails
  // isEmailAddress at send time rather than go to an address its opt-out would not match.
  const to: Mailbox = {name: headerText(shown.name ?? ''), address: (shown.email ?? '').trim()}
  const unsubscribe = unsubscribeTarget(channel, from, to.address)
  const senderName = headerText(announcement.senderName ?? '') || from.name || from.address

  const headers: Record<string, string> = {
    'List-Unsubscribe': `<${unsubscribe.url}>`,
    // RFC 3834: tells auto-responders not to answer an alert.
    'Auto-Submitted': 'auto-generated',
  }
  // RFC 8058 one-click unsubscribe is defined for HTTPS only.
  if (unsubscribe.url.startsWith('https://')) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click'

  const content: EmailContent = {
    headline: bodyText(variant.headline),
    summary: [announcement.msgType === 'Cancel' ? 'Cancelled' : severityLabel(announcement), bodyText(announcement.event)].filter(Boolean).join(' · '),
    description: bodyText(variant.description),
    instruction: variant.instruction ? bodyText(variant.instruction) : undefined,
    area: announcement.area ? bodyText(announcement.area.description) : undefined,
    expires: announcement.expiresAt === undefined ? undefined : formatExpiry(announcement.expiresAt, timeZone ?? 'UTC'),
    web: announcement.web,
    capUrl,
    senderName,
    recipientAddress: to.address,
    unsubscribe,
  }
  const text = textBody(content)
  return {
    from,
    ...(replyTo ? {replyTo} : {}),
    to,
    subject: subjectOf(announcement, variant),
    text,
    html: htmlBody(content, variant.language),
    headers,
    ...(recipient ? {recipient} : {}),
    language: variant.language,
    ...(capUrl ? {capUrl} : {}),
    ...(timeZone ? {timeZone} : {}),
    textEncoding: textEncoding ?? preferredTextEncoding(text),
  }
}

/**
 * nodemailer's own rule (quoted-printable when Latin letters outnumber other characters, else
 * base64), applied once to the announcement's text instead of by nodemailer to every part of
 * every message: its check builds an array of every letter in the body, ~90 µs a message
 * (profile, bench: e-mail). The recipient's address and the unsubscribe line barely move it.
 */
export function preferredTextEncoding(text: string): TextEncoding {
  let latin = 0
  let other = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if ((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a)) latin++
    else if (code >= 0x80 || (code <= 0x1f && code !== 0x09 && code !== 0x0a && code !== 0x0d)) other++
  }
  return other < latin ? 'quoted-printable' : 'base64'
}

/**
 * The payload for the subscriber being sent to. The dispatcher may have rendered once per
 * announcement (for the placeholder); then the same render runs again for the real recipient,
 * so what goes out is still exactly what render produces.
 */
export function forRecipient(payload: EmailPayload, announcement: Announcement, channel: ChannelConfig<EmailSettings>, recipient: Recipient | undefined): EmailPayload {
  if (!recipient || sameRecipient(payload.recipient, recipient)) return payload
  const variant = announcement.variants.find((each) => each.language === payload.language) ?? primaryVariant(announcement)
  return renderEmail(announcement, variant, channel, payload, recipient)
}

function sameRecipient(a: Recipient | undefined, b: Recipient): boolean {
  return a !== undefined && a.id === b.id && a.email === b.email && a.name === b.name
}

interface EmailContent {
  headline: string
  summary: string
  description: string
  instruction?: string
  area?: string
  expires?: string
  web?: string
  capUrl?: string
  senderName: string
  recipientAddress: string
  unsubscribe: UnsubscribeTarget
}

/** "[Severe] Flood warning", with "[EXERCISE] " before it for anything but an Actual alert; a Cancel without the severity. */
function subjectOf(announcement: Announcement, variant: Variant): string {
  const status = isDrill(announcement.status) ? `[${drillWord(announcement.status)}] ` : ''
  const headline = headerText(variant.headline)
  // A Cancel withdraws an alarm: no severity before "Cancelled: …".
  const severity = announcement.msgType === 'Cancel' ? '' : `[${severityLabel(announcement)}] `
  return headerText(`${status}${severity}${followUpLead(announcement, headline, variant.language)}${headline}`)
}

/** CAP's own word; "Unknown" would read as a broken alert to a resident. */
function severityLabel(announcement: Announcement): string {
  return announcement.severity === 'Unknown' ? 'Alert' : announcement.severity
}

function textBody(content: EmailContent): string {
  const lines = [content.headline, content.summary, '', content.description]
  if (content.instruction) lines.push('', `What to do:\n${content.instruction}`)
  const facts: string[] = []
  if (content.area) facts.push(`Area: ${content.area}`)
  if (content.expires) facts.push(`Expires: ${content.expires}`)
  if (content.web) facts.push(`More information: ${content.web}`)
  if (content.capUrl) facts.push(`CAP alert: ${content.capUrl}`)
  if (facts.length) lines.push('', ...facts)
  // "-- " (with the space) is the signature separator mail clients recognise.
  lines.push('', '-- ', `Sent by ${content.senderName} to ${content.recipientAddress}.`, content.unsubscribe.text)
  return lines.join('\n')
}

function htmlBody(content: EmailContent, language: string): string {
  const paragraphs = (text: string) =>
    text
      .split(/\n{2,}/)
      .map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, '<br>\n')}</p>`)
      .join('\n')
  const body: string[] = [
    `<p style="margin:0;font-weight:bold;color:${severityColour(content.summary)}">${escapeHtml(content.summary)}</p>`,
    `<h1 style="font-size:1.4em;margin:0.3em 0 0.6em">${escapeHtml(content.headline)}</h1>`,
    paragraphs(content.description),
  ]
  if (content.instruction) body.push('<h2 style="font-size:1.1em">What to do</h2>', paragraphs(content.instruction))
  const facts: string[] = []
  if (content.area) facts.push(`<li><strong>Area:</strong> ${escapeHtml(content.area)}</li>`)
  if (content.expires) facts.push(`<li><strong>Expires:</strong> ${escapeHtml(content.expires)}</li>`)
  if (content.web) facts.push(`<li><strong>More information:</strong> ${link(content.web)}</li>`)
  if (content.capUrl) facts.push(`<li><strong>CAP alert:</strong> ${link(content.capUrl)}</li>`)
  if (facts.length) body.push(`<ul>\n${facts.join('\n')}\n</ul>`)
  body.push(
    '<hr>',
    `<p style="font-size:0.85em;color:#555">Sent by ${escapeHtml(content.senderName)} to ${escapeHtml(content.recipientAddress)}.<br>\n${content.unsubscribe.html}</p>`,
  )
  return [
    '<!DOCTYPE html>',
    `<html lang="${escapeHtml(language)}">`,
    `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(content.headline)}</title></head>`,
    '<body style="font-family:sans-serif;line-height:1.5;color:#111;max-width:40em">',
    ...body,
    '</body>',
    '</html>',
  ].join('\n')
}

function severityColour(summary: string): string {
  if (summary.startsWith('Extreme') || summary.startsWith('Severe')) return '#b00020'
  if (summary.startsWith('Moderate')) return '#a15c00'
  return '#333'
}

/** A link only for http(s) URLs; anything else (javascript:, data:) stays inert text. */
function link(url: string): string {
  return /^https?:\/\//i.test(url) ? `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>` : escapeHtml(url)
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}


/** "9 May 2024, 15:30 UTC": built by hand, so it does not depend on the ICU data Node ships. */
// Every recipient's message is rendered, all with the same expiry: formatting it (and above all
// making a formatter) each time cost ~100 µs a message (bench: e-mail).
const expiryFormats = new Map<string, Intl.DateTimeFormat>()
let lastExpiry = {epochMs: NaN, timeZone: '', text: ''}

/** "12 Jul 2027, 18:00 BST": in the configured zone, as the officer typed it and residents live it. */
function formatExpiry(epochMs: number, timeZone: string): string {
  if (lastExpiry.epochMs === epochMs && lastExpiry.timeZone === timeZone) return lastExpiry.text
  let format = expiryFormats.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {timeZone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short'})
    expiryFormats.set(timeZone, format)
  }
  const parts = format.formatToParts(new Date(epochMs))
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? ''
  const text = `${get('day')} ${get('month')} ${get('year')}, ${get('hour')}:${get('minute')} ${get('timeZoneName')}`
  lastExpiry = {epochMs, timeZone, text}
  return text
}

interface UnsubscribeTarget {
  url: string
  text: string
  html: string
}

function unsubscribeTarget(channel: ChannelConfig<EmailSettings>, from: Mailbox, address: string): UnsubscribeTarget {
  if (channel.unsubscribeUrl) {
    const url = channel.unsubscribeUrl.split('{contact}').join(encodeURIComponent(address))
    return {url, text: `To unsubscribe: ${url}`, html: `To unsubscribe: ${link(url)}`}
  }
  const url = `mailto:${from.address}?subject=unsubscribe`
  const text = `To unsubscribe, email ${from.address} with the subject "unsubscribe".`
  return {url, text, html: `To unsubscribe, email <a href="${escapeHtml(url)}">${escapeHtml(from.address)}</a> with the subject "unsubscribe".`}
}

// Header safety.

const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g

/** One line for a header: CR, LF and every other control character become a space. */
function headerText(text: string): string {
  return text.replace(controlCharacters, ' ').replace(/ {2,}/g, ' ').trim()
}

/** An address never has spaces or controls; whatever is left must still pass isEmailAddress. */
function addressText(text: string): string {
  return text.replace(controlCharacters, '').trim()
}

/** Body text keeps its line breaks (LF only) and tabs; other controls and escapes go. */
function bodyText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
}

/** `Name <address>`, `"Name" <address>` or a bare address; undefined when there is no valid address. */
export function parseMailbox(text: string): Mailbox | undefined {
  const flat = headerText(text)
  const angled = /^(.*?)\s*<([^<>]*)>$/.exec(flat)
  const name = angled ? angled[1]!.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1').trim() : ''
  const address = addressText(angled ? angled[2]! : flat)
  return isEmailAddress(address) ? {name, address} : undefined
}

export function isUnsubscribeTemplate(text: string): boolean {
  if (!text.includes('{contact}')) return false
  try {
    const {protocol} = new URL(text.split('{contact}').join('contact'))
    return protocol === 'https:' || protocol === 'http:' || protocol === 'mailto:'
  } catch {
    return false
  }
}

/** `<{deliveryId}@crier.{from domain}>`: the same delivery always gets the same Message-ID. */
export function messageIdFor(deliveryId: string, fromAddress: string): string {
  const local = deliveryId.replace(/[^A-Za-z0-9._-]/g, '-')
  const rawDomain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1).toLowerCase()
  let domain = rawDomain
  try {
    // Punycode for an internationalised domain: Message-ID must be ASCII.
    domain = new URL(`http://${rawDomain}`).hostname
  } catch {
    // The schema admitted the address; keep the domain as written.
  }
  return `<${local}@crier.${domain}>`
}
