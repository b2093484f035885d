import {createRequire} from 'node:module'
import {z} from 'zod'
import type {Announcement, Variant} from '../core/announcement.js'
import type {ChannelConfig, CheckResult, Driver, Receipt, SendContext} from './driver.js'
import {PermanentSendError, RateLimitedError, RecipientOptedOutError, TransientSendError} from './errors.js'
import type {HttpClient, HttpResponse} from './http.js'
import {stripTerminalControls} from '../core/terminal-text.js'
import {channelTimeoutMs, firstBodyLine, safeReason, urlSecrets, headerValue, networkReason, parseRetryAfter, parseJsonObject, unansweredSend} from './http-failures.js'
import {httpUrl} from './http-url.js'

// Text messages to each subscriber of the channel's audience, through the Twilio Messages API
// (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource) or
// any gateway that speaks it (`baseUrl`: SignalWire's LaML API, a regional host, a proxy), or
// a `generic` gateway that takes one JSON POST per message. One send is one recipient; the
// engine calls send once per delivery with `context.recipient`.
//
// Twilio has no idempotency key for Messages: a send whose answer was lost may have gone out,
// so the driver is not idempotent and the engine marks such a delivery `unknown`, never resends.

const providers = ['twilio', 'generic'] as const
export type SmsProvider = (typeof providers)[number]

const e164Number = /^\+[1-9]\d{6,14}$/
/** Twilio sends from a Messaging Service's pool when From is replaced by MessagingServiceSid. */
const messagingServiceSid = /^MG[0-9a-f]{32}$/i
/** https://help.twilio.com/articles/223181348: up to 11 of A-Z a-z 0-9 and space, at least one letter. */
const alphanumericSender = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/
const shortCode = /^\d{3,8}$/

const sender = z
  .string()
  .refine(
    (text) => e164Number.test(text) || messagingServiceSid.test(text) || alphanumericSender.test(text) || shortCode.test(text),
    'expected an E.164 number such as +447700900123, a messaging service SID (MG…), a short code or an alphanumeric sender ID of up to 11 characters',
  )

// One flat object rather than a discriminated union: the config loader merges `.shape` into the
// common channel settings, and a union has no shape. The provider-specific rules are the
// object-level check below (providerProblems); the loader keeps them only if it carries the
// driver's checks over, so send and check enforce the same rules with a clear error as well.
const smsSettings = z
  .object({
    /** Which API shape the gateway speaks; Twilio's unless said otherwise. */
    provider: z.enum(providers).default('twilio'),
    /** The subscriber list this channel sends to. */
    audience: z.string().min(1),
    /** More segments than this is a policy error at preview, approve and broadcast. */
    maxSegments: z.number().int().min(1).max(10).default(3),
    /** Twilio: an E.164 number, short code, alphanumeric sender ID or messaging service SID (MG…). */
    from: sender.optional(),
    /** Twilio account SID (or a compatible gateway's project id); written `${ENV}` in config. */
    accountSid: z.string().min(1).optional(),
    /** Twilio auth token; written `${ENV}` in config. */
    authToken: z.string().min(1).optional(),
    /** Twilio API host; a compatible gateway's may carry a path prefix (…/api/laml). */
    baseUrl: httpUrl.default('https://api.twilio.com'),
    /** Twilio posts delivery status updates here. */
    statusCallback: httpUrl.optional(),
    /** Generic: the gateway's endpoint, one POST per message. */
    url: httpUrl.optional(),
    /** Generic: sent as `Authorization: Bearer <token>`; written `${ENV}` in config. */
    token: z.string().min(1).optional(),
  })
  .superRefine((settings, context) => {
    for (const {key, message} of providerProblems(settings)) context.addIssue({code: 'custom', path: [key], message})
  })
export type SmsSettings = z.infer<typeof smsSettings>

/** render() output and send() input. `to` is set when render was given a recipient; send prefers its context's. */
export interface SmsPayload {
  to?: string
  from?: string
  body: string
}

/** Twilio's 429 (error 20429: too many concurrent requests) clears within a second or so. */
const twilioRateLimitMs = 1000
/** Twilio 21611: the sender's queue is full (it holds about 4 hours of sends); let it drain. */
const queueFullPauseMs = 60_000
/** Generic gateways: as the webhook driver, when a 429 does not say how long. */
const genericRateLimitMs = 30_000
const maxListedNonGsm = 3

export const sms: Driver<SmsSettings, SmsPayload> = {
  type: 'sms',
  kind: 'per-recipient',
  config: smsSettings,
  capabilities: {counts: 'sms-segments', threads: false, media: false, idempotent: false, reconcile: false, contact: 'phone'},

  render(announcement, variant, context) {
    const body = smsTextFor(announcement, variant)
    const counted = countSmsSegments(body)
    const plural = counted.segments === 1 ? 'segment' : 'segments'
    const encoding = counted.encoding === 'UCS-2' && counted.nonGsm.length ? `UCS-2 (because of ${listNonGsm(counted.nonGsm)})` : counted.encoding
    return {
      parts: [
        {
          label: `SMS — ${encoding}, ${counted.segments} ${plural} (${counted.characters} chars)`,
          text: body,
          // Over the limit is reported, not thrown: the policy check turns it into an error.
          length: {count: counted.segments, limit: context.channel.maxSegments, unit: 'sms-segments'},
        },
      ],
      payload: {to: context.recipient?.phone, from: context.channel.from, body},
    }
  },

  async send(payload, context) {
    const {channel} = context
    const problems = providerProblems(channel)
    if (problems.length) throw new PermanentSendError(misconfigured(channel, problems))
    // The engine renders once per announcement and sends once per recipient.
    const to = context.recipient?.phone ?? payload.to
    if (!to) throw new PermanentSendError('the recipient has no phone number')
    return channel.provider === 'generic' ? sendGeneric(payload, to, context) : sendTwilio(payload, to, context)
  },

  async check(channel, context) {
    const problems = providerProblems(channel)
    if (problems.length) return {ok: false, detail: misconfigured(channel, problems)}
    return channel.provider === 'generic' ? checkGeneric(channel, context) : checkTwilio(channel, context)
  },
}

/**
 * The settings a provider needs and the ones it would silently ignore, as `{key, message}`.
 * The schema's object-level check and send/check share it, so both say the same thing.
 */
export function providerProblems(settings: Partial<SmsSettings>): Array<{key: string; message: string}> {
  const provider = settings.provider ?? 'twilio'
  const problems: Array<{key: string; message: string}> = []
  const required = provider === 'twilio' ? (['accountSid', 'authToken', 'from'] as const) : (['url'] as const)
  const foreign = provider === 'twilio' ? (['url', 'token'] as const) : (['accountSid', 'authToken', 'statusCallback'] as const)
  const other = provider === 'twilio' ? 'generic' : 'twilio'
  for (const key of required) if (!settings[key]) problems.push({key, message: `required when provider is ${provider}`})
  for (const key of foreign) {
    if (settings[key] !== undefined) problems.push({key, message: `only used when provider is ${other} — remove it, or set provider: ${other}`})
  }
  return problems
}

function misconfigured(channel: ChannelConfig<SmsSettings>, problems: Array<{key: string; message: string}>): string {
  return `${problems.map(({key, message}) => `channels.${channel.name}.${key}: ${message}`).join('; ')} — fix the config`
}

// Rendering.

/**
 * `[Severe] Update: River Conwy flood warning. Water is rising. Move to higher ground now. https://…`
 * Exercises and tests say so first, so nobody takes a drill for the real thing; severity
 * "Unknown" tells the public nothing and is left out.
 */
// The engine renders once per recipient, and the text is the same for everyone reading one
// variant: composing it (NFC, punctuation, whitespace) cost ~20 µs a message at 100k recipients.
const composed = new WeakMap<Variant, {announcement: Announcement; text: string}>()

function smsTextFor(announcement: Announcement, variant: Variant): string {
  const known = composed.get(variant)
  if (known?.announcement === announcement) return known.text
  const text = composeSmsText(announcement, variant)
  composed.set(variant, {announcement, text})
  return text
}

function composeSmsText(announcement: Announcement, variant: Variant): string {
  const tags: string[] = []
  if (announcement.status === 'Exercise' || announcement.status === 'Test') tags.push(announcement.status.toUpperCase())
  if (announcement.severity !== 'Unknown') tags.push(announcement.severity)
  const lead = announcement.msgType === 'Update' ? 'Update: ' : announcement.msgType === 'Cancel' ? 'Cancelled: ' : ''
  const headline = tidy(variant.headline)
  const description = tidy(variant.description)
  const instruction = tidy(variant.instruction ?? '')
  const pieces = [tags.map((tag) => `[${tag}]`).join(' '), headline ? asSentence(lead + headline) : lead.trim()]
  // A description that only repeats the headline costs a segment and says nothing.
  if (description && description !== headline && description !== asSentence(headline)) pieces.push(asSentence(description))
  if (instruction) pieces.push(asSentence(instruction))
  if (announcement.web) pieces.push(announcement.web.trim())
  return pieces.filter((piece) => piece.length > 0).join(' ')
}

/**
 * Typographic punctuation is not in the GSM-7 alphabet: one curly apostrophe would switch the
 * whole message to UCS-2 and halve what fits in a segment. Plain equivalents keep GSM-7 (what
 * Twilio's Smart Encoding does), and preview shows the result, so what is previewed goes out.
 */
const plainPunctuation: Array<[RegExp, string]> = [
  [/[\u2018\u2019\u201a\u201b\u2032]/g, "'"],
  [/[\u201c\u201d\u201e\u201f\u2033]/g, '"'],
  [/[\u2012\u2013\u2014\u2015\u2212]/g, '-'],
  [/\u2026/g, '...'],
]

/** One line of plain text: NFC, plain punctuation, no control characters, single spaces. */
function tidy(text: string): string {
  let result = text.normalize('NFC')
  for (const [pattern, replacement] of plainPunctuation) result = result.replace(pattern, replacement)
  return result
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

/** Ends text that stops on a letter or digit with a full stop, so pieces read as sentences. */
function asSentence(text: string): string {
  return /[\p{L}\p{N}]$/u.test(text) ? `${text}.` : text
}

function listNonGsm(characters: string[]): string {
  const distinct = [...new Set(characters)]
  const listed = distinct.slice(0, maxListedNonGsm).join(' ')
  return distinct.length > maxListedNonGsm ? `${listed} …` : listed
}

export interface SmsCount {
  encoding: 'GSM-7' | 'UCS-2'
  segments: number
  /** What a person counts: user-perceived characters (an emoji with modifiers is one). */
  characters: number
  /** The characters that forced UCS-2, in order of appearance. */
  nonGsm: string[]
}

type SegmentCalculator = typeof import('sms-segments-calculator')
let calculator: SegmentCalculator | undefined

/**
 * Segments and encoding as the network counts them: GSM-7 holds 160 septets in one segment and
 * 153 per segment once concatenated, the extension table (€ [ ] { } ^ ~ \ |) taking two
 * septets; any other character switches to UCS-2, 70 / 67 UTF-16 code units per segment.
 * Counted by Twilio's own sms-segments-calculator, loaded on first use (~30 ms, with its
 * grapheme splitter) rather than when the driver registry loads.
 */
// Counting is ~2 ms for a 200-character text (the library is roughly quadratic), and render
// runs per recipient while the text is the same for everyone in a language: remember the last
// few (bench: SMS 426 → thousands of messages/s).
const recentCounts = new Map<string, SmsCount>()
const rememberedCounts = 64

export function countSmsSegments(text: string): SmsCount {
  const known = recentCounts.get(text)
  if (known) return known
  calculator ??= createRequire(import.meta.url)('sms-segments-calculator') as SegmentCalculator
  const message = new calculator.SegmentedMessage(text)
  const count: SmsCount = {
    encoding: message.encodingName,
    segments: message.segmentsCount,
    characters: message.graphemes.length,
    nonGsm: message.encodingName === 'UCS-2' ? message.getNonGsmCharacters() : [],
  }
  if (recentCounts.size >= rememberedCounts) recentCounts.delete(recentCounts.keys().next().value!)
  recentCounts.set(text, count)
  return count
}

// Twilio.

async function sendTwilio(payload: SmsPayload, to: string, context: SendContext<SmsSettings>): Promise<Receipt> {
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
  if (status === 401 || error.code === 20003) throw new PermanentSendError(credentialsRefused(error))
  if (error.code !== undefined && twilioPermanentCodes.has(error.code)) throw new PermanentSendError(reason)
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

async function checkTwilio(channel: ChannelConfig<SmsSettings>, context: {http: HttpClient; signal: AbortSignal}): Promise<CheckResult> {
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

async function sendGeneric(payload: SmsPayload, to: string, context: SendContext<SmsSettings>): Promise<Receipt> {
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
  if (status === 408 || status === 425 || status >= 500) throw new TransientSendError(reason, retryAfterMs)
  throw new PermanentSendError(reason)
}

async function checkGeneric(channel: ChannelConfig<SmsSettings>, context: {http: HttpClient; signal: AbortSignal}): Promise<CheckResult> {
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

