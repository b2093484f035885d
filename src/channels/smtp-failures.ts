import {oneLine} from '../core/terminal-text.js'
import {redact, redactValues} from '../config/secrets.js'
import type {ChannelConfig} from './driver.js'
import type {EmailSettings} from './email.js'
import {ChannelUnusableError, InDoubtSendError, PermanentSendError, TransientSendError} from './errors.js'
import type {SmtpEndpoint} from './smtp-pool.js'
import {channelTimeoutMs} from './timeout.js'

// What an SMTP failure means for the delivery (the driver contract's classes), said in one
// line an officer can act on, without the SMTP password.

const maxReasonChars = 200

/** What nodemailer attaches to its errors. */
interface SmtpError {
  code?: string
  responseCode?: number
  response?: string
  command?: string
  message?: string
  /** Set by smtp-pool.ts: the failure came after the whole message was handed to the connection. */
  messageHandedOver?: boolean
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
 * 4xx replies and connection trouble are transient — but no reply after the whole message went
 * is in doubt (it may have arrived); 5xx replies are permanent; a refused login
 * makes the whole channel unusable (no recipient can be reached with it). Every message is
 * scrubbed of the SMTP password.
 */
export function classifySmtpError(error: unknown, channel: ChannelConfig<EmailSettings>, endpoint: SmtpEndpoint): Error {
  if (error instanceof TransientSendError || error instanceof PermanentSendError || error instanceof ChannelUnusableError) return error
  const smtp = (error && typeof error === 'object' ? error : {message: String(error)}) as SmtpError
  // Flattened, scrubbed, then cut: a cut before the scrub could keep half a secret.
  const clean = (text: string) => truncate(scrub(oneLine(text, Number.POSITIVE_INFINITY), endpoint))
  const reply = smtp.response || undefined
  const code = smtp.responseCode
  if (smtp.code === 'EAUTH') {
    if (!refusesEveryMessage(error)) return new TransientSendError(clean(`the SMTP server could not check the credentials now: ${reply}`))
    return new ChannelUnusableError(clean(`credentials refused by the SMTP server${reply ? `: ${reply}` : ` (${smtp.message ?? 'authentication failed'})`} — check the user and password in the smtp URL`))
  }
  // 530: the server wants a login the URL does not give — no recipient can get through.
  if (code === 530) return new ChannelUnusableError(clean(`the SMTP server requires a login: ${reply ?? code} — put the user and password in the smtp URL`))
  if (code !== undefined && code >= 400) {
    const step = stepNames[smtp.command ?? ''] ?? 'SMTP error'
    const reason = clean(`${step}: ${reply ?? code}`)
    return code < 500 ? new TransientSendError(reason) : new PermanentSendError(reason)
  }
  // nodemailer refused the message itself (no recipients, invalid address): no retry can fix it.
  if ((smtp.code === 'EENVELOPE' || smtp.code === 'EMESSAGE') && smtp.command === 'API') return new PermanentSendError(clean(smtp.message ?? smtp.code))
  if (smtp.code === 'EREQUIRETLS') return new PermanentSendError(clean(smtp.message ?? smtp.code))
  const reason = clean(networkReason(smtp, channel))
  // The whole message went and then no reply came (a timeout, a dropped connection): the classic
  // SMTP duplicate — a relay has usually queued it before its 250 was lost. Sent again it would
  // arrive twice (or eight times): in doubt, for the officer, and a Cancel goes to it.
  if (smtp.messageHandedOver) return new InDoubtSendError(`${reason} after the whole message was sent — it may have arrived; not sent again`)
  return new TransientSendError(reason)
}

/**
 * The login was refused (not "try later": a 4xx), or the server wants one the URL does not give
 * (530): no message can get through on any connection, so none should try again with it.
 */
export function refusesEveryMessage(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false
  const {code, responseCode} = error as SmtpError
  if (responseCode === 530) return true
  return code === 'EAUTH' && !(responseCode !== undefined && responseCode >= 400 && responseCode < 500)
}

/** The failure came after the server took the login: at the sender, a recipient or the message. */
export function passedLogin(error: unknown): boolean {
  const command = error && typeof error === 'object' ? (error as SmtpError).command : undefined
  return command === 'MAIL FROM' || command === 'RCPT TO' || command === 'DATA'
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
    const timeoutMs = channelTimeoutMs(channel)
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
  const secrets: string[] = []
  if (endpoint.password) secrets.push(endpoint.password)
  if (endpoint.user && endpoint.user.length >= 20) secrets.push(endpoint.user)
  return redactValues(redact(text), secrets)
}

/** Cut after scrubbing, so no secret is half-kept. */
function truncate(text: string): string {
  const chars = Array.from(text)
  return chars.length > maxReasonChars ? `${chars.slice(0, maxReasonChars).join('')}…` : text
}
