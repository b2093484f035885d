import type {ChannelConfig, CheckResult, Receipt, SendContext} from './driver.js'
import {ChannelUnusableError, PermanentSendError, RateLimitedError, RecipientOptedOutError, TransientSendError} from './errors.js'
import type {HttpClient, HttpResponse} from './http.js'
import {stripTerminalControls} from '../core/terminal-text.js'
import {firstBodyLine, gatewayInDoubt, safeReason, urlSecrets, headerValue, networkReason, parseRetryAfter, parseJsonObject, unansweredSend} from './http-failures.js'
import {channelTimeoutMs} from './timeout.js'
import type {SmsPayload, SmsSettings} from './sms.js'

// The SMS channel on the wire: the Twilio Messages API (or a gateway that speaks it) and the
// generic JSON gateway — one request per message, its answer classified per the driver contract,
// the provider's words made safe to store and show (no credentials, the number masked).

/** Twilio sends from a Messaging Service's pool when From is replaced by MessagingServiceSid. */
export const messagingServiceSid = /^MG[0-9a-f]{32}$/i
/** Twilio's 429 (error 20429: too many concurrent requests) clears within a second or so. */
const twilioRateLimitMs = 1000
/** Twilio 21611: the sender's queue is full (it holds about 4 hours of sends); let it drain. */
const queueFullPauseMs = 60_000
/** Generic gateways: as the webhook driver, when a 429 does not say how long. */
const genericRateLimitMs = 30_000

// Twilio.

export async function sendTwilio(payload: SmsPayload, to: string, context: SendContext<SmsSettings>): Promise<Receipt> {
  const {channel} = context
  const headers = {
    ...twilioAuthHeaders(channel),
    'Content-Type': 'application/x-www-form-urlencoded',
  }
  let response: HttpResponse
  try {
    const body = `To=${encodeURIComponent(to)}&${formAfterTo(payload, channel)}`
    response = await context.http.request(twilioMessagesUrl(channel), {timeoutMs: channelTimeoutMs(channel), signal: context.signal, method: 'POST', headers, body})
  } catch (error) {
    throw unansweredSend(error, channelSecrets(channel))
  }
  return classifyTwilioResponse(response, to, context)
}

const formTails = new WeakMap<ChannelConfig<SmsSettings>, {from: string; body: string; tail: string}>()

/**
 * The form after `To` (From or MessagingServiceSid, Body, StatusCallback), which is the same for
 * everyone reading one text: encoded once, not once per recipient (~6 µs a message at 50,000).
 */
function formAfterTo(payload: SmsPayload, channel: ChannelConfig<SmsSettings>): string {
  const from = payload.from ?? channel.from!
  const known = formTails.get(channel)
  if (known?.from === from && known.body === payload.body) return known.tail
  const form = new URLSearchParams()
  form.set(messagingServiceSid.test(from) ? 'MessagingServiceSid' : 'From', from)
  form.set('Body', payload.body)
  if (channel.statusCallback) form.set('StatusCallback', channel.statusCallback)
  const tail = form.toString()
  formTails.set(channel, {from, body: payload.body, tail})
  return tail
}

function twilioUrl(channel: ChannelConfig<SmsSettings>, path: string): string {
  return `${channel.baseUrl.replace(/\/+$/, '')}/2010-04-01${path}`
}

const messagesUrls = new WeakMap<ChannelConfig<SmsSettings>, string>()

function twilioMessagesUrl(channel: ChannelConfig<SmsSettings>): string {
  let url = messagesUrls.get(channel)
  if (!url) {
    url = twilioUrl(channel, `/Accounts/${encodeURIComponent(channel.accountSid!)}/Messages.json`)
    messagesUrls.set(channel, url)
  }
  return url
}

const authHeaders = new WeakMap<ChannelConfig<SmsSettings>, Readonly<Record<string, string>>>()

/** The same for every message on a channel, so made once per channel rather than per send. */
function twilioAuthHeaders(channel: ChannelConfig<SmsSettings>): Readonly<Record<string, string>> {
  let headers = authHeaders.get(channel)
  if (!headers) {
    headers = Object.freeze({Authorization: `Basic ${basicCredentials(channel)}`, Accept: 'application/json', 'User-Agent': 'crier'})
    authHeaders.set(channel, headers)
  }
  return headers
}

function basicCredentials(channel: ChannelConfig<SmsSettings>): string {
  return Buffer.from(`${channel.accountSid ?? ''}:${channel.authToken ?? ''}`).toString('base64')
}

/** Twilio's error document, https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions */
interface TwilioError {
  code?: number
  message?: string
}

/** Twilio error codes (https://www.twilio.com/docs/api/errors) that no retry can change. */
const twilioPermanentCodes = new Set([
  21211, // invalid 'To' phone number
  21614, // 'To' is not a mobile number
  21612, // cannot route to this number
  21408, // sending to this region is not enabled on the account
  21606, // 'From' cannot send SMS
  21217, // phone number does not appear to be valid
])

function classifyTwilioResponse(response: HttpResponse, to: string, context: SendContext<SmsSettings>): Receipt {
  const {status} = response
  const {channel} = context
  if (status >= 200 && status < 300) {
    const sid = jsonField(response.body, 'sid')
    return sid ? {providerId: sid} : {}
  }
  const error = parseTwilioError(response.body)
  const reason = twilioReason(response, error, to, channel)
  const retryAfterMs = parseRetryAfter(headerValue(response, 'retry-after'), context.now())
  if (status === 429 || error.code === 20429) throw new RateLimitedError(reason, retryAfterMs ?? twilioRateLimitMs)
  if (error.code === 21611) throw new RateLimitedError(reason, retryAfterMs ?? queueFullPauseMs)
  if (error.code === 21610) throw new RecipientOptedOutError(reason)
  if (status === 401 || error.code === 20003) throw new ChannelUnusableError(credentialsRefused(error))
  if (error.code !== undefined && twilioPermanentCodes.has(error.code)) throw new PermanentSendError(reason)
  const inDoubt = gatewayInDoubt(status, reason, 'the text')
  if (inDoubt) throw inDoubt
  if (status === 408 || status === 425 || status >= 500) throw new TransientSendError(reason, retryAfterMs)
  // Other 4xx (and redirects, which undici does not follow): the same request cannot succeed.
  throw new PermanentSendError(reason)
}

/** Says which settings to check; never the token, nor what the gateway said about it. */
function credentialsRefused(error: TwilioError): string {
  return `${error.code ? `Twilio ${error.code}` : 'HTTP 401'}: credentials refused — check the channel's accountSid and authToken`
}

function parseTwilioError(body: string): TwilioError {
  const parsed = parseJsonObject(body)
  if (!parsed) return {}
  const code = typeof parsed.code === 'number' ? parsed.code : typeof parsed.code === 'string' && /^\d+$/.test(parsed.code) ? Number(parsed.code) : undefined
  const message = typeof parsed.message === 'string' ? parsed.message : undefined
  return {code, message}
}

/** "Twilio 21211: Invalid 'To' Phone Number: +44…0123", safe to store and to print on a terminal. */
function twilioReason(response: HttpResponse, error: TwilioError, to: string, channel: ChannelConfig<SmsSettings>): string {
  const text = error.message ?? firstBodyLine(response.body)
  const said = text ? safeReason(maskPhone(stripTerminalControls(text).trim(), to), channelSecrets(channel)) : ''
  if (error.code !== undefined) return said ? `Twilio ${error.code}: ${said}` : `Twilio ${error.code} (HTTP ${response.status})`
  return said ? `HTTP ${response.status}: ${said}` : `HTTP ${response.status}`
}

export async function checkTwilio(channel: ChannelConfig<SmsSettings>, context: {http: HttpClient; signal: AbortSignal}): Promise<CheckResult> {
  // Fetching the account proves the credentials and sends nothing.
  const url = twilioUrl(channel, `/Accounts/${encodeURIComponent(channel.accountSid!)}.json`)
  const sendsAs = messagingServiceSid.test(channel.from!) ? 'sends through a messaging service' : `sends as ${channel.from}`
  let response: HttpResponse
  try {
    response = await context.http.request(url, {timeoutMs: channelTimeoutMs(channel), signal: context.signal, method: 'GET', headers: twilioAuthHeaders(channel)})
  } catch (error) {
    return {ok: false, detail: `unreachable: ${safeReason(networkReason(error), channelSecrets(channel))}`}
  }
  const error = parseTwilioError(response.body)
  if (response.status === 401 || error.code === 20003) return {ok: false, detail: credentialsRefused(error)}
  if (response.status !== 200) return {ok: false, detail: `unexpected answer: ${twilioReason(response, error, '', channel)}`}
  const account = parseJsonObject(response.body) ?? {}
  const name = typeof account.friendly_name === 'string' ? safeReason(stripTerminalControls(account.friendly_name), channelSecrets(channel)) : undefined
  const state = typeof account.status === 'string' ? stripTerminalControls(account.status) : 'active'
  const described = name ? `account "${name}" is ${state}` : `account is ${state}`
  // A suspended or closed account accepts the credentials and refuses every message.
  if (state !== 'active') return {ok: false, detail: `credentials accepted, but the ${described} — see the Twilio console`}
  return {ok: true, detail: `credentials accepted; ${described}; ${sendsAs}`}
}

// Generic JSON gateway.

export async function sendGeneric(payload: SmsPayload, to: string, context: SendContext<SmsSettings>): Promise<Receipt> {
  const {channel} = context
  const body = JSON.stringify({to, from: payload.from ?? channel.from, body: payload.body, reference: context.idempotencyKey})
  const headers: Record<string, string> = {
    ...genericAuthHeaders(channel),
    'Content-Type': 'application/json',
    Accept: 'application/json',
    'Idempotency-Key': context.idempotencyKey,
  }
  let response: HttpResponse
  try {
    response = await context.http.request(channel.url!, {timeoutMs: channelTimeoutMs(channel), signal: context.signal, method: 'POST', headers, body})
  } catch (error) {
    throw unansweredSend(error, channelSecrets(channel))
  }
  return classifyGenericResponse(response, to, context)
}

function genericAuthHeaders(channel: ChannelConfig<SmsSettings>): Record<string, string> {
  const headers: Record<string, string> = {'User-Agent': 'crier'}
  if (channel.token) headers.Authorization = `Bearer ${channel.token}`
  return headers
}

/** As the webhook driver: 2xx sent, 429 rate-limited, 408/425/5xx transient, the rest permanent. */
function classifyGenericResponse(response: HttpResponse, to: string, context: SendContext<SmsSettings>): Receipt {
  const {status} = response
  if (status >= 200 && status < 300) return {providerId: jsonField(response.body, 'id') ?? context.idempotencyKey}
  const line = firstBodyLine(response.body)
  const said = line ? safeReason(maskPhone(line, to), channelSecrets(context.channel)) : ''
  const reason = said ? `HTTP ${status}: ${said}` : `HTTP ${status}`
  const retryAfterMs = parseRetryAfter(headerValue(response, 'retry-after'), context.now())
  if (status === 429) throw new RateLimitedError(reason, retryAfterMs ?? genericRateLimitMs)
  if (status === 401) throw new ChannelUnusableError(`${reason} — check the channel's token`)
  const inDoubt = gatewayInDoubt(status, reason, 'the text')
  if (inDoubt) throw inDoubt
  if (status === 408 || status === 425 || status >= 500) throw new TransientSendError(reason, retryAfterMs)
  throw new PermanentSendError(reason)
}

export async function checkGeneric(channel: ChannelConfig<SmsSettings>, context: {http: HttpClient; signal: AbortSignal}): Promise<CheckResult> {
  const tokenState = `token: ${channel.token ? 'set' : 'not set'}`
  // HEAD posts nothing; any status at all proves the gateway is there and answering.
  try {
    const response = await context.http.request(channel.url!, {timeoutMs: channelTimeoutMs(channel), signal: context.signal, method: 'HEAD', headers: genericAuthHeaders(channel)})
    return {ok: true, detail: `reachable (HTTP ${response.status}); ${tokenState}`}
  } catch (error) {
    return {ok: false, detail: `unreachable: ${safeReason(networkReason(error), channelSecrets(channel))}; ${tokenState}`}
  }
}

function jsonField(body: string, name: string): string | undefined {
  const value = parseJsonObject(body)?.[name]
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined
}

/**
 * Removes this channel's credentials from text that may echo them (a gateway's error body, an
 * undici message): the account SID and auth token, the Basic credentials they make, the bearer
 * token, the URL's password and query string, plus every `${ENV}` value crier knows.
 */
function channelSecrets(channel: ChannelConfig<SmsSettings>): string[] {
  const secrets: string[] = []
  for (const value of [channel.authToken, channel.token, channel.accountSid]) if (value) secrets.push(value)
  if (channel.accountSid || channel.authToken) secrets.push(basicCredentials(channel), `${channel.accountSid ?? ''}:${channel.authToken ?? ''}`)
  return [...secrets, ...urlSecrets(channel.url)]
}

/**
 * Providers quote the number back ("Invalid 'To' Phone Number: +447700900123"); the reason is
 * stored with the attempt and shown on the officer's screen, where the last digits are enough.
 */
function maskPhone(text: string, phone: string): string {
  const digits = phone.replace(/\D/g, '')
  if (digits.length < 7) return text
  const masked = `+${digits.slice(0, 2)}…${digits.slice(-4)}`
  return text.split(phone).join(masked).split(digits).join(masked)
}
