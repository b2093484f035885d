import {connect, type Socket} from 'node:net'
import type {Transporter} from 'nodemailer'
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js'
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js'
import {z} from 'zod'
import {primaryVariant, type Announcement, type Variant} from '../core/announcement.js'
import {parseDuration} from '../core/duration.js'
import {oneLine} from '../core/terminal-text.js'
import {redact} from '../config/secrets.js'
import type {ChannelConfig, Driver, Receipt, Recipient, Rendered} from './driver.js'
import {PermanentSendError, TransientSendError} from './errors.js'

// Email to each subscriber of the channel's audience over SMTP (nodemailer), as multipart text
// + HTML. One pooled SMTP transport per channel per process keeps `maxConnections` connections
// open between messages. SMTP has no idempotency: a resend is recognisable by its stable
// Message-ID (derived from the delivery id) but would arrive twice, so the driver declares
// `idempotent: false` and a send in doubt ends `unknown`, never blindly repeated.
//
// Header injection: every value that reaches a header (subject, names, addresses) goes through
// headerText(), which turns CR, LF and every other control character into a space, and the
// SMTP envelope is set explicitly to the one recipient, so no text can add a recipient.

const smtpUrlMessage = 'expected an smtp:// or smtps:// URL'
const mailboxMessage = 'expected a mailbox with an address, e.g. "North Wales Police <alerts@northwales.example>"'

const emailSettings = z.object({
  /** smtp://user:password@host:port (STARTTLS when offered; required to send credentials off loopback) or smtps:// (TLS from the start, port 465). */
  smtp: z.string().refine((text) => parseSmtpUrl(text) !== undefined, smtpUrlMessage),
  /** RFC 5322 mailbox: "North Wales Police <alerts@northwales.example>". */
  from: z.string().refine((text) => parseMailbox(text) !== undefined, mailboxMessage),
  /** The subscriber list this channel sends to. */
  audience: z.string().min(1, 'expected the name of a subscriber list'),
  /** SMTP connections kept open at once; most providers allow 5–20 per account. */
  maxConnections: z.number().int().min(1).max(64).default(5),
  replyTo: z.string().refine((text) => parseMailbox(text) !== undefined, mailboxMessage).optional(),
  /** Where a subscriber unsubscribes; `{contact}` becomes their address. Default: a mailto: to `from`. */
  unsubscribeUrl: z
    .string()
    .refine(isUnsubscribeTemplate, 'expected an http(s) or mailto: URL containing {contact}, e.g. https://northwales.example/unsubscribe?email={contact}')
    .optional(),
})
export type EmailSettings = z.infer<typeof emailSettings>

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
}

/** Shown by preview when no subscriber is given; never sent to. */
const placeholderRecipient: Recipient = {id: 'preview', email: 'resident@example.invalid'}
const defaultTimeoutMs = 10_000
const maxReasonChars = 200

export const email: Driver<EmailSettings, EmailPayload> = {
  type: 'email',
  kind: 'per-recipient',
  config: emailSettings,
  capabilities: {counts: 'characters', threads: false, media: false, idempotent: false, reconcile: false, contact: 'email'},

  render(announcement, variant, context) {
    const payload = renderEmail(announcement, variant, context.channel, context.capUrl, context.recipient)
    return {
      parts: [
        {label: 'Subject', text: payload.subject},
        {label: 'Text body', text: payload.text},
        {label: 'HTML body', text: payload.html},
      ],
      payload,
    } satisfies Rendered<EmailPayload>
  },

  async send(rendered, context) {
    const {channel} = context
    const payload = forRecipient(rendered, context.announcement, channel, context.recipient)
    if (!payload.recipient) throw new PermanentSendError('no subscriber to send to: email deliveries are per recipient')
    if (!isEmailAddress(payload.to.address)) throw new PermanentSendError(`subscriber ${payload.recipient.id} has no usable email address`)
    if (context.signal.aborted) throw new TransientSendError('request aborted')
    const messageId = messageIdFor(context.deliveryId, payload.from.address)
    const endpoint = endpointOf(channel)
    try {
      const transport = await pooledTransport(channel, endpoint)
      await transport.send(
        {
          from: payload.from,
          to: payload.to,
          replyTo: payload.replyTo,
          subject: payload.subject,
          text: payload.text,
          html: payload.html,
          messageId,
          date: new Date(context.now()),
          headers: payload.headers,
          // The envelope is ours, not derived from headers: exactly one recipient, always.
          envelope: {from: payload.from.address, to: [payload.to.address]},
          disableFileAccess: true,
          disableUrlAccess: true,
        },
        context.signal,
      )
    } catch (error) {
      throw classifySmtpError(error, channel, endpoint)
    }
    return {providerId: messageId} satisfies Receipt
  },

  async check(channel, context) {
    const endpoint = endpointOf(channel)
    const where = `SMTP ${endpoint.display}`
    const hasCredentials = Boolean(endpoint.user || endpoint.password)
    try {
      const nodemailer = await loadNodemailer()
      // A one-off connection, not the pool: check must leave nothing open behind it. forceAuth
      // makes a server that offers no AUTH fail the check instead of "accepting" credentials it never saw.
      const transport = nodemailer.createTransport({...transportOptions(channel, endpoint), forceAuth: hasCredentials} as SMTPTransport.Options)
      try {
        await untilAborted(transport.verify(), context.signal)
      } finally {
        transport.close()
      }
      return {ok: true, detail: hasCredentials ? `${where}: credentials accepted` : `${where}: reachable; no credentials configured`}
    } catch (error) {
      return {ok: false, detail: `${where}: ${classifySmtpError(error, channel, endpoint).message}`}
    }
  },

  close: () => closeEmailTransports(),
}

// Rendering. Pure: the same announcement, variant, channel and recipient give the same payload.

function renderEmail(announcement: Announcement, variant: Variant, channel: ChannelConfig<EmailSettings>, capUrl: string | undefined, recipient: Recipient | undefined): EmailPayload {
  const from = parseMailbox(channel.from) ?? {name: '', address: ''}
  const replyTo = channel.replyTo === undefined ? undefined : parseMailbox(channel.replyTo)
  const shown = recipient ?? placeholderRecipient
  const to: Mailbox = {name: headerText(shown.name ?? ''), address: addressText(shown.email ?? '')}
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
    summary: [severityLabel(announcement), bodyText(announcement.event)].filter(Boolean).join(' · '),
    description: bodyText(variant.description),
    instruction: variant.instruction ? bodyText(variant.instruction) : undefined,
    area: announcement.area ? bodyText(announcement.area.description) : undefined,
    expires: announcement.expiresAt === undefined ? undefined : formatUtc(announcement.expiresAt),
    web: announcement.web,
    capUrl,
    senderName,
    recipientAddress: to.address,
    unsubscribe,
  }
  return {
    from,
    ...(replyTo ? {replyTo} : {}),
    to,
    subject: subjectOf(announcement, variant),
    text: textBody(content),
    html: htmlBody(content, variant.language),
    headers,
    ...(recipient ? {recipient} : {}),
    language: variant.language,
    ...(capUrl ? {capUrl} : {}),
  }
}

/**
 * The payload for the subscriber being sent to. The dispatcher may have rendered once per
 * announcement (for the placeholder); then the same render runs again for the real recipient,
 * so what goes out is still exactly what render produces.
 */
function forRecipient(payload: EmailPayload, announcement: Announcement, channel: ChannelConfig<EmailSettings>, recipient: Recipient | undefined): EmailPayload {
  if (!recipient || sameRecipient(payload.recipient, recipient)) return payload
  const variant = announcement.variants.find((each) => each.language === payload.language) ?? primaryVariant(announcement)
  return renderEmail(announcement, variant, channel, payload.capUrl, recipient)
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

/** "[Severe] Flood warning", with "[EXERCISE] " before it for anything but an Actual alert. */
function subjectOf(announcement: Announcement, variant: Variant): string {
  const status = announcement.status === 'Actual' ? '' : `[${announcement.status.toUpperCase()}] `
  const kind = announcement.msgType === 'Update' ? 'Update: ' : announcement.msgType === 'Cancel' ? 'Cancelled: ' : ''
  return headerText(`${status}[${severityLabel(announcement)}] ${kind}${variant.headline}`)
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

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** "9 May 2024, 15:30 UTC": built by hand, so it does not depend on the ICU data Node ships. */
function formatUtc(epochMs: number): string {
  const date = new Date(epochMs)
  const pad = (value: number) => String(value).padStart(2, '0')
  return `${date.getUTCDate()} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`
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
export function headerText(text: string): string {
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

// Deliberately simple: no quoted local parts, no comments, no IP literals. Unicode letters are
// allowed (SMTPUTF8); the characters that structure a header (<>()[],;:"\ and spaces) are not.
const emailAddress = /^[^\s@<>()[\]\\,;:"\u0000-\u001f\u007f-\u009f]+@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*$/u

function isEmailAddress(text: string): boolean {
  return text.length <= 254 && emailAddress.test(text)
}

/** `Name <address>`, `"Name" <address>` or a bare address; undefined when there is no valid address. */
export function parseMailbox(text: string): Mailbox | undefined {
  const flat = headerText(text)
  const angled = /^(.*?)\s*<([^<>]*)>$/.exec(flat)
  const name = angled ? angled[1]!.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1').trim() : ''
  const address = addressText(angled ? angled[2]! : flat)
  return isEmailAddress(address) ? {name, address} : undefined
}

function isUnsubscribeTemplate(text: string): boolean {
  if (!text.includes('{contact}')) return false
  try {
    const {protocol} = new URL(text.split('{contact}').join('contact'))
    return protocol === 'https:' || protocol === 'http:' || protocol === 'mailto:'
  } catch {
    return false
  }
}

/** `<{deliveryId}@crier.{from domain}>`: the same delivery always gets the same Message-ID. */
function messageIdFor(deliveryId: string, fromAddress: string): string {
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

// The SMTP endpoint.

interface SmtpEndpoint {
  host: string
  port: number
  secure: boolean
  user?: string
  password?: string
  /** host:port, for messages. */
  display: string
}

function parseSmtpUrl(text: string): SmtpEndpoint | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') return undefined
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (!host) return undefined
  const secure = url.protocol === 'smtps:'
  const port = url.port ? Number(url.port) : secure ? 465 : 587
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value)
    } catch {
      return value
    }
  }
  return {
    host,
    port,
    secure,
    ...(url.username ? {user: decode(url.username)} : {}),
    ...(url.password ? {password: decode(url.password)} : {}),
    display: `${url.hostname}:${port}`,
  }
}

function endpointOf(channel: ChannelConfig<EmailSettings>): SmtpEndpoint {
  const endpoint = parseSmtpUrl(channel.smtp)
  // The schema refused anything else when the config loaded.
  if (!endpoint) throw new PermanentSendError(smtpUrlMessage)
  return endpoint
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}

function transportOptions(channel: ChannelConfig<EmailSettings>, endpoint: SmtpEndpoint): SMTPTransport.Options {
  const timeoutMs = parseDuration(channel.timeout) ?? defaultTimeoutMs
  const hasCredentials = Boolean(endpoint.user || endpoint.password)
  return {
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    ...(hasCredentials ? {auth: {user: endpoint.user ?? '', pass: endpoint.password ?? ''}} : {}),
    // Credentials never cross a network in clear text: off loopback, smtp:// must upgrade with STARTTLS.
    requireTLS: hasCredentials && !endpoint.secure && !isLoopback(endpoint.host),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    getSocket: connectWithoutDelay(endpoint),
    logger: false,
    debug: false,
  }
}

/**
 * nodemailer connects with Nagle's algorithm on and ends DATA with a small separate write, so
 * every message waits for the server's delayed ACK (40 ms on Linux). Measured: 500 messages over
 * 5 pooled connections to smtp-server on loopback, 4.8 s → 1.0 s with noDelay. The socket is
 * handed over still connecting (nodemailer's `connection` option, its proxy hook): a connect
 * error then reaches nodemailer as a socket error, which its pool recovers from; failing
 * getSocket's callback instead would leave a dead slot in the pool.
 */
function connectWithoutDelay(endpoint: SmtpEndpoint) {
  return (_options: unknown, callback: (error: Error | null, socketOptions: {connection: Socket}) => void) => {
    callback(null, {connection: connect({host: endpoint.host, port: endpoint.port, noDelay: true, keepAlive: true})})
  }
}

// One pooled transport per channel per process. Sends wait for a free connection here rather
// than in nodemailer's queue: a send given up on (abort, closeEmailTransports) while waiting
// then never goes out later behind our back.

interface PooledTransport {
  send(message: SMTPPool.MailOptions, signal: AbortSignal): Promise<void>
  close(): void
}

type Nodemailer = typeof import('nodemailer')

let nodemailerLoading: Promise<Nodemailer> | undefined

/** nodemailer takes 45–55 ms to load (measured, Node 20); commands that never send never pay it. */
function loadNodemailer(): Promise<Nodemailer> {
  nodemailerLoading ??= import('nodemailer').catch((error: unknown) => {
    nodemailerLoading = undefined
    throw error
  })
  return nodemailerLoading
}

const transports = new Map<string, Promise<PooledTransport>>()

function pooledTransport(channel: ChannelConfig<EmailSettings>, endpoint: SmtpEndpoint): Promise<PooledTransport> {
  const key = [channel.name, channel.smtp, channel.maxConnections, channel.timeout].join('\u0000')
  let transport = transports.get(key)
  if (!transport) {
    transport = loadNodemailer().then((nodemailer) => createPooledTransport(nodemailer, channel, endpoint))
    transports.set(key, transport)
    transport.catch(() => transports.delete(key))
  }
  return transport
}

function createPooledTransport(nodemailer: Nodemailer, channel: ChannelConfig<EmailSettings>, endpoint: SmtpEndpoint): PooledTransport {
  const options: SMTPPool.Options & {maxRequeues: number} = {
    ...(transportOptions(channel, endpoint) as SMTPPool.Options),
    pool: true,
    maxConnections: channel.maxConnections,
    // nodemailer would silently resend a message whose connection closed mid-send; that is a
    // possible duplicate, so the engine decides instead (retry, or `unknown`).
    maxRequeues: 0,
  }
  const mailer: Transporter = nodemailer.createTransport(options)
  let free = channel.maxConnections
  let isClosed = false
  const waiting = new Set<{start: () => void; cancel: (error: Error) => void}>()

  const acquire = (signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (isClosed) return reject(new TransientSendError('the SMTP connection pool was closed'))
      if (signal.aborted) return reject(new TransientSendError('request aborted'))
      if (free > 0) {
        free--
        return resolve()
      }
      const onAbort = () => entry.cancel(new TransientSendError('request aborted'))
      const entry = {
        start: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        },
        cancel: (error: Error) => {
          waiting.delete(entry)
          signal.removeEventListener('abort', onAbort)
          reject(error)
        },
      }
      waiting.add(entry)
      signal.addEventListener('abort', onAbort, {once: true})
    })

  const release = () => {
    const [next] = waiting
    if (next) {
      waiting.delete(next)
      next.start()
    } else {
      free++
    }
  }

  return {
    async send(message, signal) {
      await acquire(signal)
      try {
        // An abort cannot recall a message nodemailer is already writing; the caller is told at
        // once and (non-idempotent driver) the engine records the delivery as in doubt.
        await untilAborted(mailer.sendMail(message), signal)
      } finally {
        release()
      }
    },
    close() {
      isClosed = true
      for (const entry of [...waiting]) entry.cancel(new TransientSendError('the SMTP connection pool was closed'))
      mailer.close()
    },
  }
}

/** Closes every pooled SMTP transport of this process, so it can exit; the engine calls it when a run ends. */
export async function closeEmailTransports(): Promise<void> {
  const pending = [...transports.values()]
  transports.clear()
  const settled = await Promise.allSettled(pending)
  for (const result of settled) if (result.status === 'fulfilled') result.value.close()
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined)
    return Promise.reject(new TransientSendError('request aborted'))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new TransientSendError('request aborted'))
    signal.addEventListener('abort', onAbort, {once: true})
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

// Classification.

/** What nodemailer attaches to its errors. */
interface SmtpError {
  code?: string
  responseCode?: number
  response?: string
  command?: string
  message?: string
}

/** SMTP replies say which step failed; "recipient refused: 550 …" says more than "550 …". */
const stepNames: Record<string, string> = {
  CONN: 'the server closed the connection',
  EHLO: 'the server refused the greeting',
  HELO: 'the server refused the greeting',
  'MAIL FROM': 'sender refused',
  'RCPT TO': 'recipient refused',
  DATA: 'message refused',
  RSET: 'the server refused to reset the session',
}

/**
 * 4xx replies and connection trouble are transient; 5xx replies are permanent; a refused login
 * is permanent and says so. Every message is scrubbed of the SMTP password.
 */
function classifySmtpError(error: unknown, channel: ChannelConfig<EmailSettings>, endpoint: SmtpEndpoint): Error {
  if (error instanceof TransientSendError || error instanceof PermanentSendError) return error
  const smtp = (error && typeof error === 'object' ? error : {message: String(error)}) as SmtpError
  const clean = (text: string) => truncate(scrub(oneLine(text, 1000), endpoint))
  const reply = smtp.response ? oneLine(smtp.response, 1000) : undefined
  const code = smtp.responseCode
  if (smtp.code === 'EAUTH') {
    if (code !== undefined && code >= 400 && code < 500) return new TransientSendError(clean(`the SMTP server could not check the credentials now: ${reply}`))
    return new PermanentSendError(clean(`credentials refused by the SMTP server${reply ? `: ${reply}` : ` (${smtp.message ?? 'authentication failed'})`} — check the user and password in the smtp URL`))
  }
  if (code !== undefined && code >= 400) {
    const step = stepNames[smtp.command ?? ''] ?? 'SMTP error'
    const reason = clean(`${step}: ${reply ?? code}`)
    return code < 500 ? new TransientSendError(reason) : new PermanentSendError(reason)
  }
  // nodemailer refused the message itself (no recipients, invalid address): no retry can fix it.
  if ((smtp.code === 'EENVELOPE' || smtp.code === 'EMESSAGE') && smtp.command === 'API') return new PermanentSendError(clean(smtp.message ?? smtp.code))
  if (smtp.code === 'EREQUIRETLS') return new PermanentSendError(clean(smtp.message ?? smtp.code))
  return new TransientSendError(clean(networkReason(smtp, channel)))
}

const networkReasons: Array<[RegExp, string]> = [
  [/ECONNREFUSED/, 'connection refused'],
  [/ECONNRESET/, 'connection reset'],
  [/EPIPE/, 'connection closed'],
  [/ENOTFOUND|EAI_AGAIN/, 'SMTP host not found'],
  [/EHOSTUNREACH|ENETUNREACH/, 'SMTP host unreachable'],
  [/closed unexpectedly|maximum number of retries after connection was closed/i, 'connection closed unexpectedly'],
  [/pool was closed/i, 'the SMTP connection pool was closed'],
]

function networkReason(error: SmtpError, channel: ChannelConfig<EmailSettings>): string {
  const message = error.message ?? String(error.code)
  if (error.code === 'ETIMEDOUT') {
    const timeoutMs = parseDuration(channel.timeout) ?? defaultTimeoutMs
    // nodemailer's connect, greeting and idle-socket timers all run at once; which fires first says little.
    return `timed out after ${timeoutMs} ms`
  }
  for (const [pattern, reason] of networkReasons) if (pattern.test(message)) return reason
  if (error.code === 'ETLS') return `TLS failed: ${message}`
  return error.code && !message.includes(error.code) ? `${error.code}: ${message}` : message
}

/**
 * Removes the SMTP password (as written and decoded) and every `${ENV}` secret. The user is
 * removed too when it looks like a token (Postmark and others use the API token as both).
 */
function scrub(text: string, endpoint: SmtpEndpoint): string {
  const secrets = new Set<string>()
  if (endpoint.password) secrets.add(endpoint.password).add(encodeURIComponent(endpoint.password))
  if (endpoint.user && endpoint.user.length >= 20) secrets.add(endpoint.user).add(encodeURIComponent(endpoint.user))
  let result = redact(text)
  for (const secret of [...secrets].filter((each) => each.length > 0).sort((a, b) => b.length - a.length)) {
    result = result.split(secret).join('***')
  }
  return result
}

/** Cut after scrubbing, so no secret is half-kept. */
function truncate(text: string): string {
  const chars = Array.from(text)
  return chars.length > maxReasonChars ? `${chars.slice(0, maxReasonChars).join('')}…` : text
}
