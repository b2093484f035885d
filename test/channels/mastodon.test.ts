import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import type {Announcement} from '../../src/core/announcement.js'
import {checkPolicy} from '../../src/core/policy/check.js'
import {channelVariant} from '../../src/core/render.js'
import type {Config} from '../../src/config/load.js'
import {policySchema} from '../../src/config/schema.js'
import type {ChannelConfig, PostedPart, SendContext} from '../../src/channels/driver.js'
import {ChannelUnusableError, PermanentSendError, RateLimitedError, TransientSendError} from '../../src/channels/errors.js'
import {createHttpClient, type HttpClient} from '../../src/channels/http.js'
import {facebook} from '../../src/channels/facebook.js'
import {mastodon, mastodonLength, type MastodonPayload, type MastodonSettings} from '../../src/channels/mastodon.js'
import {telegram} from '../../src/channels/telegram.js'
import {x} from '../../src/channels/x.js'
import {driverFor} from '../../src/channels/registry.js'
import {makeAnnouncement} from '../helpers/announcement.js'
import {partsInMemory} from '../helpers/thread-parts.js'
import {closedPortUrl, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {mastodonError, mastodonFaults, mastodonPlan, statusId, testAccessToken, testAcct, type MastodonFake, type MastodonPlanOptions} from '../fakes/mastodon-plan.js'
import {channelFor, fixedNow, sendContextFor} from '../helpers/driver-context.js'

// The mastodon driver against a real HTTP server on loopback that answers as a Mastodon
// instance does (test/fakes/mastodon-plan.ts), through the shared undici client.

const sentence = (i: number) => `Sentence ${i} tells residents of Llanrwst something they need to know about the flooding.`

let http: HttpClient
let fake: ProviderFake
let instance: MastodonFake

beforeAll(() => {
  http = createHttpClient()
})
afterAll(async () => {
  await http.close()
})
beforeEach(async () => {
  await startInstance()
})
afterEach(async () => {
  await fake.close()
})

async function startInstance(options: MastodonPlanOptions = {}): Promise<void> {
  await fake?.close()
  instance = mastodonPlan(options)
  fake = await startProviderFake({plan: instance.plan})
}

/** Validated exactly as the config loader does: common settings plus the driver's own. */
function makeChannel(settings: Record<string, unknown> = {}): ChannelConfig<MastodonSettings> {
  return channelFor<MastodonSettings>(mastodon, 'force-mastodon', {baseUrl: fake.url, accessToken: testAccessToken, ...settings})
}

function makeContext(channel: ChannelConfig<MastodonSettings>, overrides: Partial<SendContext<MastodonSettings>> = {}): SendContext<MastodonSettings> {
  return sendContextFor(channel, http, {idempotencyKey: '01HXDELIVERY0000000000001', ...overrides})
}

function render(announcement: Announcement, settings: Record<string, unknown> = {}, capUrl?: string) {
  return mastodon.render(announcement, announcement.variants[0]!, {channel: makeChannel(settings), capUrl})
}

/** An announcement whose post is exactly `text`: no tag, no description, no link. */
function announcementSaying(text: string): Announcement {
  return makeAnnouncement({severity: 'Unknown', variants: [{language: 'en-GB', headline: text, description: ''}]})
}

function longAnnouncement(overrides: Partial<Announcement> = {}): Announcement {
  return makeAnnouncement({
    severity: 'Severe',
    web: 'https://www.northwales.police.uk/alerts/2024/flood-warning-river-conwy',
    variants: [
      {
        language: 'en-GB',
        headline: 'Flood warning: River Conwy at Llanrwst',
        description: Array.from({length: 11}, (_, i) => sentence(i + 1)).join(' '),
        instruction: 'Move to higher ground now. Call 999 if you are in danger.',
      },
    ],
    ...overrides,
  })
}

async function sendRendered(payload: MastodonPayload, context: SendContext<MastodonSettings>) {
  return mastodon.send(payload, context)
}

async function sendExpectingError(payload: MastodonPayload, context: SendContext<MastodonSettings>): Promise<Error> {
  const error = await mastodon.send(payload, context).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof Error)) throw new Error('expected send to throw')
  return error
}

const onePost = (text = 'Road closed.'): MastodonPayload => ({statuses: [{status: text, visibility: 'public', language: 'en'}]})

describe('mastodon settings', () => {
  it('is registered, idempotent, threads, and counts characters', () => {
    expect(driverFor('mastodon')).toBe(mastodon)
    expect(mastodon.capabilities).toEqual({maxLength: 500, counts: 'characters', threads: true, media: false, idempotent: true, idempotencyWindowMs: 50 * 60_000, reconcile: false})
  })

  it('needs the instance and a token, and has the documented defaults', () => {
    expect(mastodon.config.safeParse({accessToken: 't'}).success).toBe(false)
    expect(mastodon.config.safeParse({baseUrl: 'https://social.example'}).success).toBe(false)
    expect(mastodon.config.safeParse({baseUrl: 'social.example', accessToken: 't'}).success).toBe(false)
    // The API's paths go after baseUrl: a query, a fragment or credentials there would be lost or swallow them.
    for (const baseUrl of ['https://social.example/sub?t=x', 'https://social.example/#top', 'https://u:p@social.example', 'https://social.example?', 'https://social.example/#']) {
      expect(mastodon.config.safeParse({baseUrl, accessToken: 't'}).error?.issues[0]?.message, baseUrl).toMatch(/without user:password, \?query or #fragment/)
    }
    expect(mastodon.config.safeParse({baseUrl: 'https://proxy.example/mastodon/', accessToken: 't'}).success).toBe(true)
    for (const driver of [x, telegram, facebook]) {
      expect(driver.config.safeParse({baseUrl: 'https://api.example/v1?key=1'}).error?.issues.some((issue) => issue.path[0] === 'baseUrl' && /\?query/.test(issue.message)), driver.type).toBe(true)
    }
    expect(mastodon.config.parse({baseUrl: 'https://social.example', accessToken: 't'})).toEqual({
      baseUrl: 'https://social.example',
      accessToken: 't',
      visibility: 'public',
      spoilerFor: [],
      threads: true,
      severityTag: true,
    })
  })

  it('refuses an unknown visibility, severity or language code and a limit that is not a positive whole number', () => {
    const base = {baseUrl: 'https://social.example', accessToken: 't'}
    expect(mastodon.config.safeParse({...base, visibility: 'direct'}).success).toBe(false)
    expect(mastodon.config.safeParse({...base, spoilerFor: ['Dreadful']}).success).toBe(false)
    expect(() => channelFor(mastodon, 'm', {...base, language: 'Welsh'})).toThrow(/expected a language tag such as en-GB or cy/)
    expect(mastodon.config.safeParse({...base, maxCharacters: 0}).success).toBe(false)
    expect(mastodon.config.safeParse({...base, maxCharacters: 1.5}).success).toBe(false)
    expect(mastodon.config.safeParse({...base, visibility: 'unlisted', spoilerFor: ['Extreme', 'Severe'], maxCharacters: 5000}).success).toBe(true)
    expect(channelFor(mastodon, 'm', {...base, language: 'cy'}).language).toBe('cy')
  })
})

describe('mastodon counting (Mastodon\'s StatusLengthValidator)', () => {
  it.each([
    ['plain ASCII', 'Road closed.', 12],
    ['a URL on a known TLD counts 23', 'Details: https://www.northwales.police.uk/alerts/2024/05/flood-warning-conwy?lang=en', 9 + 23],
    ['a URL whose TLD twitter-text does not know counts in full', 'Details: https://northwales.example/alerts/42', 45],
    ['a full stop after a URL is not part of it', 'See https://gov.wales/flooding.', 4 + 23 + 1],
    ['a URL in brackets', '(https://gov.wales/flooding)', 1 + 23 + 1],
    ['balanced brackets inside a URL path', 'https://en.wikipedia.org/wiki/River_Conwy_(Wales) x', 23 + 2],
    ['a query ends before punctuation', 'Call 999: https://gov.wales/a?b=1&c=2. Thanks', 10 + 23 + 8],
    ['a domain without a scheme is text', 'See gov.wales/flooding', 22],
    ['a family emoji (7 code points) is one', '👩‍👩‍👧‍👦 Family centre open', 20],
    ['the Welsh flag (a tag sequence of 7 code points) is one', '🏴󠁧󠁢󠁷󠁬󠁳󠁿 Croeso', 8],
    ['a skin-tone modifier joins its emoji', '👍🏽', 1],
    ['a combining accent joins its letter', 'Cafe\u0301 closed', 11],
    ['Hebrew with vowel points (7 code points)', 'שָׁלוֹם', 4],
    ['Arabic, right to left', 'مرحبا بكم', 9],
  ])('%s', (_name, text, expected) => {
    expect(mastodonLength(text)).toBe(expected)
    const {parts} = render(announcementSaying(text), {threads: false})
    expect(parts).toEqual([{label: 'post', text, length: {count: expected, limit: 500, unit: 'characters'}}])
  })

  it('counts the content warning with the text, as Mastodon does', () => {
    expect(mastodonLength('Road closed.', '🟠 SEVERE')).toBe(12 + 8)
    expect(mastodonLength('See https://gov.wales/a', 'CW')).toBe(2 + 4 + 23)
  })

  const govUrl = 'https://www.northwales.police.uk/alerts/2024/05/flood-warning-river-conwy-at-llanrwst'
  it('keeps a post of exactly 500 with a long URL counted as 23 as one post', () => {
    // 79 × "Flood " is 474, "no " 3, the URL 23.
    const text = `${'Flood '.repeat(79)}no ${govUrl}`
    expect(text.length).toBeGreaterThan(500)
    const {parts} = render(announcementSaying(text))
    expect(parts).toEqual([{label: 'post', text, length: {count: 500, limit: 500, unit: 'characters'}}])
  })

  it('threads a post one character over, and with threads off reports it over the limit for policy to refuse', () => {
    const text = `${'Flood '.repeat(79)}now ${govUrl}`
    expect(render(announcementSaying(text)).parts.map((part) => part.label)).toEqual(['post 1/2', 'post 2/2'])

    const channel = makeChannel({threads: false})
    const announcement = announcementSaying(text)
    const rendered = mastodon.render(announcement, announcement.variants[0]!, {channel})
    expect(rendered.parts[0]!.length).toEqual({count: 501, limit: 500, unit: 'characters'})
    const config: Config = {source: 'test', sender: 'alerts@northwales.example', timezone: 'Europe/London', languages: ['en-GB'], channels: {[channel.name]: channel}, policy: policySchema.parse({})}
    const findings = checkPolicy(announcement, config, [{channel, driver: mastodon, rendered}], fixedNow)
    expect(findings).toContainEqual(expect.objectContaining({level: 'error', rule: 'channel-limit', channel: 'force-mastodon', message: expect.stringContaining('force-mastodon: post is 501 characters, over the limit of 500')}))
  })

  it('counts an emoji at the boundary as one character, though it is two UTF-16 units', () => {
    const fits = `${'a'.repeat(499)}🌊`
    expect(render(announcementSaying(fits)).parts).toEqual([{label: 'post', text: fits, length: {count: 500, limit: 500, unit: 'characters'}}])
    expect(render(announcementSaying(`${fits}!`), {threads: false}).parts[0]!.length!.count).toBe(501)
  })
})

describe('mastodon render', () => {
  it('writes the tag and headline, the description and instruction, then the link, in the variant\'s language', () => {
    const announcement = makeAnnouncement({
      severity: 'Moderate',
      web: 'https://www.northwales.police.uk/alerts/42',
      variants: [{language: 'en-GB', headline: 'A55 closed at Junction 11', description: 'The A55 is closed eastbound after a collision.', instruction: 'Use the A5.'}],
    })
    const {parts, payload} = render(announcement)
    const text = '🟡 MODERATE: A55 closed at Junction 11\n\nThe A55 is closed eastbound after a collision.\n\nUse the A5.\n\nhttps://www.northwales.police.uk/alerts/42'
    expect(payload).toEqual({statuses: [{status: text, visibility: 'public', language: 'en'}]})
    expect(parts).toEqual([{label: 'post', text, length: {count: mastodonLength(text), limit: 500, unit: 'characters'}}])
    expect(parts[0]!.length!.count).toBe(text.length - 1 - 42 + 23)
  })

  it('links the CAP document when there is no web page, and says an exercise is one', () => {
    const announcement = makeAnnouncement({status: 'Exercise', severity: 'Extreme', variants: [{language: 'cy-GB', headline: 'Gwacáu Llanrwst', description: 'Ymarfer yw hwn.'}]})
    const {payload} = render(announcement, {}, 'https://northwales.example/alerts/cap/1.xml')
    expect(payload.statuses).toEqual([
      {status: 'EXERCISE · 🔴 EXTREME: Gwacáu Llanrwst\n\nYmarfer yw hwn.\n\nhttps://northwales.example/alerts/cap/1.xml', visibility: 'public', language: 'cy'},
    ])
  })

  it('uses the configured visibility, posts the text of its language as that language, and leaves out the severity tag when told to', () => {
    const announcement = makeAnnouncement({
      severity: 'Severe',
      variants: [
        {language: 'en-GB', headline: 'Bins collected Tuesday', description: ''},
        {language: 'cy-GB', headline: 'Casglu biniau dydd Mawrth', description: ''},
      ],
    })
    const channel = makeChannel({visibility: 'unlisted', language: 'cy', severityTag: false})
    // The engine and preview render a channel's own language (channelVariant): cy reads cy-GB.
    expect(mastodon.render(announcement, channelVariant(announcement, channel), {channel}).payload).toEqual({
      statuses: [{status: 'Casglu biniau dydd Mawrth', visibility: 'unlisted', language: 'cy'}],
    })
    // No Welsh text: the English goes, filed as English (and policy warns; see check.test.ts).
    const englishOnly = {...announcement, variants: announcement.variants.slice(0, 1)}
    expect(mastodon.render(englishOnly, channelVariant(englishOnly, channel), {channel}).payload).toEqual({
      statuses: [{status: 'Bins collected Tuesday', visibility: 'unlisted', language: 'en'}],
    })
  })

  it('splits a long announcement into a numbered thread: heading and link first, every post within the limit', () => {
    const announcement = longAnnouncement()
    const {parts, payload} = render(announcement)
    expect(parts.length).toBe(3)
    expect(parts.map((part) => part.label)).toEqual(['post 1/3', 'post 2/3', 'post 3/3'])
    payload.statuses.forEach((status, i) => {
      expect(status.status.endsWith(`\n${i + 1}/3`)).toBe(true)
      expect(parts[i]!.text).toBe(status.status)
      expect(parts[i]!.length).toEqual({count: mastodonLength(status.status), limit: 500, unit: 'characters'})
      expect(parts[i]!.length!.count).toBeLessThanOrEqual(500)
      expect(status).toMatchObject({visibility: 'public', language: 'en'})
    })
    expect(payload.statuses[0]!.status).toMatch(/^🟠 SEVERE: Flood warning: River Conwy at Llanrwst\n\nSentence 1 /)
    expect(payload.statuses[0]!.status).toContain(`\n\n${announcement.web}\n1/3`)
    expect(payload.statuses.slice(1).some((status) => status.status.includes('https://'))).toBe(false)
    expect(payload.statuses[2]!.status).toMatch(/Call 999 if you are in danger\.\n3\/3$/)
    // Every sentence once, in order, none cut.
    const all = payload.statuses.map((status) => status.status).join('\n')
    for (let i = 1; i <= 11; i++) expect(all.split(sentence(i)).length).toBe(2)
  })

  it('splits at the instance\'s own limit once it is known', () => {
    expect(render(longAnnouncement(), {maxCharacters: 5000}).parts).toEqual([expect.objectContaining({label: 'post', length: expect.objectContaining({limit: 5000})})])
    const small = render(longAnnouncement(), {maxCharacters: 200}).parts
    expect(small.length).toBeGreaterThan(5)
    for (const part of small) expect(part.length!.count).toBeLessThanOrEqual(200)
  })

  it('puts tag and headline behind a content warning for the configured severities, on every post of the thread', () => {
    const announcement = longAnnouncement()
    const {parts, payload} = render(announcement, {spoilerFor: ['Extreme', 'Severe']})
    const warning = '🟠 SEVERE: Flood warning: River Conwy at Llanrwst'
    expect(payload.statuses.length).toBeGreaterThan(1)
    payload.statuses.forEach((status, i) => {
      expect(status.spoiler_text).toBe(warning)
      expect(status.status).not.toContain('Flood warning:')
      const count = mastodonLength(status.status, warning)
      expect(parts[i]).toEqual({label: `post ${i + 1}/${payload.statuses.length}`, text: `Content warning: ${warning}\n\n${status.status}`, length: {count, limit: 500, unit: 'characters'}})
      expect(count).toBeLessThanOrEqual(500)
    })
    expect(payload.statuses[0]!.status).toMatch(/^Sentence 1 /)
    // A severity not listed goes without a warning.
    expect(render(longAnnouncement({severity: 'Moderate'}), {spoilerFor: ['Extreme', 'Severe']}).payload.statuses[0]).not.toHaveProperty('spoiler_text')
  })

  it('keeps the headline in the post too when there is nothing else to show behind the warning', () => {
    const announcement = makeAnnouncement({severity: 'Extreme', variants: [{language: 'en-GB', headline: 'Evacuate Llanrwst now', description: ''}]})
    expect(render(announcement, {spoilerFor: ['Extreme']}).payload.statuses).toEqual([
      {status: '🔴 EXTREME: Evacuate Llanrwst now', spoiler_text: '🔴 EXTREME: Evacuate Llanrwst now', visibility: 'public', language: 'en'},
    ])
  })
})

describe('mastodon send', () => {
  it('posts one status as JSON with the bearer token and a per-part Idempotency-Key, and returns its id and URL', async () => {
    const receipt = await sendRendered(onePost(), makeContext(makeChannel()))
    expect(receipt).toEqual({providerId: statusId(0), url: `https://social.example/@${testAcct}/${statusId(0)}`})
    const [request] = fake.requests
    expect(request).toMatchObject({method: 'POST', path: '/api/v1/statuses', status: 200})
    expect(request!.headers).toMatchObject({authorization: `Bearer ${testAccessToken}`, 'content-type': 'application/json', 'idempotency-key': '01HXDELIVERY0000000000001-0'})
    expect(JSON.parse(request!.body)).toEqual({status: 'Road closed.', visibility: 'public', language: 'en'})
    expect(instance.statuses).toEqual([
      {id: statusId(0), url: expect.any(String), text: 'Road closed.', spoilerText: '', visibility: 'public', language: 'en', inReplyToId: null, idempotencyKey: '01HXDELIVERY0000000000001-0'},
    ])
  })

  it('posts a thread in order, each part replying to the one before, and records each part', async () => {
    const {payload} = render(longAnnouncement(), {spoilerFor: ['Severe']})
    const parts = partsInMemory()
    const receipt = await sendRendered(payload, makeContext(makeChannel(), parts))
    expect(receipt).toEqual({providerId: statusId(0), url: `https://social.example/@${testAcct}/${statusId(0)}`})
    expect(instance.statuses.map(({text, inReplyToId, idempotencyKey, spoilerText}) => ({text, inReplyToId, idempotencyKey, spoilerText}))).toEqual(
      payload.statuses.map((status, i) => ({text: status.status, inReplyToId: i === 0 ? null : statusId(i - 1), idempotencyKey: `01HXDELIVERY0000000000001-${i}`, spoilerText: status.spoiler_text})),
    )
    expect(parts.postedParts.map(({index, providerId}) => ({index, providerId}))).toEqual(payload.statuses.map((_, i) => ({index: i, providerId: statusId(i)})))
  })

  it('resumes a thread whose third post failed at the third post, replying to the second', async () => {
    await startInstance({cueAt: {2: mastodonFaults.badGateway()}})
    const {payload} = render(longAnnouncement())
    expect(payload.statuses).toHaveLength(3)
    const parts = partsInMemory()
    const first = await sendExpectingError(payload, makeContext(makeChannel(), parts))
    expect(first).toBeInstanceOf(TransientSendError)
    expect(first.message).toBe('HTTP 502: 502 Bad Gateway')
    expect(instance.statuses).toHaveLength(2)
    expect(parts.postedParts.map((part) => part.providerId)).toEqual([statusId(0), statusId(1)])

    const receipt = await sendRendered(payload, makeContext(makeChannel(), parts))
    expect(receipt.providerId).toBe(statusId(0))
    expect(instance.statuses).toHaveLength(3)
    expect(instance.statuses[2]).toMatchObject({text: payload.statuses[2]!.status, inReplyToId: statusId(1), idempotencyKey: '01HXDELIVERY0000000000001-2'})
    // Four POSTs in all: parts 1 and 2, the failed part 3, part 3 again. Never part 1 twice.
    expect(instance.posts.map((post) => post.idempotencyKey)).toEqual(['-0', '-1', '-2', '-2'].map((suffix) => `01HXDELIVERY0000000000001${suffix}`))
  })

  it('cannot post twice: a resend whose answers were lost gets the statuses already created', async () => {
    const {payload} = render(longAnnouncement())
    const firstTry = await sendRendered(payload, makeContext(makeChannel()))
    // The engine lost every record of the first try (the process died before recording).
    const secondTry = await sendRendered(payload, makeContext(makeChannel()))
    expect(secondTry).toEqual(firstTry)
    expect(instance.statuses).toHaveLength(payload.statuses.length)
    expect(instance.posts.filter((post) => post.duplicate)).toHaveLength(payload.statuses.length)
  })

  it('treats 5xx, a dropped connection and a timeout as transient, keeping Retry-After', async () => {
    const channel = makeChannel({timeout: '300ms'})
    fake.respondWith(() => ({status: 503, headers: {'Content-Type': 'application/json', 'Retry-After': '7'}, body: '{"error":"Service Unavailable"}'}))
    const unavailable = await sendExpectingError(onePost(), makeContext(channel))
    expect(unavailable).toBeInstanceOf(TransientSendError)
    expect(unavailable).toMatchObject({message: 'HTTP 503: Service Unavailable', retryAfterMs: 7000})

    fake.respondWith(() => ({reset: true}))
    const reset = await sendExpectingError(onePost(), makeContext(channel))
    expect(reset).toBeInstanceOf(TransientSendError)
    expect(reset.message).toBe('connection reset')

    fake.respondWith(() => ({stallMs: Infinity}))
    const stalled = await sendExpectingError(onePost(), makeContext(channel))
    expect(stalled).toBeInstanceOf(TransientSendError)
    expect(stalled.message).toBe('timed out after 300 ms')
  })

  it('treats an answer without a status id as transient: the Idempotency-Key makes the retry safe', async () => {
    fake.respondWith(() => ({status: 200, headers: {'Content-Type': 'text/html'}, body: '<html>maintenance</html>'}))
    const error = await sendExpectingError(onePost(), makeContext(makeChannel()))
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error.message).toBe('HTTP 200 without a status id')
  })

  it('pauses the channel until X-RateLimit-Reset on a 429, or for Retry-After from a proxy', async () => {
    await startInstance({cueAt: {0: mastodonFaults.rateLimited('2025-03-01T12:05:00.000Z'), 1: mastodonFaults.retryAfter(30)}})
    const limited = await sendExpectingError(onePost(), makeContext(makeChannel()))
    expect(limited).toBeInstanceOf(RateLimitedError)
    expect(limited).toMatchObject({message: 'HTTP 429: Too many requests', retryAfterMs: 5 * 60_000})
    const proxied = await sendExpectingError(onePost(), makeContext(makeChannel()))
    expect(proxied).toBeInstanceOf(RateLimitedError)
    expect(proxied).toMatchObject({message: 'HTTP 429: Too Many Requests', retryAfterMs: 30_000})
  })

  it('takes a bad token or a missing scope as the channel unusable, with Mastodon\'s reason and never the token', async () => {
    const wrong = await sendExpectingError(onePost(), makeContext(makeChannel({accessToken: 'not-the-token-8f7e6d'})))
    expect(wrong).toBeInstanceOf(ChannelUnusableError)
    expect(wrong.message).toBe('HTTP 401: The access token is invalid')

    await startInstance({scopes: ['read']})
    const readOnly = await sendExpectingError(onePost(), makeContext(makeChannel()))
    expect(readOnly).toBeInstanceOf(ChannelUnusableError)
    expect(readOnly.message).toBe('HTTP 403: This action is outside the authorized scopes')
    expect(instance.statuses).toHaveLength(0)

    fake.respondWith(() => mastodonError(401, `Token ${testAccessToken} was revoked`))
    const echoed = await sendExpectingError(onePost(), makeContext(makeChannel()))
    expect(echoed.message).toBe('HTTP 401: Token *** was revoked')
  })

  it('is permanent on a 422, quoting Mastodon: a post over the instance\'s real limit', async () => {
    await startInstance({maxCharacters: 100})
    const error = await sendExpectingError(onePost('a'.repeat(101)), makeContext(makeChannel()))
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe('HTTP 422: Validation failed: Text character limit of 100 exceeded')
  })

  it('is permanent when the post it replies to is gone', async () => {
    const gone: PostedPart = {index: 0, providerId: '999'}
    const {payload} = render(longAnnouncement())
    const error = await sendExpectingError(payload, makeContext(makeChannel(), partsInMemory([gone])))
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe('HTTP 404: The post you are trying to reply to does not appear to exist.')
  })

  it('strips terminal control sequences from what the instance says', async () => {
    fake.respondWith(() => mastodonError(422, 'Validation failed: \u001b[31mred\u001b[0m \u0007text'))
    const error = await sendExpectingError(onePost(), makeContext(makeChannel()))
    expect(error.message).toBe('HTTP 422: Validation failed: red text')
  })
})

describe('mastodon check', () => {
  it('names the account and learns the instance\'s limit per post, posting nothing', async () => {
    await startInstance({maxCharacters: 1000})
    const result = await mastodon.check(makeChannel(), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: true, detail: `@${testAcct} on 127.0.0.1:${fake.port}; 1000 characters per post`, learned: {maxCharacters: 1000}})
    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['GET /api/v1/accounts/verify_credentials', 'GET /api/v2/instance'])
  })

  it('reads the limit from /api/v1/instance on a server older than Mastodon 4', async () => {
    await startInstance({v1InstanceOnly: true, maxCharacters: 640})
    const result = await mastodon.check(makeChannel(), {http, signal: new AbortController().signal})
    expect(result).toMatchObject({ok: true, learned: {maxCharacters: 640}})
  })

  it('is still ok, learning nothing, when the instance does not say its limit', async () => {
    fake.respondWith((request) => (request.path.includes('instance') ? mastodonError(500, 'Internal Server Error') : instance.plan(request)))
    const result = await mastodon.check(makeChannel({maxCharacters: 700}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: true, detail: `@${testAcct} on 127.0.0.1:${fake.port}; the instance did not say its limit per post — assuming 700`})
  })

  it('fails on a wrong token with Mastodon\'s reason and no secret', async () => {
    const token = 'wrong-token-a1b2c3d4e5'
    const result = await mastodon.check(makeChannel({accessToken: token}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: `127.0.0.1:${fake.port}: HTTP 401: The access token is invalid — check accessToken (Preferences → Development → your application)`})
    expect(JSON.stringify(result)).not.toContain(token)
  })

  it('fails on a token without the scopes it needs, saying which', async () => {
    await startInstance({scopes: ['write']})
    const result = await mastodon.check(makeChannel(), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: `127.0.0.1:${fake.port}: HTTP 403: This action is outside the authorized scopes — the token needs the read:accounts and write:statuses scopes`})
  })

  it('fails when the instance is unreachable', async () => {
    const url = await closedPortUrl()
    const result = await mastodon.check(makeChannel({baseUrl: url}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: `${new URL(url).host} unreachable: connection refused`})
  })
})

describe('mastodon loading', () => {
  it('loads twitter-text\'s URL rules only when a post has a URL', () => {
    // A fresh process: this one has loaded it already. Every command imports the registry.
    const script = [
      "import {createRequire} from 'node:module'",
      "const {driverFor} = await import('./src/channels/registry.ts')",
      'const loaded = (name) => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes(`/node_modules/${name}/`))',
      'const mastodon = driverFor("mastodon")',
      'const announcement = JSON.parse(process.argv[1])',
      "const channel = {name: 'm', baseUrl: 'https://social.example', accessToken: 't', visibility: 'public', spoilerFor: [], threads: true, severityTag: true}",
      'const afterImport = loaded("twitter-text")',
      'mastodon.render(announcement, announcement.variants[0], {channel})',
      'const afterPlainText = loaded("twitter-text")',
      "mastodon.render({...announcement, web: 'https://gov.wales/flooding'}, announcement.variants[0], {channel})",
      'console.log(JSON.stringify({afterImport, afterPlainText, afterUrl: loaded("twitter-text")}))',
    ].join('\n')
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(makeAnnouncement())], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    })
    expect(JSON.parse(output)).toEqual({afterImport: false, afterPlainText: false, afterUrl: true})
  })
})
