import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import type {Announcement} from '../../src/core/announcement.js'
import {checkPolicy} from '../../src/core/policy/check.js'
import {ConfigError, loadConfig, type Config} from '../../src/config/load.js'
import {policySchema} from '../../src/config/schema.js'
import type {ChannelConfig, PostedPart, SendContext} from '../../src/channels/driver.js'
import {ChannelUnusableError, InDoubtSendError, PermanentSendError, RateLimitedError, TransientSendError} from '../../src/channels/errors.js'
import {createHttpClient, type HttpClient} from '../../src/channels/http.js'
import {driverFor} from '../../src/channels/registry.js'
import {oauthHeader, oauthSigner} from '../../src/channels/oauth1.js'
import {x, type XSettings} from '../../src/channels/x.js'
import {makeAnnouncement} from '../helpers/announcement.js'
import {partsInMemory} from '../helpers/thread-parts.js'
import {closedPortUrl, startProviderFake, type Answer, type IncomingRequest, type ProviderFake} from '../fakes/provider-server.js'
import {defaultXAccount, displayed, oauthParameters, postRequests, xCredentials, xFaults, xPlan, type XFake, type XPlanOptions} from '../fakes/x-plan.js'
import {channelFor, sendContextFor} from '../helpers/driver-context.js'

// The x driver against a real HTTP server on loopback that answers as X's v2 API does, OAuth
// 1.0a signatures checked, through the shared undici client.

const twitterText = createRequire(import.meta.url)('twitter-text') as typeof import('twitter-text')
const weighted = (text: string) => twitterText.parseTweet(text).weightedLength

/** A real TLD: twitter-text (and X) count it as a link, 23 whatever its length. */
const webLink = 'https://www.northwales.police.uk/alerts/a55-closure-junction-11-eastbound'
const capUrl = 'https://www.northwales.police.uk/alerts/cap/01HXAMP1E.xml'
const secrets = Object.values(xCredentials)

let http: HttpClient
let fake: ProviderFake
let xFake: XFake

beforeAll(() => {
  http = createHttpClient()
})
afterAll(async () => {
  await http.close()
})
beforeEach(async () => {
  xFake = xPlan()
  fake = await startProviderFake({plan: xFake.plan})
})
afterEach(async () => {
  await fake.close()
})

/** Replaces the plan with a fresh X plan with these options. */
function useXPlan(options: XPlanOptions): XFake {
  xFake = xPlan(options)
  fake.respondWith(xFake.plan)
  return xFake
}

/** Validated exactly as the config loader does: common settings plus the driver's own. */
function makeChannel(settings: Record<string, unknown> = {}): ChannelConfig<XSettings> {
  return channelFor<XSettings>(x, 'force-x', {...xCredentials, baseUrl: fake.url, ...settings})
}

function makeContext(channel: ChannelConfig<XSettings>, announcement: Announcement, overrides: Partial<SendContext<XSettings>> = {}): SendContext<XSettings> {
  return sendContextFor(channel, http, {announcement, now: Date.now, ...overrides})
}

function render(announcement: Announcement, channel = makeChannel(), options: {capUrl?: string} = {}) {
  return x.render(announcement, announcement.variants[0]!, {channel, ...options})
}

/** Renders and sends as the engine does. */
async function send(announcement: Announcement, channel = makeChannel(), overrides: Partial<SendContext<XSettings>> = {}) {
  return x.send(render(announcement, channel).payload, makeContext(channel, announcement, overrides))
}

async function sendExpectingError(announcement: Announcement = sayingText('Road closed.'), channel = makeChannel(), overrides: Partial<SendContext<XSettings>> = {}): Promise<Error> {
  const error = await send(announcement, channel, overrides).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof Error)) throw new Error('expected send to throw')
  return error
}

/** An announcement whose post is exactly `text` (no tag, no body, no link). */
function sayingText(text: string, overrides: Partial<Announcement> = {}): Announcement {
  return makeAnnouncement({severity: 'Unknown', variants: [{language: 'en-GB', headline: text, description: ''}], ...overrides})
}

/** Ten sentences of ~70 characters: a thread of three or four posts. */
function longAnnouncement(overrides: Partial<Announcement> = {}): Announcement {
  const description = Array.from({length: 10}, (_, i) => `Update ${i + 1}: the eastbound carriageway stays closed while crews clear the debris.`).join(' ')
  return makeAnnouncement({
    severity: 'Severe',
    web: webLink,
    variants: [{language: 'en-GB', headline: 'A55 closed at Junction 11', description, instruction: 'Use the A5 through Llanfairfechan.'}],
    ...overrides,
  })
}

const statusUrl = (id: string) => `https://x.com/i/web/status/${id}`

describe('x render', () => {
  it('puts the severity tag and headline first, then body, instruction and link, counted as X counts', () => {
    const announcement = makeAnnouncement({
      severity: 'Severe',
      web: webLink,
      variants: [{language: 'en-GB', headline: 'A55 closed at Junction 11', description: 'The A55 is closed eastbound after a collision.', instruction: 'Use the A5.'}],
    })
    const {parts, payload} = render(announcement)
    const text = `🟠 SEVERE: A55 closed at Junction 11\n\nThe A55 is closed eastbound after a collision.\n\nUse the A5.\n\n${webLink}`
    // 🟠 weighs 2, the link 23 whatever its length, everything else 1.
    const count = 2 + '  SEVERE: A55 closed at Junction 11'.length - 1 + 2 + 'The A55 is closed eastbound after a collision.'.length + 2 + 'Use the A5.'.length + 2 + 23
    expect(count).toBe(weighted(text))
    expect(parts).toEqual([{label: 'post', text, length: {count, limit: 280, unit: 'x-weighted'}}])
    expect(payload).toEqual({posts: [text]})
  })

  it.each([
    ['an emoji (2)', 'Flood 🌊', 8],
    ['an emoji with a skin tone, one emoji (2)', 'Thanks 👍🏽', 9],
    ['a family ZWJ sequence, one emoji (2)', 'Family 👨‍👩‍👧‍👦', 9],
    ["the Welsh flag's tag sequence, one emoji (2)", 'Cymru 🏴󠁧󠁢󠁷󠁬󠁳󠁿', 8],
    ['Hebrew, right to left (1 each)', 'שלום עולם', 9],
    ['Arabic, right to left (1 each)', 'خطر فيضان', 9],
    ['a combining accent, counted after NFC', 'Cafe\u0301 closed', 11],
    ['Welsh ŵ (1)', 'Dŵr yn codi', 11],
    ['CJK (2 each)', '東京 closed', 11],
    ['an ellipsis (2, outside the light ranges)', 'Wait…', 6],
    ['a long URL (23)', `See ${webLink}`, 27],
    ['a domain without scheme on a real TLD (23)', 'See gov.wales/alerts', 27],
    ['a name on a reserved TLD, not a link (its characters)', 'See northwales.example/alerts', 29],
  ])('counts %s as twitter-text does', (_name, text, count) => {
    const {parts} = render(sayingText(text))
    expect(parts[0]!.text).toBe(text)
    expect(parts[0]!.length!.count).toBe(count)
    expect(weighted(text)).toBe(count)
  })

  it('keeps exactly 280 weighted in one post, even with a link far longer than 23 characters', () => {
    const headline = `${'Road closed. '.repeat(19)}${'a'.repeat(255 - 13 * 19 - 1)}.`
    expect(headline).toHaveLength(255)
    const {parts} = render(sayingText(headline, {web: webLink}))
    expect(parts).toHaveLength(1)
    expect(parts[0]!.text).toBe(`${headline}\n\n${webLink}`)
    expect(parts[0]!.text.length).toBeGreaterThan(280)
    expect(parts[0]!.length).toEqual({count: 280, limit: 280, unit: 'x-weighted'})
  })

  it('makes a thread of two at 281 weighted, the link in the first post', () => {
    const headline = `${'Road closed. '.repeat(19)}${'a'.repeat(256 - 13 * 19 - 1)}.`
    const {parts} = render(sayingText(headline, {web: webLink}))
    expect(parts.map((part) => part.label)).toEqual(['post 1/2', 'post 2/2'])
    expect(parts[0]!.text).toContain(webLink)
    expect(parts[1]!.text).not.toContain('https://')
    for (const part of parts) {
      expect(part.length!.count).toBe(weighted(part.text))
      expect(part.length!.count).toBeLessThanOrEqual(280)
    }
  })

  it('splits a long announcement into a numbered thread at sentence boundaries, tag and link in the first post', () => {
    const announcement = longAnnouncement()
    const {parts, payload} = render(announcement)
    expect(parts.length).toBeGreaterThanOrEqual(3)
    expect(payload.posts).toEqual(parts.map((part) => part.text))
    parts.forEach((part, index) => {
      expect(part.label).toBe(`post ${index + 1}/${parts.length}`)
      expect(part.text.endsWith(`\n${index + 1}/${parts.length}`)).toBe(true)
      expect(part.length).toEqual({count: weighted(part.text), limit: 280, unit: 'x-weighted'})
      expect(part.length!.count).toBeLessThanOrEqual(280)
    })
    expect(parts[0]!.text.startsWith('🟠 SEVERE: A55 closed at Junction 11\n\n')).toBe(true)
    expect(parts[0]!.text).toContain(`\n\n${webLink}\n1/`)
    for (const part of parts.slice(1)) {
      expect(part.text).not.toContain('SEVERE')
      expect(part.text).not.toContain('https://')
      // Whole sentences only.
      expect(part.text.replace(/\n\d+\/\d+$/, '')).toMatch(/^(Update \d+: .*?debris\.\s*)+(Use the A5 through Llanfairfechan\.)?$/)
    }
  })

  it('links the CAP document when the announcement has no web link', () => {
    const {parts} = render(sayingText('Road closed.'), makeChannel(), {capUrl})
    expect(parts[0]!.text).toBe(`Road closed.\n\n${capUrl}`)
  })

  it('says first that it is an exercise, and leaves the severity tag out when configured', () => {
    const exercise = sayingText('Evacuate Llanrwst', {status: 'Exercise', severity: 'Extreme'})
    expect(render(exercise).parts[0]!.text).toBe('EXERCISE · 🔴 EXTREME: Evacuate Llanrwst')
    expect(render(exercise, makeChannel({severityTag: false})).parts[0]!.text).toBe('EXERCISE: Evacuate Llanrwst')
  })

  it('with threads off keeps one post over the limit, which policy refuses', () => {
    const announcement = longAnnouncement()
    const channel = makeChannel({threads: false})
    const rendered = render(announcement, channel)
    expect(rendered.parts).toHaveLength(1)
    expect(rendered.parts[0]!.length!.count).toBeGreaterThan(280)

    const config: Config = {source: 'test', sender: 'alerts@northwales.example', timezone: 'Europe/London', languages: ['en-GB'], channels: {[channel.name]: channel}, policy: policySchema.parse({})}
    const findings = checkPolicy(announcement, config, [{channel, driver: x, rendered}], Date.now())
    expect(findings).toContainEqual(expect.objectContaining({level: 'error', rule: 'channel-limit', channel: 'force-x'}))
  })

  it('declares weighted counting, threads, no idempotency and a reconcile', () => {
    expect(x.capabilities).toEqual({maxLength: 280, counts: 'x-weighted', threads: true, media: false, idempotent: false, reconcile: true})
    expect(typeof x.reconcile).toBe('function')
    expect(driverFor('x')).toBe(x)
  })
})

describe('x OAuth 1.0a signature', () => {
  const signatureOf = (header: string) => oauthParameters({headers: {authorization: header}})!.oauth_signature

  it("matches X's documented example (https://docs.x.com/…/creating-a-signature)", () => {
    const header = oauthHeader(
      {method: 'POST', url: 'https://api.twitter.com/1.1/statuses/update.json?include_entities=true', form: {status: 'Hello Ladies + Gentlemen, a signed OAuth request!'}},
      {consumerKey: 'xvz1evFS4wEEPTGEFPHBog', consumerSecret: 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw', token: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb', tokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE'},
      'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg',
      1318622958,
    )
    expect(header).toContain('oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"')
    expect(oauthParameters({headers: {authorization: header}})).toEqual({
      oauth_consumer_key: 'xvz1evFS4wEEPTGEFPHBog',
      oauth_nonce: 'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg',
      oauth_signature: 'hCtSmYh+iHYCEqBWrE7C7hYmtUk=',
      oauth_signature_method: 'HMAC-SHA1',
      oauth_timestamp: '1318622958',
      oauth_token: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb',
      oauth_version: '1.0',
    })
  })

  it.each([
    ['a post', 'POST', 'https://api.x.com/2/tweets'],
    ['a timeline page', 'GET', 'https://api.x.com/2/users/1790000000000000001/tweets?max_results=100&start_time=2024-05-09T09%3A25%3A00Z&exclude=retweets&tweet.fields=created_at%2Centities%2Creferenced_tweets&pagination_token=next100'],
    ['a proxy with a port, a path prefix and awkward query values', 'GET', "http://Proxy.Example:8080/x/2/users/me?q=a%20b%21%2A%27%28%29&w=%C5%B5&a1=2&a=1"],
  ])("agrees with twitter-api-v2's signer for %s", (_name, method, url) => {
    const {OAuth1Helper} = createRequire(import.meta.url)('twitter-api-v2/dist/cjs/client-mixins/oauth1.helper.js') as typeof import('twitter-api-v2/dist/cjs/client-mixins/oauth1.helper.js')
    const helper = new OAuth1Helper({consumerKeys: {key: xCredentials.apiKey, secret: xCredentials.apiSecret}})
    const fixed = helper as unknown as {getNonce: () => string; getTimestamp: () => number}
    fixed.getNonce = () => 'b3a7c6e1f0d94c2a8e5f7a9b1c3d5e7f'
    fixed.getTimestamp = () => 1_746_000_000
    const expected = helper.authorize({url: new URL(url).href, method, data: {}}, {key: xCredentials.accessToken, secret: xCredentials.accessSecret}).oauth_signature
    const credentials = {consumerKey: xCredentials.apiKey, consumerSecret: xCredentials.apiSecret, token: xCredentials.accessToken, tokenSecret: xCredentials.accessSecret}
    expect(signatureOf(oauthHeader({method, url}, credentials, 'b3a7c6e1f0d94c2a8e5f7a9b1c3d5e7f', 1_746_000_000))).toBe(expected)
  })

  it.each([
    ['a post (the precomputed path)', 'POST', 'https://api.x.com/2/tweets'],
    ['a request with a query (the general path)', 'GET', 'https://api.x.com/2/users/1/tweets?max_results=100&start_time=2024-05-09T09%3A25%3A00Z'],
  ])('signs %s exactly as the general signer does, credentials that need encoding included', (_name, method, url) => {
    const credentials = {consumerKey: 'key with space+plus', consumerSecret: 'se/cr=et+', token: '1790-tok%en', tokenSecret: 'tok!en*secret'}
    const signer = oauthSigner(credentials, () => 'b3a7c6e1f0d94c2a8e5f7a9b1c3d5e7f', () => 1_746_000_000)
    expect(signer.authorize(method, url)).toBe(oauthHeader({method, url}, credentials, 'b3a7c6e1f0d94c2a8e5f7a9b1c3d5e7f', 1_746_000_000))
  })
})

describe('x send', () => {
  it('posts the text as JSON to /2/tweets, signed with OAuth 1.0a, and returns the post id and address', async () => {
    const receipt = await send(sayingText('Road closed.', {web: webLink}))

    const [post] = xFake.posts
    expect(receipt).toEqual({providerId: post!.id, url: statusUrl(post!.id)})
    expect(post!.text).toBe(`Road closed.\n\n${webLink}`)
    expect(post!.replyTo).toBeUndefined()
    const [request] = fake.requests
    expect(request).toMatchObject({method: 'POST', path: '/2/tweets', status: 201})
    expect(request!.headers['content-type']).toBe('application/json')
    expect(JSON.parse(request!.body)).toEqual({text: `Road closed.\n\n${webLink}`})
    expect(oauthParameters(request!)).toMatchObject({oauth_consumer_key: xCredentials.apiKey, oauth_token: xCredentials.accessToken, oauth_signature_method: 'HMAC-SHA1', oauth_version: '1.0'})
    expect(xFake.refusals).toEqual([])
  })

  it('posts a thread in order, each part replying to the one before, and records every part', async () => {
    const announcement = longAnnouncement()
    const {payload} = render(announcement)
    const progress = partsInMemory()
    const receipt = await x.send(payload, makeContext(makeChannel(), announcement, progress))

    const posts = xFake.posts
    expect(posts.map((post) => post.text)).toEqual(payload.posts)
    expect(posts[0]!.replyTo).toBeUndefined()
    posts.slice(1).forEach((post, index) => expect(post.replyTo).toBe(posts[index]!.id))
    expect(postRequests(fake.requests).map((request) => request.replyTo)).toEqual([undefined, ...posts.slice(0, -1).map((post) => post.id)])
    expect(progress.postedParts).toEqual(posts.map((post, index) => ({index, providerId: post.id, url: statusUrl(post.id)})))
    expect(receipt).toEqual({providerId: posts[0]!.id, url: statusUrl(posts[0]!.id)})
    // Every request signed afresh: no nonce reused, none refused.
    expect(new Set(fake.requests.map((request) => oauthParameters(request)!.oauth_nonce)).size).toBe(fake.requests.length)
    expect(xFake.refusals).toEqual([])
  })

  it('resumes a thread whose third post failed at the third post, replying to the second', async () => {
    useXPlan({cueAt: {2: xFaults.serviceUnavailable()}})
    const announcement = longAnnouncement()
    const channel = makeChannel()
    const {payload} = render(announcement, channel)
    expect(payload.posts.length).toBeGreaterThanOrEqual(3)
    const progress = partsInMemory()

    const first = await x.send(payload, makeContext(channel, announcement, progress)).catch((error: unknown) => error)
    expect(first).toBeInstanceOf(TransientSendError)
    expect(xFake.posts.map((post) => post.text)).toEqual(payload.posts.slice(0, 2))
    expect(progress.postedParts.map((part) => part.providerId)).toEqual(xFake.posts.map((post) => post.id))

    const receipt = await x.send(payload, makeContext(channel, announcement, progress))
    const posts = xFake.posts
    expect(posts.map((post) => post.text)).toEqual(payload.posts)
    expect(posts[2]!.replyTo).toBe(posts[1]!.id)
    // Part 1 and 2 went once each: four post requests for a three-part thread (one refused).
    const texts = postRequests(fake.requests).map((request) => request.text)
    expect(texts.filter((text) => text === payload.posts[0])).toHaveLength(1)
    expect(texts.filter((text) => text === payload.posts[1])).toHaveLength(1)
    expect(receipt).toEqual({providerId: posts[0]!.id, url: statusUrl(posts[0]!.id)})
  })

  it('signs for a baseUrl with a trailing slash as the server sees the URL', async () => {
    await send(sayingText('Road closed.'), makeChannel({baseUrl: `${fake.url}/`}))
    expect(fake.requests[0]!.path).toBe('/2/tweets')
    expect(xFake.posts).toHaveLength(1)
  })
})

describe('x send: errors', () => {
  const now = () => Math.floor(Date.now() / 1000)

  it('pauses the channel until x-rate-limit-reset on a 429', async () => {
    useXPlan({cueAt: {0: xFaults.rateLimited(now() + 600)}})
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(RateLimitedError)
    expect(error.message).toBe('X 429: Too Many Requests')
    const waited = (error as RateLimitedError).retryAfterMs
    expect(waited).toBeGreaterThan(590_000)
    expect(waited).toBeLessThanOrEqual(600_000)
  })

  it("pauses until the 24-hour reset when the account's daily posting limit is used up", async () => {
    useXPlan({cueAt: {0: xFaults.dailyLimit(now() + 600, now() + 20 * 3600)}})
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(RateLimitedError)
    expect(error.message).toBe("X 429: Too Many Requests (the account's 24-hour posting limit)")
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(20 * 3600_000 - 10_000)
  })

  it('waits out a 15-minute window on a 429 that says nothing', async () => {
    useXPlan({cueAt: {0: {status: 429}}})
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(RateLimitedError)
    expect(error.message).toBe('X 429')
    expect((error as RateLimitedError).retryAfterMs).toBe(900_000)
  })

  it.each([
    ['503 with Retry-After', xFaults.serviceUnavailable(5), TransientSendError, 'X 503: Service Unavailable', 5000],
    ['500', xFaults.internalError(), TransientSendError, 'X 500: Internal Server Error', undefined],
    ['400 invalid request, saying which parameter', xFaults.invalidRequest('The `text` field is required when no media is attached.'), PermanentSendError, 'X 400: The `text` field is required when no media is attached.', undefined],
    ['403 text too long', xFaults.tooLong(), PermanentSendError, 'X 403: Your Tweet text is too long. For more information on how Twitter determines text length see https://github.com/twitter/twitter-text.', undefined],
    ['403 read-only app', xFaults.readOnlyApp(), PermanentSendError, 'X 403: Your client app is not configured with the appropriate oauth1 app permissions for this endpoint.', undefined],
    ['a v1-style error', {status: 401, headers: {'Content-Type': 'application/json'}, body: '{"errors":[{"code":32,"message":"Could not authenticate you."}]}'} as Answer, ChannelUnusableError, "X 401: Could not authenticate you. (code 32) — check the channel's apiKey, apiSecret, accessToken and accessSecret", undefined],
    ['a 404 without a body', {status: 404} as Answer, PermanentSendError, 'X 404', undefined],
  ])('classifies %s', async (_name, answer, type, message, retryAfterMs) => {
    useXPlan({cueAt: {0: answer}})
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(type)
    expect(error.message).toBe(message)
    expect((error as {retryAfterMs?: number}).retryAfterMs).toBe(retryAfterMs)
    expect(xFake.posts).toEqual([])
  })

  it('takes a wrong secret (signature mismatch, 401) as the channel unusable, its deliveries waiting for the fix, naming the settings and not the values', async () => {
    const error = await sendExpectingError(undefined, makeChannel({accessSecret: 'wrong-access-secret-000'}))
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toBe("X 401: Unauthorized — check the channel's apiKey, apiSecret, accessToken and accessSecret")
    expect(xFake.refusals).toEqual(['signature mismatch'])
    expect(xFake.posts).toEqual([])
  })

  it('treats a stalled API as transient at the channel timeout', async () => {
    useXPlan({cueAt: {0: {stallMs: Infinity}}})
    const error = await sendExpectingError(undefined, makeChannel({timeout: '300ms'}))
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error.message).toBe('timed out after 300 ms')
  })

  it('treats a reset connection and a refused one as transient', async () => {
    useXPlan({cueAt: {0: {reset: true}}})
    const reset = await sendExpectingError()
    expect(reset).toBeInstanceOf(TransientSendError)
    expect(reset.message).toMatch(/^connection (reset|closed)/)
    const refused = await sendExpectingError(undefined, makeChannel({baseUrl: await closedPortUrl()}))
    expect(refused).toBeInstanceOf(TransientSendError)
    expect(refused.message).toBe('connection refused')
  })

  it('never puts a credential in an error, even when X echoes the request back', async () => {
    const quoting = (status: number) => (request: IncomingRequest) => ({status, body: `you sent ${String(request.headers.authorization)} with ${secrets.join(' ')}`})
    const messages: string[] = []
    for (const status of [400, 401, 403, 429, 503]) {
      fake.respondWith(quoting(status))
      messages.push((await sendExpectingError()).message)
    }
    fake.respondWith(quoting(401))
    messages.push((await x.check(makeChannel(), {http, signal: new AbortController().signal})).detail)
    for (const message of messages) for (const secret of secrets) expect(message).not.toContain(secret)
    expect(messages[0]).toMatch(/^X 400: you sent OAuth oauth_consumer_key="\*\*\*"/)
  })

  it('keeps no piece of a credential X echoes many times: it is scrubbed before the reason is cut', async () => {
    const token = xCredentials.accessToken
    fake.respondWith(() => ({status: 403, body: JSON.stringify({errors: [{message: `Invalid token: ${Array(16).fill(token).join(' ')} ${'p'.repeat(12)}${token}`}]})}))
    const message = (await sendExpectingError()).message
    expect(message).toMatch(/^X 403: Invalid token: \*\*\* \*\*\*/)
    for (let length = 8; length <= token.length; length++) expect(message).not.toContain(token.slice(0, length))
  })
})

describe('x send: duplicates', () => {
  it('carries on from a post whose answer was lost: X refuses the repeat as a duplicate, the lookup finds it', async () => {
    useXPlan({cueAt: {1: 'post-then-reset'}})
    const announcement = longAnnouncement()
    const channel = makeChannel()
    const {payload} = render(announcement, channel)
    const progress = partsInMemory()

    const first = await x.send(payload, makeContext(channel, announcement, progress)).catch((error: unknown) => error)
    expect(first).toBeInstanceOf(TransientSendError)
    // Part 2 is on X, but the driver never heard so.
    expect(xFake.posts).toHaveLength(2)
    expect(progress.postedParts).toHaveLength(1)

    const receipt = await x.send(payload, makeContext(channel, announcement, progress))
    const posts = xFake.posts
    expect(posts.map((post) => post.text)).toEqual(payload.posts)
    posts.slice(1).forEach((post, index) => expect(post.replyTo).toBe(posts[index]!.id))
    expect(progress.postedParts.map((part) => part.providerId)).toEqual(posts.map((post) => post.id))
    expect(receipt.providerId).toBe(posts[0]!.id)
    const answered = fake.requests.filter((request) => request.path === '/2/tweets').map((request) => request.status ?? request.outcome)
    expect(answered).toEqual([201, 'reset', 403, ...payload.posts.slice(2).map(() => 201)])
  })

  it('refuses as permanent a duplicate of a post made before the announcement, posting nothing', async () => {
    const announcement = sayingText('Bins collected Tuesday.')
    useXPlan({existing: [{text: 'Bins collected Tuesday.', createdAt: announcement.createdAt - 7 * 86_400_000}]})
    const error = await sendExpectingError(announcement)
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe(
      'X 403: You are not allowed to create a Tweet with duplicate content. — an identical post is already on the account, not one made since this announcement was created — check the account',
    )
    expect(xFake.posts).toHaveLength(1)
  })

  it('never takes another announcement\'s identical post, made minutes before this one was drafted, as its own', async () => {
    const announcement = sayingText('Bin collections are delayed by one day.')
    useXPlan({existing: [{text: 'Bin collections are delayed by one day.', createdAt: announcement.createdAt - 60_000}]})
    const another = xFake.posts[0]!.id
    const asked: string[] = []
    const error = await sendExpectingError(announcement, makeChannel(), {postedElsewhere: (providerId) => (asked.push(providerId), providerId === another)})
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe(
      'X 403: You are not allowed to create a Tweet with duplicate content. — an identical post is already on the account: another announcement posted the same words minutes ago, and X takes no identical post twice — change the words to send this one',
    )
    expect(asked).toEqual([another])
    // Not another's: within the window, it is this announcement's lost post.
    const receipt = await send(announcement, makeChannel(), {postedElsewhere: () => false})
    expect(receipt.providerId).toBe(another)
  })

  it('takes a duplicate as in doubt when the lookup is not allowed, saying why: the identical post may be this one', async () => {
    const announcement = sayingText('Road closed.')
    useXPlan({existing: [{text: 'Road closed.', createdAt: Date.now()}], cueTimelineAt: {0: xFaults.clientNotEnrolled()}})
    const error = await sendExpectingError(announcement)
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toMatch(/^X 403: You are not allowed to create a Tweet with duplicate content\. — an identical post is already on the account, and looking for it failed \(X 403: When authenticating/)
  })
})

describe('x reconcile', () => {
  async function reconcile(announcement: Announcement, progress = partsInMemory()) {
    return x.reconcile!('delivery-1', makeContext(makeChannel(), announcement, progress))
  }

  it('finds a post whose answer was lost, comparing after expanding t.co links and undoing HTML escapes', async () => {
    useXPlan({cueAt: {0: 'post-then-reset'}})
    const announcement = sayingText('Flood <warning> for Conwy & Llanrwst 🌊', {web: webLink})
    expect(await sendExpectingError(announcement)).toBeInstanceOf(TransientSendError)
    const [post] = xFake.posts
    // What X shows differs from what was sent: the reconcile must see through it.
    expect(displayed(post!).text).toMatch(/^Flood &lt;warning&gt; for Conwy &amp; Llanrwst 🌊\n\nhttps:\/\/t\.co\/\w{10}$/)

    expect(await reconcile(announcement)).toEqual({providerId: post!.id, url: statusUrl(post!.id)})
    const lookups = fake.requests.filter((request) => request.method === 'GET').map((request) => request.path.split('?')[0])
    expect(lookups).toEqual(['/2/users/me', `/2/users/${defaultXAccount.id}/tweets`])
    const query = new URL(fake.requests.at(-1)!.path, fake.url).searchParams
    expect(Object.fromEntries(query)).toMatchObject({max_results: '100', exclude: 'retweets', 'tweet.fields': 'created_at,entities,referenced_tweets'})
    expect(Date.parse(query.get('start_time')!)).toBeLessThan(announcement.createdAt)
    // The query was part of the signature, and X accepted it.
    expect(xFake.refusals).toEqual([])
  })

  it('says the post did not go out when the account has nothing like it since the announcement', async () => {
    const announcement = sayingText('Road closed.', {web: webLink})
    useXPlan({existing: [{text: 'Something else entirely.', createdAt: Date.now()}]})
    expect(await reconcile(announcement)).toBeUndefined()
  })

  it('does not take an identical post older than the announcement for this one', async () => {
    const announcement = sayingText('Bins collected Tuesday.')
    useXPlan({existing: [{text: 'Bins collected Tuesday.', createdAt: announcement.createdAt - 86_400_000}]})
    expect(await reconcile(announcement)).toBeUndefined()
  })

  it('finds the post when the engine linked the CAP document, which the lookup does not know', async () => {
    const announcement = longAnnouncement({web: undefined})
    const {payload} = render(announcement, makeChannel(), {capUrl})
    expect(payload.posts[0]).toContain(capUrl)
    await x.send(payload, makeContext(makeChannel(), announcement))
    const ids = xFake.posts.map((post) => post.id)

    const progress = partsInMemory()
    expect(await reconcile(announcement, progress)).toEqual({providerId: ids[0], url: statusUrl(ids[0]!)})
    expect(progress.postedParts.map((part) => part.providerId)).toEqual(ids)
  })

  it('finds the in-doubt last post of a thread as a reply to the recorded one before: sent', async () => {
    const announcement = longAnnouncement()
    const channel = makeChannel()
    const {payload} = render(announcement, channel)
    const last = payload.posts.length - 1
    useXPlan({cueAt: {[last]: 'post-then-reset'}})
    const progress = partsInMemory()
    expect(await x.send(payload, makeContext(channel, announcement, progress)).catch((error: unknown) => error)).toBeInstanceOf(TransientSendError)
    expect(progress.postedParts).toHaveLength(last)

    const receipt = await reconcile(announcement, progress)
    const ids = xFake.posts.map((post) => post.id)
    expect(ids).toHaveLength(payload.posts.length)
    expect(receipt).toEqual({providerId: ids[0], url: statusUrl(ids[0]!)})
    expect(progress.postedParts.map((part) => part.providerId)).toEqual(ids)
  })

  it('finds the in-doubt third post of a four-part thread: recorded, and the rest left to the next send', async () => {
    useXPlan({cueAt: {2: 'post-then-reset'}})
    const announcement = longAnnouncement()
    const channel = makeChannel()
    const {payload} = render(announcement, channel)
    expect(payload.posts).toHaveLength(4)
    const progress = partsInMemory()
    expect(await x.send(payload, makeContext(channel, announcement, progress)).catch((error: unknown) => error)).toBeInstanceOf(TransientSendError)

    expect(await reconcile(announcement, progress)).toBeUndefined()
    const ids = xFake.posts.map((post) => post.id)
    expect(progress.postedParts.map((part) => part.providerId)).toEqual(ids.slice(0, 3))
    await x.send(payload, makeContext(channel, announcement, progress))
    expect(xFake.posts.map((post) => post.text)).toEqual(payload.posts)
    expect(xFake.posts[3]!.replyTo).toBe(ids[2])
  })

  it('records the parts it finds of a half-posted thread, so the next send posts only the rest', async () => {
    const announcement = longAnnouncement()
    const channel = makeChannel()
    const {payload} = render(announcement, channel)
    // Parts 1 and 2 went out, and the process died before recording either.
    await x.send({posts: payload.posts}, makeContext(channel, announcement)).catch(() => undefined)
    const all = [...xFake.posts]
    useXPlan({existing: all.slice(0, 2).map((post) => ({...post}))})

    const progress = partsInMemory()
    expect(await reconcile(announcement, progress)).toBeUndefined()
    expect(progress.postedParts.map((part) => part.providerId)).toEqual(all.slice(0, 2).map((post) => post.id))

    await x.send(payload, makeContext(channel, announcement, progress))
    expect(xFake.posts.map((post) => post.text)).toEqual(payload.posts)
    expect(xFake.posts[2]!.replyTo).toBe(all[1]!.id)
  })

  it('does not take a post with the same text that replies to another post for a later part', async () => {
    const announcement = longAnnouncement()
    const {payload} = render(announcement)
    const first: PostedPart = {index: 0, providerId: '1800000000000000100', url: statusUrl('1800000000000000100')}
    useXPlan({
      existing: [
        {id: first.providerId, text: payload.posts[0]!, createdAt: Date.now() - 2000},
        {text: 'An older thread.', createdAt: Date.now() - 1500, id: '1800000000000000200'},
        {text: payload.posts[1]!, createdAt: Date.now() - 1000, replyTo: '1800000000000000200'},
      ],
    })
    const progress = partsInMemory([first])
    expect(await reconcile(announcement, progress)).toBeUndefined()
    expect(progress.postedParts).toEqual([first])
  })

  it('does not call a thread sent because the recorded parts cover a rendering without the CAP link', async () => {
    // Without a link this is one post; with the CAP link the engine used, two.
    const headline = `${'Road closed. '.repeat(20)}Use the A5.`
    const announcement = sayingText(headline)
    expect(render(announcement).payload.posts).toHaveLength(1)
    const {payload} = render(announcement, makeChannel(), {capUrl})
    expect(payload.posts).toHaveLength(2)
    useXPlan({cueAt: {1: xFaults.serviceUnavailable()}})
    const progress = partsInMemory()
    expect(await x.send(payload, makeContext(makeChannel(), announcement, progress)).catch((error: unknown) => error)).toBeInstanceOf(TransientSendError)
    expect(progress.postedParts).toHaveLength(1)

    expect(await reconcile(announcement, progress)).toBeUndefined()
    await x.send(payload, makeContext(makeChannel(), announcement, progress))
    expect(xFake.posts.map((post) => post.text)).toEqual(payload.posts)
  })

  it("takes a follow-up's post only where it replies to the original's last post", async () => {
    const announcement = sayingText('Cancelled: road closed. Please disregard it.')
    const parent: PostedPart = {index: 0, providerId: '1800000000000000300', url: statusUrl('1800000000000000300')}
    const followUpOf = {root: parent, parent}
    const elsewhere = {text: announcement.variants[0]!.headline, createdAt: Date.now() - 1000, id: '1800000000000000400', replyTo: '1800000000000000999'}
    useXPlan({existing: [elsewhere]})
    const progress = partsInMemory()
    expect(await x.reconcile!('delivery-1', makeContext(makeChannel(), announcement, {...progress, followUpOf}))).toBeUndefined()
    expect(progress.postedParts).toEqual([])

    useXPlan({existing: [elsewhere, {...elsewhere, id: '1800000000000000500', replyTo: parent.providerId}]})
    expect(await x.reconcile!('delivery-1', makeContext(makeChannel(), announcement, {...progress, followUpOf}))).toEqual({providerId: '1800000000000000500', url: statusUrl('1800000000000000500')})
  })

  it('reads further pages of the timeline', async () => {
    const announcement = sayingText('Road closed.', {web: webLink})
    const later = Array.from({length: 150}, (_, i) => ({text: `Unrelated post ${i}.`, createdAt: Date.now() - 1000 + i}))
    useXPlan({existing: [{text: `Road closed.\n\n${webLink}`, createdAt: Date.now() - 60_000, id: '1800000000000000777'}, ...later]})
    expect(await reconcile(announcement)).toEqual({providerId: '1800000000000000777', url: statusUrl('1800000000000000777')})
    expect(fake.requests.filter((request) => request.path.startsWith(`/2/users/${defaultXAccount.id}/tweets`))).toHaveLength(2)
  })

  it('throws when it cannot read every post since the announcement', async () => {
    const announcement = sayingText('Road closed.', {web: webLink})
    useXPlan({existing: Array.from({length: 501}, (_, i) => ({text: `Unrelated post ${i}.`, createdAt: Date.now() - 10_000 + i}))})
    await expect(reconcile(announcement)).rejects.toThrow(/^the account has more than 500 posts since \S+; cannot tell whether this one is among them$/)
  })

  it('throws with X reason when the lookup is refused', async () => {
    useXPlan({cueTimelineAt: {0: xFaults.clientNotEnrolled()}})
    await expect(reconcile(sayingText('Road closed.'))).rejects.toThrow(/^X 403: When authenticating requests to the Twitter API v2 endpoints/)
  })

  it('throws when X cannot be reached', async () => {
    const channel = makeChannel({baseUrl: await closedPortUrl()})
    await expect(x.reconcile!('delivery-1', makeContext(channel, sayingText('Road closed.')))).rejects.toThrow('connection refused')
  })

  it('answers from the recorded parts alone when every part was recorded', async () => {
    const announcement = sayingText('Road closed.', {web: webLink})
    const recorded: PostedPart = {index: 0, providerId: '1800000000000000042', url: statusUrl('1800000000000000042')}
    expect(await reconcile(announcement, partsInMemory([recorded]))).toEqual({providerId: recorded.providerId, url: recorded.url})
    expect(fake.requests).toHaveLength(0)
  })
})

describe('x check', () => {
  const context = () => ({http, signal: new AbortController().signal})

  it('names the account of good credentials, posting nothing', async () => {
    expect(await x.check(makeChannel(), context())).toEqual({ok: true, detail: `authenticated as @${defaultXAccount.username} (read-write)`})
    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['GET /2/users/me'])
    expect(xFake.refusals).toEqual([])
  })

  it("reports wrong credentials with X's reason, without any secret", async () => {
    const result = await x.check(makeChannel({apiSecret: 'wrong-consumer-secret-1'}), context())
    expect(result).toEqual({ok: false, detail: "X 401: Unauthorized — check the channel's apiKey, apiSecret, accessToken and accessSecret"})
    expect(xFake.refusals).toEqual(['signature mismatch'])
  })

  it('reports a read-only app as not ready to post', async () => {
    useXPlan({accessLevel: 'read'})
    const result = await x.check(makeChannel(), context())
    expect(result).toEqual({
      ok: false,
      detail: `authenticated as @${defaultXAccount.username}, but the access token is read-only — give the app "Read and write" permission, then generate a new access token`,
    })
  })

  it('reports an unreachable API', async () => {
    expect(await x.check(makeChannel({baseUrl: await closedPortUrl()}), context())).toEqual({ok: false, detail: 'unreachable: connection refused'})
  })
})

describe('x config and loading', () => {
  let home: string
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'crier-x-'))
  })
  afterEach(() => {
    rmSync(home, {recursive: true, force: true})
  })

  function load(channel: string, env: NodeJS.ProcessEnv = {}): Config {
    const configFile = join(home, 'config.yaml')
    writeFileSync(configFile, `channels:\n  force-x:\n${channel.replace(/^/gm, '    ')}\n`)
    return loadConfig({home, database: join(home, 'crier.db'), configFile, configExplicit: true}, env)
  }

  const yaml = 'type: x\napiKey: ${X_API_KEY}\napiSecret: ${X_API_SECRET}\naccessToken: ${X_ACCESS_TOKEN}\naccessSecret: ${X_ACCESS_SECRET}'
  const env = {X_API_KEY: xCredentials.apiKey, X_API_SECRET: xCredentials.apiSecret, X_ACCESS_TOKEN: xCredentials.accessToken, X_ACCESS_SECRET: xCredentials.accessSecret}

  it('loads a channel with its credentials from the environment and the defaults filled in', () => {
    const config = load(yaml, env)
    expect(config.channels['force-x']).toMatchObject({...xCredentials, baseUrl: 'https://api.x.com', threads: true, severityTag: true})
  })

  it('refuses a channel without its access secret, naming the key', () => {
    let problems: string[] = []
    try {
      load('type: x\napiKey: k1234\napiSecret: s1234\naccessToken: t1234')
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      problems = error.problems
    }
    expect(problems).toEqual([expect.stringMatching(/^config\.yaml: channels\.force-x\.accessSecret: /)])
  })

  it('loads twitter-text only when rendering, and never twitter-api-v2', () => {
    // A fresh process: this one has loaded both already. Every command imports the registry.
    const script = [
      "import {createRequire} from 'node:module'",
      "const {driverFor} = await import('./src/channels/registry.ts')",
      'const cache = () => Object.keys(createRequire(import.meta.url).cache)',
      "const has = (name) => cache().some((path) => path.includes(`/node_modules/${name}/`))",
      'const seen = {registry: {text: has("twitter-text"), sdk: has("twitter-api-v2")}}',
      "const x = driverFor('x')",
      "const channel = {name: 'x', baseUrl: 'http://127.0.0.1:9', threads: true, severityTag: true, apiKey: 'k', apiSecret: 's', accessToken: 't', accessSecret: 'a', timeout: '1s'}",
      "const announcement = {...JSON.parse(process.argv[1]), severity: 'Unknown'}",
      'x.render(announcement, announcement.variants[0], {channel})',
      'seen.render = {text: has("twitter-text"), sdk: has("twitter-api-v2")}',
      "const {createHttpClient} = await import('./src/channels/http.ts')",
      'const http = createHttpClient()',
      'await x.check(channel, {http, signal: new AbortController().signal})',
      'await http.close()',
      'seen.check = {text: has("twitter-text"), sdk: has("twitter-api-v2")}',
      'console.log(JSON.stringify(seen))',
    ].join('\n')
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(makeAnnouncement())], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    })
    expect(JSON.parse(output)).toEqual({registry: {text: false, sdk: false}, render: {text: true, sdk: false}, check: {text: true, sdk: false}})
  })
})
