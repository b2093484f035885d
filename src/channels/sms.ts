import {z} from 'zod'
import type {ChannelConfig, Driver} from './driver.js'
import {ChannelUnusableError, PermanentSendError} from './errors.js'
import {apiBaseUrl, httpUrl} from './http-url.js'
import {checkGeneric, checkTwilio, messagingServiceSid, sendGeneric, sendTwilio} from './sms-gateways.js'
import {countSmsSegments, segmentLabel, smsTextFor} from './sms-text.js'

// Text messages to each subscriber of the channel's audience, through the Twilio Messages API
// (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource) or
// any gateway that speaks it (`baseUrl`: SignalWire's LaML API, a regional host, a proxy), or
// a `generic` gateway that takes one JSON POST per message. One send is one recipient; the
// engine calls send once per delivery with `context.recipient`.
//
// Twilio has no idempotency key for Messages: a send whose answer was lost may have gone out,
// so the driver is not idempotent and the engine marks such a delivery `unknown`, never resends.
// The text and its segments are sms-text.ts; the requests and what the answers mean, sms-gateways.ts.

const providers = ['twilio', 'generic'] as const
export type SmsProvider = (typeof providers)[number]

const e164Number = /^\+[1-9]\d{6,14}$/
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
    baseUrl: apiBaseUrl.default('https://api.twilio.com'),
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


export const sms: Driver<SmsSettings, SmsPayload> = {
  type: 'sms',
  kind: 'per-recipient',
  config: smsSettings,
  capabilities: {counts: 'sms-segments', threads: false, media: false, idempotent: false, reconcile: false, contact: 'phone'},

  render(announcement, variant, context) {
    const body = smsTextFor(announcement, variant)
    const counted = countSmsSegments(body)
    return {
      parts: [
        {
          label: segmentLabel(counted),
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
    if (problems.length) throw new ChannelUnusableError(misconfigured(channel, problems))
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
