import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi} from 'vitest'
import type {Announcement} from '../../src/core/announcement.js'
import {checkPolicy} from '../../src/core/policy/check.js'
import {renderForAllChannels} from '../../src/core/render.js'
import {ConfigError, loadConfig, type Config} from '../../src/config/load.js'
import {policySchema} from '../../src/config/schema.js'
import type {ChannelConfig, Recipient, SendContext} from '../../src/channels/driver.js'
import {ChannelUnusableError, InDoubtSendError, PermanentSendError, RateLimitedError, RecipientOptedOutError, TransientSendError} from '../../src/channels/errors.js'
import {createHttpClient, type HttpClient} from '../../src/channels/http.js'
import {driverFor, registerDriver} from '../../src/channels/registry.js'
import {sms, type SmsSettings} from '../../src/channels/sms.js'
import {makeAnnouncement} from '../helpers/announcement.js'
import {closedPortUrl, startProviderFake, type Answer, type IncomingRequest, type ProviderFake} from '../fakes/provider-server.js'
import {acceptedMessages, basicCredentialsOf, messageSid, receivedMessages, twilioError, twilioFaults, twilioPlan} from '../fakes/twilio-plan.js'
import {channelFor, fixedNow, sendContextFor} from '../helpers/driver-context.js'

// The sms driver against a real HTTP server on loopback that answers as Twilio (or a generic
// JSON gateway) does, through the shared undici client.

const accountSid = `AC${'a1'.repeat(16)}`
const authToken = 'twilio-auth-token-5f4e3d2c1b'
const gatewayToken = 'gw-bearer-token-0a9b8c7d6e'
const from = '+447700900123'
const serviceSid = `MG${'b2'.repeat(16)}`
const resident: Recipient = {id: '17', name: 'Ffion', phone: '+447700900456', language: 'cy-GB'}

let http: HttpClient
let fake: ProviderFake

beforeAll(() => {
  http = createHttpClient()
})
afterAll(async () => {
  await http.close()
})
beforeEach(async () => {
  fake = await startProviderFake({plan: twilioPlan({accountSid, authToken, account: {friendlyName: 'North Wales Police'}})})
})
afterEach(async () => {
  await fake.close()
})

/** Validated exactly as the config loader does: common settings plus the driver's own. */
function makeChannel(settings: Record<string, unknown> = {}): ChannelConfig<SmsSettings> {
  return channelFor<SmsSettings>(sms, 'residents-sms', {accountSid, authToken, from, audience: 'residents', baseUrl: fake.url, ...settings})
}

function makeGenericChannel(settings: Record<string, unknown> = {}): ChannelConfig<SmsSettings> {
  return makeChannel({provider: 'generic', accountSid: undefined, authToken: undefined, url: `${fake.url}/v1/sms`, token: gatewayToken, ...settings})
}

function makeContext(channel: ChannelConfig<SmsSettings>, overrides: Partial<SendContext<SmsSettings>> = {}): SendContext<SmsSettings> {
  return sendContextFor(channel, http, {idempotencyKey: 'idem-key-1', recipient: resident, ...overrides})
}

/** Renders once without a recipient and sends to one, as the engine does. */
async function sendTo(channel: ChannelConfig<SmsSettings>, overrides: Partial<SendContext<SmsSettings>> = {}, announcement: Announcement = makeAnnouncement()) {
  const {payload} = sms.render(announcement, announcement.variants[0]!, {channel})
  return sms.send(payload, makeContext(channel, {announcement, ...overrides}))
}

async function sendExpectingError(channel: ChannelConfig<SmsSettings> = makeChannel(), overrides: Partial<SendContext<SmsSettings>> = {}): Promise<Error> {
  const error = await sendTo(channel, overrides).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof Error)) throw new Error('expected send to throw')
  return error
}

/** Replaces the Twilio plan: every request, whatever its path or credentials, gets `answer`. */
function answerAlways(answer: Answer) {
  fake.respondWith(() => answer)
}

/** An announcement whose SMS text is exactly `text` (no severity tag, no other fields). */
function announcementSaying(text: string): Announcement {
  return makeAnnouncement({severity: 'Unknown', variants: [{language: 'en-GB', headline: text, description: ''}]})
}

function renderText(text: string, settings: Record<string, unknown> = {}) {
  const announcement = announcementSaying(text)
  const channel = makeChannel(settings)
  return sms.render(announcement, announcement.variants[0]!, {channel})
}

describe('sms render', () => {
  it('puts the severity first, then headline, description, instruction and link on one line', () => {
    const announcement = makeAnnouncement({
      severity: 'Severe',
      web: 'https://northwales.example/alerts/42',
      variants: [{language: 'en-GB', headline: 'A55 closed at Junction 11', description: 'The A55 is closed\neastbound  after a collision.', instruction: 'Use the A5'}],
    })
    const channel = makeChannel()
    const {parts, payload} = sms.render(announcement, announcement.variants[0]!, {channel})
    const text = '[Severe] A55 closed at Junction 11. The A55 is closed eastbound after a collision. Use the A5. https://northwales.example/alerts/42'
    expect(parts).toEqual([{label: `SMS — GSM-7, 1 segment (${text.length} chars)`, text, length: {count: 1, limit: 3, unit: 'sms-segments'}}])
    expect(payload).toEqual({to: undefined, from, body: text})
  })

  it('says first that a message is an exercise, an update or a cancellation', () => {
    const exercise = makeAnnouncement({status: 'Exercise', msgType: 'Update', severity: 'Extreme', variants: [{language: 'en-GB', headline: 'Evacuate Llanrwst', description: ''}]})
    const cancel = makeAnnouncement({msgType: 'Cancel', severity: 'Moderate', variants: [{language: 'en-GB', headline: 'A55 closure', description: 'The road is open again.'}]})
    const channel = makeChannel()
    expect(sms.render(exercise, exercise.variants[0]!, {channel}).payload.body).toBe('[EXERCISE] [Extreme] Update: Evacuate Llanrwst.')
    expect(sms.render(cancel, cancel.variants[0]!, {channel}).payload.body).toBe('Cancelled: A55 closure. The road is open again.')
  })

  it('says a headline taken from the text\'s first sentence once, as the text begins', () => {
    const piped = makeAnnouncement({severity: 'Minor', variants: [{language: 'en-GB', headline: 'Hang test.', description: 'Hang test. Stay indoors.'}]})
    const update = makeAnnouncement({msgType: 'Update', severity: 'Minor', variants: [{language: 'en-GB', headline: 'Water restored', description: 'Water restored in Llandudno. Run taps for a minute.'}]})
    const channel = makeChannel()
    expect(sms.render(piped, piped.variants[0]!, {channel}).payload.body).toBe('[Minor] Hang test. Stay indoors.')
    expect(sms.render(update, update.variants[0]!, {channel}).payload.body).toBe('[Minor] Update: Water restored in Llandudno. Run taps for a minute.')
  })

  it('says "Cancelled:" once when the headline says it already, as a Cancel crier drafted does', () => {
    const cancel = makeAnnouncement({msgType: 'Cancel', severity: 'Moderate', variants: [{language: 'en-GB', headline: 'Cancelled: A55 closure', description: 'The road is open again.'}]})
    const update = makeAnnouncement({msgType: 'Update', severity: 'Minor', variants: [{language: 'en-GB', headline: 'update: A55 reopened', description: ''}]})
    const channel = makeChannel()
    expect(sms.render(cancel, cancel.variants[0]!, {channel}).payload.body).toBe('Cancelled: A55 closure. The road is open again.')
    expect(sms.render(update, update.variants[0]!, {channel}).payload.body).toBe('[Minor] update: A55 reopened.')
  })

  it('leaves out a description that only repeats the headline', () => {
    const announcement = makeAnnouncement({severity: 'Minor', variants: [{language: 'en-GB', headline: 'Bins collected Tuesday', description: 'Bins collected Tuesday.'}]})
    expect(sms.render(announcement, announcement.variants[0]!, {channel: makeChannel()}).payload.body).toBe('[Minor] Bins collected Tuesday.')
  })

  it('writes typographic punctuation plainly, so the message stays GSM-7', () => {
    const {parts, payload} = renderText('Don’t drive through “flood water” – roads closed…')
    expect(payload.body).toBe('Don\'t drive through "flood water" - roads closed...')
    expect(parts[0]!.label).toMatch(/^SMS — GSM-7, 1 segment/)
  })

  it("puts the recipient's number in the payload when rendering for one recipient", () => {
    const announcement = announcementSaying('Road closed.')
    const {payload} = sms.render(announcement, announcement.variants[0]!, {channel: makeChannel(), recipient: resident})
    expect(payload).toEqual({to: '+447700900456', from, body: 'Road closed.'})
  })

  it.each([
    ['160 GSM characters', `${'a'.repeat(159)}.`, 'GSM-7', 1, 160],
    ['161 GSM characters (153 per concatenated segment)', `${'a'.repeat(160)}.`, 'GSM-7', 2, 161],
    ['306 GSM characters', `${'a'.repeat(305)}.`, 'GSM-7', 2, 306],
    ['307 GSM characters', `${'a'.repeat(306)}.`, 'GSM-7', 3, 307],
    ['80 euro signs, two septets each', `${'€'.repeat(79)}a.`, 'GSM-7', 1, 81],
    ['81 euro signs, 161 septets', `${'€'.repeat(80)}.`, 'GSM-7', 2, 81],
    ['81 square brackets, 162 septets', '['.repeat(81), 'GSM-7', 2, 81],
    ['70 characters with a Welsh ŵ', `ŵ${'a'.repeat(68)}.`, 'UCS-2 (because of ŵ)', 1, 70],
    ['71 characters with a Welsh ŵ', `ŵ${'a'.repeat(69)}.`, 'UCS-2 (because of ŵ)', 2, 71],
    ['134 characters with a Welsh ŵ (67 per concatenated segment)', `ŵ${'a'.repeat(132)}.`, 'UCS-2 (because of ŵ)', 2, 134],
    ['135 characters with a Welsh ŵ', `ŵ${'a'.repeat(133)}.`, 'UCS-2 (because of ŵ)', 3, 135],
    ['an emoji, two UTF-16 units, in 70 units', `🌊${'a'.repeat(67)}.`, 'UCS-2 (because of 🌊)', 1, 69],
    ['an emoji in 71 units', `🌊${'a'.repeat(68)}.`, 'UCS-2 (because of 🌊)', 2, 70],
  ])('counts %s', (_name, text, encoding, segments, characters) => {
    const {parts, payload} = renderText(text)
    expect(payload.body).toBe(text)
    expect(parts[0]!.label).toBe(`SMS — ${encoding}, ${segments} ${segments === 1 ? 'segment' : 'segments'} (${characters} chars)`)
    expect(parts[0]!.length).toEqual({count: segments, limit: 3, unit: 'sms-segments'})
  })

  it('reports a message over maxSegments as a count above the limit, which policy refuses', () => {
    const announcement = announcementSaying(`${'a'.repeat(306)}.`)
    const channel = makeChannel({maxSegments: 2})
    const rendered = sms.render(announcement, announcement.variants[0]!, {channel})
    expect(rendered.parts[0]!.length).toEqual({count: 3, limit: 2, unit: 'sms-segments'})

    const config: Config = {source: 'test', sender: 'alerts@northwales.example', timezone: 'Europe/London', languages: ['en-GB'], channels: {[channel.name]: channel}, policy: policySchema.parse({})}
    const findings = checkPolicy(announcement, config, [{channel, driver: sms, rendered}], fixedNow)
    expect(findings).toContainEqual(expect.objectContaining({level: 'error', rule: 'channel-limit', channel: 'residents-sms'}))
    expect(findings.find((finding) => finding.rule === 'channel-limit')!.message).toContain('SMS — GSM-7, 3 segments (307 chars) is 3 sms-segments, over the limit of 2')
  })

  it('renders a bilingual announcement once per language, so the Welsh text (UCS-2 with ŵ) is counted and checked too', () => {
    const english = 'The A55 is closed westbound between J11 and J12 after a collision. Expect delays until 18:00; use the A5 instead.'
    const welsh = 'Mae’r A55 ar gau tua’r gorllewin rhwng C11 a C12 ar ôl gwrthdrawiad. Disgwyliwch oedi tan 18:00; defnyddiwch yr A5. Ŵyr y gyrrwr.'
    const announcement = makeAnnouncement({
      severity: 'Unknown',
      variants: [
        {language: 'en-GB', headline: english, description: ''},
        {language: 'cy-GB', headline: welsh, description: ''},
      ],
    })
    const channel = makeChannel({maxSegments: 1})
    const config: Config = {source: 'test', sender: 'alerts@northwales.example', timezone: 'Europe/London', languages: ['en-GB', 'cy-GB'], channels: {[channel.name]: channel}, policy: policySchema.parse({})}
    const renderings = renderForAllChannels({...announcement, channels: [channel.name]}, config)
    expect(renderings.map((r) => [r.channel.name, r.language, r.rendered.parts[0]!.label.replace(/ \(\d+ chars\)$/, '')])).toEqual([
      ['residents-sms', 'en-GB', 'SMS — GSM-7, 1 segment'],
      ['residents-sms', 'cy-GB', 'SMS — UCS-2 (because of ô Ŵ), 2 segments'],
    ])
    expect(renderings[1]!.rendered.parts[0]!.text).toContain('Ŵyr y gyrrwr')
    const findings = checkPolicy(announcement, config, renderings, fixedNow).filter((finding) => finding.rule === 'channel-limit')
    expect(findings.map((finding) => finding.message)).toEqual([expect.stringMatching(/^residents-sms \(cy-GB\): SMS — UCS-2 \(because of ô Ŵ\), 2 segments \(\d+ chars\) is 2 sms-segments, over the limit of 1 — shorten the text, or raise channels\.residents-sms\.maxSegments$/)])
  })
})

describe('sms send through Twilio', () => {
  it('posts To, From and Body as a form with Basic auth, and returns the message sid', async () => {
    const receipt = await sendTo(makeChannel(), {}, announcementSaying('Road closed.'))

    expect(receipt).toEqual({providerId: messageSid(0)})
    const [request] = fake.requests
    expect(request).toMatchObject({method: 'POST', path: `/2010-04-01/Accounts/${accountSid}/Messages.json`, status: 201})
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(basicCredentialsOf(request!)).toEqual({username: accountSid, password: authToken})
    expect(receivedMessages(fake.requests)).toEqual([
      expect.objectContaining({To: '+447700900456', From: from, MessagingServiceSid: undefined, Body: 'Road closed.', StatusCallback: undefined}),
    ])
  })

  it('keeps Welsh letters and emoji intact in the form body', async () => {
    const text = 'Rhybudd llifogydd: Afon Conwy 🌊 — symudwch i dir uwch. Dŵr yn codi.'
    await sendTo(makeChannel(), {}, announcementSaying(text))
    expect(acceptedMessages(fake.requests)[0]!.Body).toBe(text.replace('—', '-'))
  })

  it('sends through a messaging service when from is an MG sid, and the status callback when set', async () => {
    await sendTo(makeChannel({from: serviceSid, statusCallback: 'https://northwales.example/sms/status'}))
    const [message] = receivedMessages(fake.requests)
    expect(message).toMatchObject({MessagingServiceSid: serviceSid, StatusCallback: 'https://northwales.example/sms/status'})
    expect(message!.form).not.toHaveProperty('From')
  })

  it('sends each text and sender as given when one channel sends several in turn', async () => {
    const channel = makeChannel()
    const english = announcementSaying('Road closed & diverted.')
    const welsh = announcementSaying('Ffordd ar gau.')
    await sendTo(channel, {}, english)
    await sendTo(channel, {}, welsh)
    const {payload} = sms.render(english, english.variants[0]!, {channel})
    await sms.send({...payload, from: 'NWPolice'}, makeContext(channel, {announcement: english}))
    await sendTo(channel, {}, english)
    expect(receivedMessages(fake.requests).map(({From, Body}) => [From, Body])).toEqual([
      [from, 'Road closed & diverted.'],
      [from, 'Ffordd ar gau.'],
      ['NWPolice', 'Road closed & diverted.'],
      [from, 'Road closed & diverted.'],
    ])
  })

  it('sends an alphanumeric sender ID as From, even one starting with MG', async () => {
    await sendTo(makeChannel({from: 'MGPolice'}))
    expect(receivedMessages(fake.requests)[0]).toMatchObject({From: 'MGPolice', MessagingServiceSid: undefined})
  })

  it('works behind a compatible gateway whose baseUrl has a path prefix', async () => {
    fake.respondWith(twilioPlan({accountSid, authToken, pathPrefix: '/api/laml'}))
    await sendTo(makeChannel({baseUrl: `${fake.url}/api/laml/`}))
    expect(fake.requests[0]!.path).toBe(`/api/laml/2010-04-01/Accounts/${accountSid}/Messages.json`)
    expect(acceptedMessages(fake.requests)).toHaveLength(1)
  })

  it('sends to the recipient of the send, not one the payload was rendered for', async () => {
    const announcement = announcementSaying('Road closed.')
    const channel = makeChannel()
    const {payload} = sms.render(announcement, announcement.variants[0]!, {channel, recipient: {id: '1', phone: '+447700900001'}})
    await sms.send(payload, makeContext(channel, {recipient: {id: '2', phone: '+447700900002'}}))
    expect(receivedMessages(fake.requests).map((message) => message.To)).toEqual(['+447700900002'])
  })

  it('refuses a recipient without a phone number as permanent, sending nothing', async () => {
    const error = await sendExpectingError(makeChannel(), {recipient: {id: '3', email: 'someone@example.org'}})
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe('the recipient has no phone number')
    expect(fake.requests).toHaveLength(0)
  })

  it('answers each recipient by its own cue: one opted out, the next sent', async () => {
    fake.respondWith(twilioPlan({accountSid, authToken, cueTo: {'+447700900456': twilioFaults.unsubscribed()}}))
    const channel = makeChannel()
    expect(await sendExpectingError(channel)).toBeInstanceOf(RecipientOptedOutError)
    expect(await sendTo(channel, {recipient: {id: '18', phone: '+447700900789'}})).toEqual({providerId: messageSid(1)})
    expect(acceptedMessages(fake.requests).map((message) => message.To)).toEqual(['+447700900789'])
  })
})

describe('sms send through Twilio: errors', () => {
  it.each([
    ['429 / 20429 with Retry-After', twilioFaults.rateLimited(7), RateLimitedError, 'Twilio 20429: Too Many Requests', 7000],
    ['429 / 20429 without Retry-After waits a second', twilioFaults.rateLimited(), RateLimitedError, 'Twilio 20429: Too Many Requests', 1000],
    ['a bare 429', {status: 429} as Answer, RateLimitedError, 'HTTP 429', 1000],
    ['21611, a full queue, pauses the channel a minute', twilioFaults.queueFull(), RateLimitedError, "Twilio 21611: This 'From' number has exceeded the maximum number of queued messages", 60_000],
    ['21610, an unsubscribed recipient', twilioFaults.unsubscribed(), RecipientOptedOutError, 'Twilio 21610: Attempt to send to unsubscribed recipient', undefined],
    ['21211, an invalid number, quoted back masked', twilioFaults.invalidNumber('+447700900456'), PermanentSendError, "Twilio 21211: Invalid 'To' Phone Number: +44…0456", undefined],
    ['21614, not a mobile number', twilioFaults.notMobile('+447700900456'), PermanentSendError, "Twilio 21614: 'To' number +44…0456 is not a valid mobile number", undefined],
    ['any other 4xx code', twilioError(400, 21620, 'Invalid media URL(s)'), PermanentSendError, 'Twilio 21620: Invalid media URL(s)', undefined],
    ['a 4xx without a Twilio body', {status: 404, body: 'no such route'} as Answer, PermanentSendError, 'HTTP 404: no such route', undefined],
    ['500 / 20500', twilioFaults.serverError(), TransientSendError, 'Twilio 20500: An internal server error has occurred', undefined],
    ['503 with Retry-After', {status: 503, headers: {'Retry-After': '5'}, body: 'upstream unavailable'} as Answer, TransientSendError, 'HTTP 503: upstream unavailable', 5000],
    // A proxy or regional gateway in front (baseUrl) passed it on and got no answer: it may have gone.
    ['504 from a gateway in front, in doubt', {status: 504, body: 'Gateway Time-out'} as Answer, InDoubtSendError, 'HTTP 504: Gateway Time-out — a gateway passed the request on and got no answer: the text may have gone', undefined],
    ['502 from a gateway in front, in doubt', {status: 502, body: 'Bad Gateway'} as Answer, InDoubtSendError, 'HTTP 502: Bad Gateway — a gateway passed the request on and got no answer: the text may have gone', undefined],
  ])('classifies %s', async (_name, answer, type, message, retryAfterMs) => {
    fake.respondWith(twilioPlan({accountSid, authToken, cueAt: {0: answer}}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(type)
    expect(error instanceof InDoubtSendError).toBe(type === InDoubtSendError)
    expect(error.message).toBe(message)
    expect((error as {retryAfterMs?: number}).retryAfterMs).toBe(retryAfterMs)
  })

  it('cues by index among message requests', async () => {
    fake.respondWith(twilioPlan({accountSid, authToken, cueAt: {1: twilioFaults.serverError()}}))
    const channel = makeChannel()
    const outcomes = []
    for (let index = 0; index < 3; index++) outcomes.push(await sendTo(channel).then(() => 'sent', (error: Error) => error.name))
    expect(outcomes).toEqual(['sent', 'TransientSendError', 'sent'])
  })

  it('treats refused credentials (20003) as the channel being unusable, naming the settings, not the token', async () => {
    const error = await sendExpectingError(makeChannel({authToken: 'wrong-token-000111222'}))
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toBe("Twilio 20003: credentials refused — check the channel's accountSid and authToken")
    expect(fake.requests[0]!.status).toBe(401)
  })

  it('gives up on a stalled request at the channel timeout, in doubt: Twilio may have sent the text', async () => {
    answerAlways({stallMs: Infinity})
    const error = await sendExpectingError(makeChannel({timeout: '300ms'}))
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('timed out after 300 ms')
    await vi.waitFor(() => expect(fake.requests[0]!.outcome).toBe('abandoned'))
  })

  it('treats a connection reset after the request as in doubt, never to be resent blindly', async () => {
    fake.respondWith(twilioPlan({accountSid, authToken, cueAt: {0: {reset: true}}}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toMatch(/^connection (reset|closed)/)
    expect(fake.requests[0]!.outcome).toBe('reset')
  })

  it('treats a refused connection as transient: nothing left, so a retry cannot duplicate', async () => {
    const error = await sendExpectingError(makeChannel({baseUrl: await closedPortUrl()}))
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error).not.toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('connection refused')
  })

  it('treats an abort from the engine while the request is out as in doubt', async () => {
    answerAlways({stallMs: Infinity})
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const error = await sendExpectingError(makeChannel(), {signal: controller.signal})
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('request aborted')
  })
})

describe('sms secrets', () => {
  it('never puts the auth token, the Basic credentials or the bearer token in an error or check detail', async () => {
    const basic = Buffer.from(`${accountSid}:${authToken}`).toString('base64')
    // A careless gateway quoting back the credentials it was sent, decoded too, before the body.
    const quoting = (status: number, code?: number) => (request: IncomingRequest) => {
      const authorization = String(request.headers.authorization)
      const credentials = basicCredentialsOf(request)
      const decoded = credentials ? `${credentials.username}:${credentials.password}, token ${credentials.password}` : `token ${authorization.replace('Bearer ', '')}`
      const said = `you sent ${authorization} (${decoded}) with ${request.body}`
      return code === undefined
        ? {status, body: said}
        : {status, headers: {'Content-Type': 'application/json'}, body: JSON.stringify({code, message: said, status})}
    }
    const messages: string[] = []
    for (const [status, code] of [
      [400, 21620],
      [400, undefined],
      [500, 20500],
      [429, 20429],
      [401, 20003],
    ] as const) {
      fake.respondWith(quoting(status, code))
      messages.push((await sendExpectingError(makeChannel())).message)
      messages.push((await sendExpectingError(makeGenericChannel())).message)
    }
    messages.push((await sendExpectingError(makeChannel({baseUrl: await closedPortUrl()}))).message)
    messages.push((await sendExpectingError(makeGenericChannel({url: `${await closedPortUrl()}/v1/sms`}))).message)
    fake.respondWith(quoting(500, 20500))
    messages.push((await sms.check(makeChannel(), {http, signal: new AbortController().signal})).detail)
    fake.respondWith(() => ({status: 401, body: `bad ${authToken}`}))
    messages.push((await sms.check(makeChannel(), {http, signal: new AbortController().signal})).detail)

    expect(messages).toHaveLength(14)
    for (const message of messages) {
      expect(message).not.toContain(authToken)
      expect(message).not.toContain(gatewayToken)
      expect(message).not.toContain(basic)
    }
    expect(messages[0]).toMatch(/^Twilio 21620: you sent Basic \*\*\* \(\*\*\*, token \*\*\*\) with To=/)
    expect(messages[3]).toMatch(/^HTTP 400: you sent Bearer \*\*\* \(token \*\*\*\) with \{"to"/)
  })
})

describe('sms check', () => {
  it('accepts right credentials by reading the account, sending nothing', async () => {
    const result = await sms.check(makeChannel(), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: true, detail: `credentials accepted; account "North Wales Police" is active; sends as ${from}`})
    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([`GET /2010-04-01/Accounts/${accountSid}.json`])
    expect(basicCredentialsOf(fake.requests[0]!)).toEqual({username: accountSid, password: authToken})
  })

  it('reports wrong credentials, without the token', async () => {
    const wrong = 'wrong-token-000111222'
    const result = await sms.check(makeChannel({authToken: wrong}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: "Twilio 20003: credentials refused — check the channel's accountSid and authToken"})
  })

  it('reports a suspended account as not ready', async () => {
    fake.respondWith(twilioPlan({accountSid, authToken, account: {friendlyName: 'North Wales Police', status: 'suspended'}}))
    const result = await sms.check(makeChannel({from: serviceSid}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: 'credentials accepted, but the account "North Wales Police" is suspended — see the Twilio console'})
  })

  it('reports an unreachable API', async () => {
    const result = await sms.check(makeChannel({baseUrl: await closedPortUrl()}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: 'unreachable: connection refused'})
  })

  it('reaches a generic gateway with a HEAD, posting nothing', async () => {
    answerAlways({status: 405})
    const result = await sms.check(makeGenericChannel(), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: true, detail: 'reachable (HTTP 405); token: set'})
    expect(fake.requests.map((request) => request.method)).toEqual(['HEAD'])
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${gatewayToken}`)
  })
})

describe('sms send through a generic gateway', () => {
  it('posts JSON {to, from, body, reference} with the bearer token, and returns the gateway id', async () => {
    answerAlways({status: 202, headers: {'Content-Type': 'application/json'}, body: '{"id":"gw-991"}'})
    const receipt = await sendTo(makeGenericChannel(), {}, announcementSaying('Road closed.'))

    expect(receipt).toEqual({providerId: 'gw-991'})
    const [request] = fake.requests
    expect(request).toMatchObject({method: 'POST', path: '/v1/sms'})
    expect(request!.headers['content-type']).toBe('application/json')
    expect(request!.headers.authorization).toBe(`Bearer ${gatewayToken}`)
    expect(JSON.parse(request!.body)).toEqual({to: '+447700900456', from, body: 'Road closed.', reference: 'idem-key-1'})
  })

  it('sends no Authorization and no from when neither is configured, and uses the reference as receipt without an id', async () => {
    answerAlways({status: 204})
    const receipt = await sendTo(makeGenericChannel({token: undefined, from: undefined}), {}, announcementSaying('Road closed.'))
    expect(receipt).toEqual({providerId: 'idem-key-1'})
    expect(fake.requests[0]!.headers).not.toHaveProperty('authorization')
    expect(JSON.parse(fake.requests[0]!.body)).toEqual({to: '+447700900456', body: 'Road closed.', reference: 'idem-key-1'})
  })

  it.each([
    [{status: 429, headers: {'Retry-After': '12'}} as Answer, RateLimitedError, 'HTTP 429', 12_000],
    [{status: 429} as Answer, RateLimitedError, 'HTTP 429', 30_000],
    [{status: 503, body: 'maintenance'} as Answer, TransientSendError, 'HTTP 503: maintenance', undefined],
    [{status: 504, body: 'upstream timed out'} as Answer, InDoubtSendError, 'HTTP 504: upstream timed out — a gateway passed the request on and got no answer: the text may have gone', undefined],
    [{status: 408} as Answer, TransientSendError, 'HTTP 408', undefined],
    [{status: 400, body: 'number +447700900456 rejected\nmore'} as Answer, PermanentSendError, 'HTTP 400: number +44…0456 rejected', undefined],
    [{status: 401} as Answer, ChannelUnusableError, "HTTP 401 — check the channel's token", undefined],
  ])('classifies %o as the webhook driver does (401: the channel is unusable)', async (answer, type, message, retryAfterMs) => {
    answerAlways(answer)
    const error = await sendExpectingError(makeGenericChannel())
    expect(error).toBeInstanceOf(type)
    expect(error.message).toBe(message)
    expect((error as {retryAfterMs?: number}).retryAfterMs).toBe(retryAfterMs)
  })

  it('treats a stalled gateway as in doubt at the channel timeout', async () => {
    answerAlways({stallMs: Infinity})
    const error = await sendExpectingError(makeGenericChannel({timeout: '300ms'}))
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('timed out after 300 ms')
  })
})

describe('sms config', () => {
  let home: string

  beforeAll(() => {
    // Registered here until the registry lists the driver itself.
    if (!driverFor('sms')) registerDriver(sms)
  })
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'crier-sms-'))
  })
  afterEach(() => {
    rmSync(home, {recursive: true, force: true})
  })

  function load(channel: string, env: NodeJS.ProcessEnv = {}): Config {
    const configFile = join(home, 'config.yaml')
    writeFileSync(configFile, `channels:\n  residents-sms:\n${channel.replace(/^/gm, '    ')}\n`)
    return loadConfig({home, database: join(home, 'crier.db'), configFile, configExplicit: true}, env)
  }

  function loadProblems(channel: string, env: NodeJS.ProcessEnv = {}): string[] {
    try {
      load(channel, env)
    } catch (error) {
      if (error instanceof ConfigError) return error.problems
      throw error
    }
    throw new Error('expected the config to be refused')
  }

  it('loads the twilio channel of DESIGN.md, with the defaults filled in', () => {
    const config = load('type: sms\nprovider: twilio\naccountSid: ${TWILIO_ACCOUNT_SID}\nauthToken: ${TWILIO_AUTH_TOKEN}\nfrom: "+447700900123"\naudience: residents\nrate: 10/s', {
      TWILIO_ACCOUNT_SID: accountSid,
      TWILIO_AUTH_TOKEN: authToken,
    })
    expect(config.channels['residents-sms']).toMatchObject({provider: 'twilio', accountSid, authToken, maxSegments: 3, baseUrl: 'https://api.twilio.com', rate: '10/s'})
  })

  it('refuses a generic gateway url that is not http(s), naming the key', () => {
    expect(loadProblems('type: sms\nprovider: generic\nurl: ftp://gateway.example/sms\naudience: residents')).toEqual([
      'config.yaml: channels.residents-sms.url: expected an http(s) URL',
    ])
  })

  it('refuses a sender that is no number, service SID or sender ID, and too many segments', () => {
    expect(loadProblems(`type: sms\naccountSid: ${accountSid}\nauthToken: x1234\nfrom: "07700 900123"\naudience: residents\nmaxSegments: 11`)).toEqual([
      'config.yaml: channels.residents-sms.maxSegments: Too big: expected number to be <=10',
      'config.yaml: channels.residents-sms.from: expected an E.164 number such as +447700900123, a messaging service SID (MG…), a short code or an alphanumeric sender ID of up to 11 characters',
    ])
  })

  it('refuses a twilio channel without accountSid in the driver schema, naming the key', () => {
    const result = sms.config.safeParse({authToken, from, audience: 'residents'})
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([['accountSid', 'required when provider is twilio']])
  })

  it('refuses settings of the other provider in the driver schema', () => {
    const result = sms.config.safeParse({provider: 'generic', url: 'https://gateway.example/sms', authToken, audience: 'residents'})
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['authToken', 'only used when provider is twilio — remove it, or set provider: twilio'],
    ])
  })

  it('refuses a twilio channel without accountSid at load, naming the key', () => {
    expect(loadProblems(`type: sms\nauthToken: ${authToken}\nfrom: "${from}"\naudience: residents`)).toEqual([
      'config.yaml: channels.residents-sms.accountSid: required when provider is twilio',
    ])
  })

  it('refuses to send or check a twilio channel that loaded without accountSid, naming the key and sending nothing', async () => {
    // As if config load had let it through: the channel without its refinement check.
    const channel = {...makeChannel(), accountSid: undefined}
    const error = await sendExpectingError(channel)
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toBe('channels.residents-sms.accountSid: required when provider is twilio — fix the config')
    expect(await sms.check(channel, {http, signal: new AbortController().signal})).toEqual({ok: false, detail: error.message})
    expect(fake.requests).toHaveLength(0)
  })
})
