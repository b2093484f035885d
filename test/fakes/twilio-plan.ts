import type {Answer, IncomingRequest, Outcome, RecordedRequest, ResponsePlan} from './provider-server.js'

// A Twilio-shaped plan for startProviderFake: the two endpoints crier uses of the Messages API
// (https://www.twilio.com/docs/messaging/api/message-resource), with HTTP Basic auth checked
// as Twilio checks it and its JSON error documents, so the sms driver meets the real shapes:
//
//   POST /2010-04-01/Accounts/{Sid}/Messages.json  form body To, From | MessagingServiceSid, Body
//   GET  /2010-04-01/Accounts/{Sid}.json           the account, for `crier channels test`
//
// Failures come on cue, per message request (by its index among message requests, or by its
// To number): 429 / 20429 with Retry-After, 21610 unsubscribed, 21211 invalid number, 500, or
// any provider-server Answer (a reset, a stall).

export interface TwilioPlanOptions {
  accountSid: string
  authToken: string
  /** Put in front of every path, as a compatible gateway's baseUrl does (`/api/laml`). */
  pathPrefix?: string
  /** Answers for message requests by 0-based index among the message requests this plan sees. */
  cueAt?: Record<number, Answer>
  /** Answers for message requests by their To number; cueAt wins when both match. */
  cueTo?: Record<string, Answer>
  /** What GET Accounts/{Sid}.json reports. */
  account?: {friendlyName?: string; status?: 'active' | 'suspended' | 'closed'}
}

const jsonHeaders = {'Content-Type': 'application/json'}

/** A Twilio error document: `{code, message, more_info, status}` with that HTTP status. */
export function twilioError(status: number, code: number, message: string, headers: Record<string, string> = {}): Answer {
  return {
    status,
    headers: {...jsonHeaders, ...headers},
    body: JSON.stringify({code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status}),
  }
}

/** The failures the sms driver classifies, as Twilio answers them. */
export const twilioFaults = {
  /** HTTP 429, code 20429; Retry-After only when given. */
  rateLimited: (retryAfterSeconds?: number): Answer =>
    twilioError(429, 20429, 'Too Many Requests', retryAfterSeconds === undefined ? {} : {'Retry-After': String(retryAfterSeconds)}),
  /** The recipient texted STOP: code 21610. */
  unsubscribed: (): Answer => twilioError(400, 21610, 'Attempt to send to unsubscribed recipient'),
  /** Code 21211, quoting the number back as Twilio does. */
  invalidNumber: (to: string): Answer => twilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`),
  /** Code 21614: a landline. */
  notMobile: (to: string): Answer => twilioError(400, 21614, `'To' number ${to} is not a valid mobile number`),
  /** Code 21611: the sender's queue is full. */
  queueFull: (): Answer => twilioError(400, 21611, "This 'From' number has exceeded the maximum number of queued messages"),
  /** HTTP 500, code 20500. */
  serverError: (): Answer => twilioError(500, 20500, 'An internal server error has occurred'),
}

/** A plan answering as Twilio does; every other path is a Twilio 404. */
export function twilioPlan(options: TwilioPlanOptions): ResponsePlan {
  const prefix = `${options.pathPrefix ?? ''}/2010-04-01/Accounts/`
  let messagesSeen = 0
  return (request) => {
    const route = routeOf(request.path, prefix)
    if (!route) return twilioError(404, 20404, `The requested resource ${request.path} was not found`)
    // Twilio checks credentials before anything else, and answers 401 / 20003 for any mismatch.
    const credentials = basicCredentialsOf(request)
    if (!credentials || credentials.username !== options.accountSid || credentials.password !== options.authToken) {
      return twilioError(401, 20003, 'Authenticate')
    }
    if (route.accountSid !== options.accountSid) return twilioError(404, 20404, `The requested resource ${request.path} was not found`)

    if (route.resource === 'account' && request.method === 'GET') {
      return {
        status: 200,
        headers: jsonHeaders,
        body: JSON.stringify({
          sid: options.accountSid,
          friendly_name: options.account?.friendlyName ?? 'crier test account',
          status: options.account?.status ?? 'active',
          type: 'Full',
        }),
      }
    }
    if (route.resource === 'messages' && request.method === 'POST') {
      const index = messagesSeen++
      const form = decodeForm(request.body)
      const cued = options.cueAt?.[index] ?? (form.To === undefined ? undefined : options.cueTo?.[form.To])
      if (cued) return cued
      return answerMessage(form, index, options.accountSid)
    }
    return twilioError(405, 20004, 'Method not allowed')
  }
}

function routeOf(path: string, prefix: string): {accountSid: string; resource: 'account' | 'messages'} | undefined {
  const pathname = path.split('?')[0]!
  if (!pathname.startsWith(prefix)) return undefined
  const rest = pathname.slice(prefix.length)
  const messages = /^([^/]+)\/Messages\.json$/.exec(rest)
  if (messages) return {accountSid: decodeURIComponent(messages[1]!), resource: 'messages'}
  const account = /^([^/]+)\.json$/.exec(rest)
  if (account) return {accountSid: decodeURIComponent(account[1]!), resource: 'account'}
  return undefined
}

/** Twilio's checks on a new message, in its order, then 201 with the message resource. */
function answerMessage(form: Record<string, string>, index: number, accountSid: string): Answer {
  // A body that is not a form (JSON, say) decodes to no known fields, as it does at Twilio.
  if (!form.To) return twilioError(400, 21604, "A 'To' phone number is required")
  if (!form.From && !form.MessagingServiceSid) return twilioError(400, 21603, "A 'From' phone number is required")
  if (!form.Body) return twilioError(400, 21602, 'Message body is required')
  if (!/^\+[1-9]\d{6,14}$/.test(form.To)) return twilioFaults.invalidNumber(form.To)
  return {
    status: 201,
    headers: jsonHeaders,
    body: JSON.stringify({
      sid: messageSid(index),
      account_sid: accountSid,
      status: 'queued',
      to: form.To,
      from: form.From ?? null,
      messaging_service_sid: form.MessagingServiceSid ?? null,
      body: form.Body,
    }),
  }
}

/** SM followed by 32 hex digits, from the message's index: the same run gives the same sids. */
export function messageSid(index: number): string {
  return `SM${index.toString(16).padStart(32, '0')}`
}

/** A form body decoded; a repeated key keeps its last value. */
export function decodeForm(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body))
}

/** The username and password of a Basic Authorization header, or undefined. */
export function basicCredentialsOf(request: Pick<IncomingRequest, 'headers'>): {username: string; password: string} | undefined {
  const header = request.headers.authorization
  const match = typeof header === 'string' ? /^Basic ([A-Za-z0-9+/=]+)$/.exec(header) : null
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : {username: decoded.slice(0, colon), password: decoded.slice(colon + 1)}
}

/** One message request the fake received, its form decoded, and how it was answered. */
export interface ReceivedMessage {
  /** The request's index in the fake's log. */
  index: number
  To?: string
  From?: string
  MessagingServiceSid?: string
  Body?: string
  StatusCallback?: string
  /** The whole decoded form, unknown fields included. */
  form: Record<string, string>
  outcome: Outcome
  status?: number
}

/** Every POST to a Messages.json resource, in arrival order, whatever it was answered. */
export function receivedMessages(requests: readonly RecordedRequest[]): ReceivedMessage[] {
  return requests
    .filter((request) => request.method === 'POST' && /\/Messages\.json(\?|$)/.test(request.path))
    .map((request) => {
      const form = decodeForm(request.body)
      return {
        index: request.index,
        To: form.To,
        From: form.From,
        MessagingServiceSid: form.MessagingServiceSid,
        Body: form.Body,
        StatusCallback: form.StatusCallback,
        form,
        outcome: request.outcome,
        status: request.status,
      }
    })
}

/** The messages Twilio would have queued: answered 201. */
export function acceptedMessages(requests: readonly RecordedRequest[]): ReceivedMessage[] {
  return receivedMessages(requests).filter((message) => message.outcome === 'answered' && message.status === 201)
}
