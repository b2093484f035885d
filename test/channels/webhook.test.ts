import {createHmac} from 'node:crypto'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi} from 'vitest'
import type {Announcement} from '../../src/core/announcement.js'
import type {ChannelConfig, SendContext} from '../../src/channels/driver.js'
import {InDoubtSendError, PermanentSendError, RateLimitedError, TransientSendError} from '../../src/channels/errors.js'
import {createHttpClient, type HttpClient} from '../../src/channels/http.js'
import {webhook, type WebhookSettings} from '../../src/channels/webhook.js'
import {closedPortUrl, faultMix, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {channelFor, fixedNow, sendContextFor} from '../helpers/driver-context.js'

// The webhook driver against a real HTTP server on loopback, through the shared undici client.

const secret = 'whsec-9f8e7d6c5b4a'
const queryToken = 'qtok-1234567890'

let http: HttpClient
let fake: ProviderFake

beforeAll(() => {
  http = createHttpClient()
})
afterAll(async () => {
  await http.close()
})
beforeEach(async () => {
  fake = await startProviderFake()
})
afterEach(async () => {
  await fake.close()
})

function makeAnnouncement(overrides: Partial<Announcement> = {}): Announcement {
  return {
    id: '01JNX0000000000000000000AA',
    identifier: 'northwales-2025-0042',
    sender: 'alerts@northwales.example',
    senderName: 'North Wales Police',
    status: 'Actual',
    msgType: 'Alert',
    scope: 'Public',
    category: 'Transport',
    event: 'Road closure',
    urgency: 'Expected',
    severity: 'Moderate',
    certainty: 'Observed',
    web: 'https://northwales.example/alerts/42',
    area: {description: 'A55 junctions 11–12', polygons: [], circles: [{lat: 53.22, lon: -4.13, radiusKm: 2}], geocodes: []},
    variants: [
      {language: 'en-GB', headline: 'A55 closed eastbound', description: 'The A55 is closed after a collision.', instruction: 'Use the A5.'},
      {language: 'cy-GB', headline: "A55 ar gau tua'r dwyrain", description: "Mae'r A55 ar gau ar ôl gwrthdrawiad."},
    ],
    channels: ['partners'],
    expiresAt: Date.parse('2025-03-01T18:00:00Z'),
    state: 'sending',
    author: 'officer',
    createdAt: Date.parse('2025-03-01T11:58:00Z'),
    updatedAt: Date.parse('2025-03-01T11:58:00Z'),
    ...overrides,
  }
}

/** Validated exactly as the config loader does: common settings plus the driver's own. */
function makeChannel(settings: Record<string, unknown>): ChannelConfig<WebhookSettings> {
  return channelFor<WebhookSettings>(webhook, 'partners', settings)
}

function makeContext(channel: ChannelConfig<WebhookSettings>, overrides: Partial<SendContext<WebhookSettings>> = {}): SendContext<WebhookSettings> {
  return sendContextFor(channel, http, {idempotencyKey: 'idem-key-1', ...overrides})
}

/** Renders and sends as the engine does, returning the error the send threw. */
async function sendExpectingError(settings: Record<string, unknown> = {}, overrides: Partial<SendContext<WebhookSettings>> = {}): Promise<Error> {
  const channel = makeChannel({url: `${fake.url}/hooks/alerts`, secret, ...settings})
  const announcement = makeAnnouncement()
  const {payload} = webhook.render(announcement, announcement.variants[0]!, {channel})
  const error = await webhook.send(payload, makeContext(channel, overrides)).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof Error)) throw new Error('expected send to throw')
  return error
}

describe('webhook render', () => {
  it('renders the CAP fields of the variant in a fixed key order', () => {
    const channel = makeChannel({url: 'https://partners.example/hooks/alerts'})
    const announcement = makeAnnouncement()
    const rendered = webhook.render(announcement, announcement.variants[1]!, {channel, capUrl: 'https://northwales.example/alerts/42.cap'})
    const document = JSON.parse(rendered.payload.body) as Record<string, unknown>

    expect(Object.keys(document)).toEqual([
      'id', 'identifier', 'sender', 'senderName', 'sent', 'status', 'msgType', 'scope', 'category', 'event', 'urgency', 'severity', 'certainty',
      'expires', 'web', 'area', 'language', 'headline', 'description', 'variants', 'links',
    ])
    expect(document).toMatchObject({
      senderName: 'North Wales Police',
      sent: '2025-03-01T11:58:00-00:00',
      expires: '2025-03-01T18:00:00-00:00',
      language: 'cy-GB',
      headline: "A55 ar gau tua'r dwyrain",
      links: [{rel: 'cap', type: 'application/cap+xml', href: 'https://northwales.example/alerts/42.cap'}],
    })
    expect(document.variants).toHaveLength(2)
    expect(rendered.payload.url).toBe('https://partners.example/hooks/alerts')
  })

  it("names what an Update follows up as CAP does (sender,identifier,sent), never by crier's own id", () => {
    const channel = makeChannel({url: 'https://partners.example/hooks/alerts'})
    const original = makeAnnouncement()
    const update = makeAnnouncement({id: '01JD6Y0000000000000000000U', identifier: 'crier-01JD6Y0000000000000000000U', msgType: 'Update', references: original.id})
    const document = JSON.parse(webhook.render(update, update.variants[0]!, {channel, referenced: original}).payload.body) as Record<string, unknown>
    expect(document.references).toBe(`${original.sender},${original.identifier},2025-03-01T11:58:00-00:00`)
    // The same "sent" as the original's own webhook carried: a partner matches on it.
    const originalDocument = JSON.parse(webhook.render(original, original.variants[0]!, {channel}).payload.body) as Record<string, unknown>
    expect(String(document.references).endsWith(`,${String(originalDocument.sent)}`)).toBe(true)
    expect(Object.keys(document).indexOf('references')).toBe(Object.keys(document).indexOf('scope') + 1)
  })

  it('renders the same bytes for the same announcement, whatever order its fields were built in', () => {
    const channel = makeChannel({url: 'https://partners.example/hooks/alerts'})
    const announcement = makeAnnouncement()
    const reordered = Object.fromEntries(Object.entries(announcement).reverse()) as unknown as Announcement
    const first = webhook.render(announcement, announcement.variants[0]!, {channel})
    const second = webhook.render(reordered, announcement.variants[0]!, {channel})
    expect(second.payload.body).toBe(first.payload.body)
    expect(JSON.parse(first.payload.body)).not.toHaveProperty('links')
  })

  it('shows one part labelled with the request, pretty-printed, counted in bytes', () => {
    const channel = makeChannel({url: 'https://partners.example/hooks/alerts'})
    const announcement = makeAnnouncement()
    const {parts, payload} = webhook.render(announcement, announcement.variants[0]!, {channel})
    expect(parts).toHaveLength(1)
    expect(parts[0]!.label).toBe('POST https://partners.example/hooks/alerts')
    expect(JSON.parse(parts[0]!.text)).toEqual(JSON.parse(payload.body))
    expect(parts[0]!.text).toContain('\n  "identifier"')
    // "–" and "ô" are multi-byte: the count is bytes on the wire, not characters.
    expect(parts[0]!.length).toEqual({count: Buffer.byteLength(payload.body), limit: 1_048_576, unit: 'bytes'})
    expect(parts[0]!.length!.count).toBeGreaterThan(payload.body.length)
  })

  it('keeps a token in the URL out of the preview label', () => {
    const channel = makeChannel({url: `https://partners.example/hooks/alerts?token=${queryToken}`})
    const announcement = makeAnnouncement()
    const {parts, payload} = webhook.render(announcement, announcement.variants[0]!, {channel})
    expect(parts[0]!.label).not.toContain(queryToken)
    expect(payload.url).toContain(queryToken)
  })
})

describe('webhook send', () => {
  it('posts the rendered body, signed, and returns the provider id as the receipt', async () => {
    const channel = makeChannel({url: `${fake.url}/hooks/alerts`, secret, headers: {'X-Partner': 'north-wales'}})
    const announcement = makeAnnouncement()
    const {payload} = webhook.render(announcement, announcement.variants[0]!, {channel})

    const receipt = await webhook.send(payload, makeContext(channel))

    expect(receipt).toEqual({providerId: 'fake-0'})
    const [received] = fake.requests
    expect(received).toMatchObject({method: 'POST', path: '/hooks/alerts', body: payload.body, outcome: 'answered', status: 200})
    expect(received!.headers['content-type']).toBe('application/json')
    expect(received!.headers['user-agent']).toBe('crier')
    expect(received!.headers['x-partner']).toBe('north-wales')
    const expectedSignature = createHmac('sha256', secret).update(received!.body).digest('hex')
    expect(received!.headers['x-crier-signature']).toBe(`sha256=${expectedSignature}`)
  })

  it('sends the idempotency key it is given, the same on every retry', async () => {
    const channel = makeChannel({url: `${fake.url}/hooks/alerts`})
    const announcement = makeAnnouncement()
    const {payload} = webhook.render(announcement, announcement.variants[0]!, {channel})
    fake.respondWith(faultMix({seed: 1, fail503Rate: 0, resetAt: [0]}))

    await expect(webhook.send(payload, makeContext(channel, {idempotencyKey: 'delivery-7-key'}))).rejects.toBeInstanceOf(TransientSendError)
    await webhook.send(payload, makeContext(channel, {idempotencyKey: 'delivery-7-key'}))

    expect(fake.requests.map((request) => request.headers['idempotency-key'])).toEqual(['delivery-7-key', 'delivery-7-key'])
    expect(fake.requests.distinct('Idempotency-Key')).toEqual(new Set(['delivery-7-key']))
  })

  it('uses the idempotency key as the receipt when the answer has no id, and signs nothing without a secret', async () => {
    fake.respondWith(() => ({status: 204}))
    const channel = makeChannel({url: `${fake.url}/hooks/alerts`})
    const announcement = makeAnnouncement()
    const {payload} = webhook.render(announcement, announcement.variants[0]!, {channel})

    expect(await webhook.send(payload, makeContext(channel))).toEqual({providerId: 'idem-key-1'})
    expect(fake.requests[0]!.headers).not.toHaveProperty('x-crier-signature')
  })

  it('refuses at config load headers that would replace its own, and names or values that cannot be sent', () => {
    const refusal = (headers: Record<string, string>) => webhook.config.safeParse({url: 'https://partners.example/hooks', headers}).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    expect(refusal({'idempotency-key': 'mine'})).toEqual(['headers.idempotency-key: crier sets idempotency-key itself — remove it'])
    expect(refusal({'X-Crier-Signature': 'forged', Host: 'evil.example'})).toEqual(['headers.X-Crier-Signature: crier sets X-Crier-Signature itself — remove it', 'headers.Host: crier sets Host itself — remove it'])
    expect(refusal({'X-Partner': 'north\r\nX-Injected: 1'})).toEqual(['headers.X-Partner: a header value must be one line (no CR, LF or NUL)'])
    expect(refusal({'X-Bar\r\nX-Inj': 'v'})?.[0]).toMatch(/^headers\.X-Bar\r\nX-Inj: expected a header name/)
    expect(refusal({'Keep-Alive': 'x', Upgrade: 'h2c', Expect: '100-continue'})).toEqual(['Keep-Alive', 'Upgrade', 'Expect'].map((name) => `headers.${name}: crier sets ${name} itself — remove it`))
    expect(refusal({'X-A': 'wave 🌊', Authorization: 'Bearer abc\u2603'})).toEqual(['headers.X-A', 'headers.Authorization'].map((path) => `${path}: a header value is Latin-1 text: no emoji or other characters beyond it (percent-encode them)`))
    expect(refusal({'X-Partner': 'Llanfair café'})).toBeUndefined()
    const both = webhook.config.safeParse({url: 'https://u:p@partners.example/hooks', headers: {Authorization: 'Bearer t'}}).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    expect(both).toEqual(["headers.Authorization: the url has a user and password too — keep one way to sign in: the url's, or this header"])
  })

  it('sends the user and password of the URL as Basic authorization, never in an error', async () => {
    const channel = makeChannel({url: `${fake.url.replace('http://', 'http://partner:p%40ss-word-77@')}/hooks/alerts`})
    const announcement = makeAnnouncement()
    const {payload} = webhook.render(announcement, announcement.variants[0]!, {channel})
    await webhook.send(payload, makeContext(channel))
    expect(fake.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('partner:p@ss-word-77').toString('base64')}`)
    expect(fake.requests[0]!.path).toBe('/hooks/alerts')
    fake.respondWith((request) => ({status: 401, body: `bad credentials ${request.headers.authorization}`}))
    const error = await webhook.send(payload, makeContext(channel)).then(() => undefined, (thrown: Error) => thrown)
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error!.message).toBe('HTTP 401: bad credentials Basic ***')
  })

  it('treats 503 as transient', async () => {
    fake.respondWith(() => ({status: 503, body: 'upstream unavailable'}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error.message).toBe('HTTP 503: upstream unavailable')
    expect((error as TransientSendError).retryAfterMs).toBeUndefined()
  })

  it('carries Retry-After on a 503', async () => {
    fake.respondWith(() => ({status: 503, headers: {'Retry-After': '7'}}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(TransientSendError)
    expect((error as TransientSendError).retryAfterMs).toBe(7000)
  })

  it.each([408, 425, 500, 502, 504])('treats HTTP %i as transient', async (status) => {
    fake.respondWith(() => ({status}))
    expect(await sendExpectingError()).toBeInstanceOf(TransientSendError)
  })

  it('treats 429 with Retry-After in seconds as rate limiting for that long', async () => {
    fake.respondWith(() => ({status: 429, headers: {'Retry-After': '12'}, body: 'slow down'}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(RateLimitedError)
    expect((error as RateLimitedError).retryAfterMs).toBe(12_000)
  })

  it('treats 429 with Retry-After as an HTTP date relative to the injected clock', async () => {
    fake.respondWith(() => ({status: 429, headers: {'Retry-After': new Date(fixedNow + 45_000).toUTCString()}}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(RateLimitedError)
    expect((error as RateLimitedError).retryAfterMs).toBe(45_000)
  })

  it('waits 30 s after a 429 that does not say how long', async () => {
    fake.respondWith(() => ({status: 429}))
    const error = await sendExpectingError()
    expect((error as RateLimitedError).retryAfterMs).toBe(30_000)
  })

  it('treats 400 as permanent, with the first line of the body as the reason', async () => {
    fake.respondWith(() => ({status: 400, body: '\n\u001b[31minvalid\u0007 payload: headline missing\u001b[0m\nat line 3\n'}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe('HTTP 400: invalid payload: headline missing')
  })

  it('truncates a long reason to 200 characters', async () => {
    fake.respondWith(() => ({status: 422, body: 'x'.repeat(5000)}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe(`HTTP 422: ${'x'.repeat(200)}…`)
  })

  it.each([401, 404, 410])('treats HTTP %i as permanent', async (status) => {
    fake.respondWith(() => ({status}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe(`HTTP ${status}`)
  })

  it('gives up on a stalled request at the channel timeout, as in doubt: the partner may hold it', async () => {
    fake.respondWith(() => ({stallMs: Infinity}))
    const error = await sendExpectingError({timeout: '300ms'})
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('timed out after 300 ms')
    // The server learns the client went away a moment after the client gives up.
    await vi.waitFor(() => expect(fake.requests[0]!.outcome).toBe('abandoned'))
  })

  it('treats a connection reset after the request went as in doubt (retried under its key)', async () => {
    fake.respondWith(() => ({reset: true}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toMatch(/^connection (reset|closed)/)
    expect(fake.requests[0]!.outcome).toBe('reset')
  })

  it('treats a refused connection as transient, not in doubt: nothing went', async () => {
    const channel = makeChannel({url: `${await closedPortUrl()}/hooks/alerts`, secret})
    const announcement = makeAnnouncement()
    const {payload} = webhook.render(announcement, announcement.variants[0]!, {channel})
    const error = await webhook.send(payload, makeContext(channel)).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error).not.toBeInstanceOf(InDoubtSendError)
    expect((error as Error).message).toBe('connection refused')
  })

  it('treats an abort from the engine as transient', async () => {
    fake.respondWith(() => ({stallMs: Infinity}))
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const error = await sendExpectingError({}, {signal: controller.signal})
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error.message).toBe('request aborted')
  })

  it('ends a stalled request when the fake closes, so no test hangs', async () => {
    fake.respondWith(() => ({stallMs: Infinity}))
    const pending = sendExpectingError({timeout: '60s'})
    while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    await fake.close()
    expect(await pending).toBeInstanceOf(TransientSendError)
  })

  it('never puts the secret, a header token or the URL query in an error message', async () => {
    const token = 'Bearer partner-token-abcdef123456'
    const settings = {url: `${fake.url}/hooks/alerts?token=${queryToken}`, headers: {Authorization: token}}
    const echo = `signature made with ${secret} for /hooks/alerts?token=${queryToken} and ${token}`
    const messages: string[] = []
    for (const answer of [
      {status: 400, body: echo},
      {status: 503, body: echo},
      {status: 429, body: echo},
    ]) {
      fake.respondWith(() => answer)
      messages.push((await sendExpectingError(settings)).message)
    }
    const closedUrl = `${await closedPortUrl()}/hooks/alerts?token=${queryToken}`
    messages.push((await sendExpectingError({...settings, url: closedUrl})).message)

    expect(messages).toHaveLength(4)
    for (const message of messages) {
      expect(message).not.toContain(secret)
      expect(message).not.toContain(queryToken)
      expect(message).not.toContain('partner-token-abcdef123456')
    }
    expect(messages[0]).toContain('HTTP 400: signature made with ***')
  })

  it('classifies a seeded fault mix the same way on every run', async () => {
    const channel = makeChannel({url: `${fake.url}/hooks/alerts`, secret})
    const announcement = makeAnnouncement()
    const {payload} = webhook.render(announcement, announcement.variants[0]!, {channel})
    const run = async () => {
      fake.respondWith(faultMix({seed: 42, fail503Rate: 0.3, rateLimitAt: [2], retryAfterSeconds: 5, resetAt: [4]}))
      const outcomes: string[] = []
      for (let index = 0; index < 12; index++) {
        outcomes.push(
          await webhook.send(payload, makeContext(channel, {idempotencyKey: `key-${index}`})).then(
            () => 'sent',
            (error: Error) => error.name,
          ),
        )
      }
      return outcomes
    }
    const first = await run()
    const second = await run()
    expect(second).toEqual(first)
    expect(first[2]).toBe('RateLimitedError')
    expect(first[4]).toBe('InDoubtSendError')
    expect(first).toContain('sent')
    expect(fake.requests.distinct('idempotency-key').size).toBe(12)
  })
})

describe('webhook check', () => {
  it('reports a live endpoint as reachable with a HEAD, posting nothing', async () => {
    fake.respondWith((request) => (request.method === 'HEAD' ? {status: 405} : {status: 200}))
    const channel = makeChannel({url: `${fake.url}/hooks/alerts`, secret})
    const result = await webhook.check(channel, {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: true, detail: 'reachable (HTTP 405); secret: set'})
    expect(fake.requests.map((request) => request.method)).toEqual(['HEAD'])
  })

  it.each([
    [503, 'failing: it answers HTTP 503 (a send now would be retried until it recovers); secret: not set'],
    [500, 'failing: it answers HTTP 500 (a send now would be retried until it recovers); secret: not set'],
    [401, "refused (HTTP 401): check the channel's headers; secret: not set"],
  ])('reports an endpoint that answers %i as not ready', async (status, detail) => {
    fake.respondWith(() => ({status}))
    const channel = makeChannel({url: `${fake.url}/hooks/alerts`})
    expect(await webhook.check(channel, {http, signal: new AbortController().signal})).toEqual({ok: false, detail})
  })

  it('reports a closed port as unreachable, with the reason', async () => {
    const channel = makeChannel({url: `${await closedPortUrl()}/hooks/alerts`})
    const result = await webhook.check(channel, {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: 'unreachable: connection refused; secret: not set'})
  })
})

describe('webhook config', () => {
  it('refuses a URL that is not http or https', () => {
    const result = webhook.config.safeParse({url: 'ftp://partners.example/alerts'})
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toBe('expected an http(s) URL')
  })

  it('refuses text that is not a URL', () => {
    expect(webhook.config.safeParse({url: 'partners.example/alerts'}).error?.issues[0]?.message).toBe('expected an http(s) URL')
  })

  it('accepts an https URL with a secret and headers', () => {
    const result = webhook.config.safeParse({url: 'https://partners.example/hooks', secret: 'k', headers: {'X-Partner': 'nw'}})
    expect(result.success).toBe(true)
  })

  it('refuses an empty secret, as an unset variable would leave it', () => {
    expect(webhook.config.safeParse({url: 'https://partners.example/hooks', secret: ''}).success).toBe(false)
  })
})
