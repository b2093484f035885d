import {execFileSync} from 'node:child_process'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi} from 'vitest'
import type {Announcement} from '../../src/core/announcement.js'
import {newId} from '../../src/core/ids.js'
import {checkPolicy} from '../../src/core/policy/check.js'
import type {Config} from '../../src/config/load.js'
import {channelCommonSchema, policySchema} from '../../src/config/schema.js'
import {bluesky, graphemeLength, type BlueskyPayload, type BlueskySettings} from '../../src/channels/bluesky.js'
import {recordKey} from '../../src/channels/bluesky-record-key.js'
import type {ChannelConfig, PostedPart, SendContext} from '../../src/channels/driver.js'
import {ChannelUnusableError, PermanentSendError, RateLimitedError, TransientSendError} from '../../src/channels/errors.js'
import {createHttpClient, type HttpClient} from '../../src/channels/http.js'
import {driverFor} from '../../src/channels/registry.js'
import {makeAnnouncement} from '../helpers/announcement.js'
import {partsInMemory} from '../helpers/thread-parts.js'
import {closedPortUrl, startProviderFake, type Answer, type ProviderFake} from '../fakes/provider-server.js'
import {blueskyFaults, blueskyPlan, blueskyTestAccount, facetSpans, type BlueskyFake, type BlueskyPlanOptions} from '../fakes/bluesky-plan.js'
import {channelFor, fixedNow, sendContextFor} from '../helpers/driver-context.js'

// The bluesky driver against a real HTTP server on loopback that answers as a PDS does, through
// the shared undici client. @atproto/api itself is the reference for what Bluesky counts and
// which facets it finds.

const require = createRequire(import.meta.url)
const {RichText} = require('@atproto/api') as typeof import('@atproto/api')
const {TID} = require('@atproto/common-web') as typeof import('@atproto/common-web')
const {isValidTid} = require('@atproto/syntax') as typeof import('@atproto/syntax')

const {handle, did, appPassword} = blueskyTestAccount

let http: HttpClient
let server: ProviderFake
let pds: BlueskyFake

beforeAll(() => {
  http = createHttpClient()
})
afterAll(async () => {
  await http.close()
})
beforeEach(async () => {
  pds = blueskyPlan()
  server = await startProviderFake({plan: pds.plan})
})
afterEach(async () => {
  await bluesky.close!()
  await server.close()
})

/** Replaces the PDS with one made with `options` (the same server). */
function usePds(options: BlueskyPlanOptions): BlueskyFake {
  pds = blueskyPlan(options)
  server.respondWith(pds.plan)
  return pds
}

/** Validated exactly as the config loader does: the driver's schema with the common settings. */
function makeChannel(settings: Record<string, unknown> = {}): ChannelConfig<BlueskySettings> {
  return channelFor<BlueskySettings>(bluesky, 'bluesky', {baseUrl: server.url, identifier: handle, appPassword, ...settings})
}

function makeContext(channel: ChannelConfig<BlueskySettings>, overrides: Partial<SendContext<BlueskySettings>> = {}): SendContext<BlueskySettings> {
  return sendContextFor(channel, http, {deliveryId: newId(fixedNow), ...overrides})
}

function render(announcement: Announcement, channel = makeChannel(), capUrl?: string) {
  return bluesky.render(announcement, announcement.variants[0]!, {channel, capUrl})
}

/** An announcement whose post is exactly `headline` (no severity tag, no body, no link). */
function saying(headline: string, overrides: Partial<Announcement> = {}): Announcement {
  return makeAnnouncement({severity: 'Unknown', variants: [{language: 'en-GB', headline, description: ''}], ...overrides})
}

/** A long bulletin: three paragraphs of whole sentences, with the web link. */
function longBulletin(): Announcement {
  const sentence = (n: number) => `Residents of street ${n} in Llanrwst should move valuables upstairs and switch off gas and electricity at the mains.`
  return makeAnnouncement({
    severity: 'Severe',
    web: 'https://northwales.example/alerts/conwy-flood',
    variants: [
      {
        language: 'en-GB',
        headline: 'Flood warning: River Conwy at Llanrwst',
        description: [1, 2, 3, 4].map(sentence).join(' '),
        instruction: 'Call 999 if you are in danger. Follow #ConwyFlood for updates.',
      },
    ],
  })
}

async function sendExpectingError(payload: BlueskyPayload, context: SendContext<BlueskySettings>): Promise<Error> {
  const error = await bluesky.send(payload, context).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof Error)) throw new Error('expected send to throw')
  return error
}

/** Facets as RichText.detectFacetsWithoutResolution finds them, without mentions (no DID) and cashtags. */
function libraryFacets(text: string) {
  const rich = new RichText({text})
  rich.detectFacetsWithoutResolution()
  return (rich.facets ?? [])
    .map((facet) => ({
      index: facet.index,
      features: facet.features.filter((feature) => feature.$type === 'app.bsky.richtext.facet#link' || (feature.$type === 'app.bsky.richtext.facet#tag' && !String((feature as {tag?: unknown}).tag).startsWith('$'))),
    }))
    .filter((facet) => facet.features.length > 0)
}

function writes(): Array<{path: string; body: Record<string, unknown>; authorization: unknown}> {
  return server.requests
    .filter((request) => request.path === '/xrpc/com.atproto.repo.putRecord')
    .map((request) => ({path: request.path, body: JSON.parse(request.body) as Record<string, unknown>, authorization: request.headers.authorization}))
}

describe('bluesky config', () => {
  it('takes the account as identifier or handle (DESIGN.md spells it handle), one of them, a leading @ dropped', () => {
    const schema = bluesky.config.safeExtend(channelCommonSchema.shape).strict()
    const parsed = schema.parse({type: 'bluesky', handle: '@police.bsky.social', appPassword})
    expect(parsed).toMatchObject({handle: 'police.bsky.social', baseUrl: 'https://bsky.social', threads: true, severityTag: true})
    expect(schema.safeParse({type: 'bluesky', appPassword}).error?.issues).toEqual([expect.objectContaining({path: ['identifier'], message: 'required: the handle or DID of the account that posts'})])
    expect(schema.safeParse({type: 'bluesky', identifier: did, handle, appPassword}).error?.issues).toEqual([expect.objectContaining({path: ['handle'], message: 'give identifier or handle, not both'})])
    expect(schema.safeParse({type: 'bluesky', identifier: did}).success).toBe(false)
    expect(schema.safeParse({type: 'bluesky', identifier: did, appPassword, baseUrl: 'bsky.social'}).success).toBe(false)
  })

  it('is registered, idempotent and able to reconcile', () => {
    expect(driverFor('bluesky')).toBe(bluesky)
    expect(bluesky.capabilities).toEqual({maxLength: 300, counts: 'graphemes', threads: true, media: false, idempotent: true, reconcile: true})
  })
})

describe('bluesky render', () => {
  it('puts the severity tag and headline first, then the body, then the link, as one post with its facets', () => {
    const announcement = makeAnnouncement({
      severity: 'Severe',
      web: 'https://northwales.example/alerts/42',
      variants: [{language: 'en-GB', headline: 'A55 closed at Junction 11', description: 'The A55 is closed eastbound after a collision.', instruction: 'Use the A5.'}],
    })
    const {parts, payload} = render(announcement)
    const text = '🟠 SEVERE: A55 closed at Junction 11\n\nThe A55 is closed eastbound after a collision.\n\nUse the A5.\n\nhttps://northwales.example/alerts/42'
    expect(parts).toEqual([{label: 'post', text, length: {count: graphemeLength(text), limit: 300, unit: 'graphemes'}}])
    const linkStart = Buffer.byteLength(text) - Buffer.byteLength('https://northwales.example/alerts/42')
    expect(payload).toEqual({
      posts: [{text, facets: [{index: {byteStart: linkStart, byteEnd: Buffer.byteLength(text)}, features: [{$type: 'app.bsky.richtext.facet#link', uri: 'https://northwales.example/alerts/42'}]}]}],
      langs: ['en-GB'],
    })
  })

  it('links the CAP document when there is no web page, and leaves the tag out when severityTag is false', () => {
    const announcement = saying('Bins collected Tuesday', {severity: 'Minor'})
    const {payload} = render(announcement, makeChannel({severityTag: false}), 'https://northwales.example/alerts/cap/01.xml')
    expect(payload.posts[0]!.text).toBe('Bins collected Tuesday\n\nhttps://northwales.example/alerts/cap/01.xml')
    expect(facetSpans(payload.posts[0]!)).toEqual([{text: 'https://northwales.example/alerts/cap/01.xml', feature: {$type: 'app.bsky.richtext.facet#link', uri: 'https://northwales.example/alerts/cap/01.xml'}}])
  })

  it.each([
    ['a family (ZWJ sequence)', '👨‍👩‍👧‍👦', 1],
    ['a rainbow flag (ZWJ with variation selector)', '🏳️‍🌈', 1],
    ['two regional-indicator flags', '🇬🇧🇺🇦', 2],
    ['the Welsh flag (tag sequence)', '🏴󠁧󠁢󠁷󠁬󠁳󠁿', 1],
    ['a skin-tone modifier', '👋🏽', 1],
    ['e + combining acute, twice', 'cafe\u0301 e\u0301', 6],
    ['Welsh ŵ as w + combining circumflex', 'dw\u0302r', 3],
    ['Arabic (RTL)', 'تحذير من الفيضانات', 18],
    ['Hebrew with niqqud (RTL, combining marks)', 'שָׁלוֹם', 4],
    ['Devanagari conjuncts', 'नमस्ते', 3],
    ['Hangul jamo', '\u1100\u1161\u11a8', 1],
  ])('counts %s as Bluesky does', (_name, text, expected) => {
    expect(graphemeLength(text)).toBe(expected)
    expect(graphemeLength(text)).toBe(new RichText({text}).graphemeLength)
    const {parts} = render(saying(text))
    expect(parts[0]!.length).toEqual({count: expected, limit: 300, unit: 'graphemes'})
  })

  it('counts as RichText.graphemeLength does for any mix of plain and joining characters', () => {
    // graphemeLength segments only the stretches around characters that can join a neighbour;
    // this walks a seeded mix of such characters among plain ones.
    const pieces = ['a', ' ', '.', '\n', '\r', '\r\n', 'é', 'e\u0301', '\u0301', '🌊', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇬', '🇧', '👋🏽', 'w\u0302', 'ت', 'ש\u05b8', 'न', '्', 'स', '\u1100', '\u1161', '\u11a8', '\u0600', '1', '\u200d', '\ufe0f', '#']
    let seed = 7
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
    const mismatches: string[] = []
    for (let i = 0; i < 3000; i++) {
      const text = Array.from({length: Math.floor(next() * 24)}, () => pieces[Math.floor(next() * pieces.length)]).join('')
      if (graphemeLength(text) !== new RichText({text}).graphemeLength) mismatches.push(JSON.stringify(text))
    }
    expect(mismatches).toEqual([])
  })

  it('fits exactly 300 graphemes with a link at the end in one post, and threads at 301', () => {
    // 🇬🇧 is two code points and four UTF-16 units: text.length is far over 300.
    const link = 'https://northwales.example/a'
    const fill = (graphemes: number) => `${'🇬🇧'.repeat(graphemes - link.length - 2)}`
    const atLimit = render(saying(fill(300), {web: link}))
    expect(atLimit.parts).toHaveLength(1)
    expect(atLimit.parts[0]!.length!.count).toBe(300)
    expect(atLimit.parts[0]!.text.length).toBeGreaterThan(500)
    expect(new RichText({text: atLimit.parts[0]!.text}).graphemeLength).toBe(300)

    const overLimit = render(saying(fill(301), {web: link}))
    expect(overLimit.parts.map((part) => part.label)).toEqual(['post 1/2', 'post 2/2'])
    for (const part of overLimit.parts) expect(part.length!.count).toBeLessThanOrEqual(300)
    expect(overLimit.parts[0]!.text).toContain(link)
  })

  it('splits a long bulletin into a numbered thread at sentence boundaries, the tag and link in the first post', () => {
    const {parts, payload} = render(longBulletin())
    expect(parts.length).toBeGreaterThan(1)
    expect(parts.map((part) => part.label)).toEqual(parts.map((_, index) => `post ${index + 1}/${parts.length}`))
    parts.forEach((part, index) => {
      expect(part.text.endsWith(`\n${index + 1}/${parts.length}`)).toBe(true)
      expect(part.length!.count).toBe(new RichText({text: part.text}).graphemeLength)
      expect(part.length!.count).toBeLessThanOrEqual(300)
      // Sentence boundaries: every post's text before its number ends a sentence.
      expect(part.text.replace(/\n\d+\/\d+$/, '')).toMatch(/[.!?]$|https:\/\/\S+$/)
    })
    expect(parts[0]!.text.startsWith('🟠 SEVERE: Flood warning: River Conwy at Llanrwst')).toBe(true)
    expect(parts[0]!.text).toContain('https://northwales.example/alerts/conwy-flood\n1/')
    expect(parts.slice(1).some((part) => part.text.includes('SEVERE') || part.text.includes('https://'))).toBe(false)
    expect(payload.posts.map((post) => post.text)).toEqual(parts.map((part) => part.text))
    // The hashtag in the last post is a tag facet there, at its own byte offsets.
    const last = payload.posts.at(-1)!
    expect(facetSpans(last)).toEqual([{text: '#ConwyFlood', feature: {$type: 'app.bsky.richtext.facet#tag', tag: 'ConwyFlood'}}])
  })

  it('keeps each post within 3,000 bytes too, when its graphemes are long emoji sequences', () => {
    // 200 family emoji: 200 graphemes, 5,000 bytes.
    const {parts} = render(saying(Array.from({length: 200}, () => '👨‍👩‍👧‍👦').join(' ')))
    expect(parts.length).toBeGreaterThan(1)
    for (const part of parts) expect(Buffer.byteLength(part.text)).toBeLessThanOrEqual(3000)
  })

  it('with threads: false, a post within 300 graphemes but over 3,000 bytes (joined emoji) is measured in bytes, which policy refuses', () => {
    const family = '👨\u200d👩\u200d👧\u200d👦'
    const announcement = saying(`Flood shelter open. ${family.repeat(200)}`)
    const channel = makeChannel({threads: false})
    const rendered = render(announcement, channel)
    expect(rendered.parts).toHaveLength(1)
    const bytes = Buffer.byteLength(rendered.parts[0]!.text)
    expect(new RichText({text: rendered.parts[0]!.text}).graphemeLength).toBeLessThanOrEqual(300)
    expect(rendered.parts[0]!.length).toEqual({count: bytes, limit: 3000, unit: 'bytes'})
    const config: Config = {source: 'test', sender: 'alerts@northwales.example', timezone: 'Europe/London', languages: ['en-GB'], channels: {[channel.name]: channel}, policy: policySchema.parse({})}
    const findings = checkPolicy(announcement, config, [{channel, driver: bluesky, rendered}], fixedNow)
    expect(findings.find((finding) => finding.rule === 'channel-limit')!.message).toContain(`bluesky: post is ${bytes} bytes, over the limit of 3000`)
  })

  it('with threads: false keeps one post over the limit, which policy refuses', () => {
    const announcement = longBulletin()
    const channel = makeChannel({threads: false})
    const rendered = render(announcement, channel)
    expect(rendered.parts).toHaveLength(1)
    const count = new RichText({text: rendered.parts[0]!.text}).graphemeLength
    expect(rendered.parts[0]!.length).toEqual({count, limit: 300, unit: 'graphemes'})
    const config: Config = {source: 'test', sender: 'alerts@northwales.example', timezone: 'Europe/London', languages: ['en-GB'], channels: {[channel.name]: channel}, policy: policySchema.parse({})}
    const findings = checkPolicy(announcement, config, [{channel, driver: bluesky, rendered}], fixedNow)
    expect(findings.find((finding) => finding.rule === 'channel-limit')).toMatchObject({level: 'error', channel: 'bluesky'})
    expect(findings.find((finding) => finding.rule === 'channel-limit')!.message).toContain(`bluesky: post is ${count} graphemes, over the limit of 300`)
  })
})

describe('bluesky facets', () => {
  it.each([
    ['an emoji before the link', '🌊🌊 Flooding: https://northwales.example/flood'],
    ['a ZWJ family and a flag before the link', '👨‍👩‍👧‍👦🏴󠁧󠁢󠁷󠁬󠁳󠁿 Help: https://northwales.example/help'],
    ['Welsh ŵ and combining marks before a hashtag and a link', 'Dŵr yn codi, cafe\u0301 ar gau #LlifogyddConwy https://northwales.example/cy'],
    ['Arabic (RTL) before the link', 'تحذير من الفيضانات https://northwales.example/ar'],
    ['a link ending a sentence, then a hashtag', 'See https://northwales.example/a?x=1&y=2. #A55 closed.'],
    ['a link in brackets', '(https://northwales.example/b) stay away'],
  ])('marks links and hashtags at exact UTF-8 byte offsets: %s', (_name, text) => {
    const [post] = render(saying(text)).payload.posts
    expect(post!.text).toBe(text)
    expect(post!.facets).toEqual(libraryFacets(text))
    // Each facet's bytes decode to exactly the link or #tag it marks.
    for (const {text: span, feature} of facetSpans(post!)) {
      if (feature.$type === 'app.bsky.richtext.facet#link') expect(span).toBe(feature.uri)
      else expect(span).toBe(`#${String(feature.tag)}`)
    }
    expect(facetSpans(post!).length).toBeGreaterThan(0)
  })

  it('gives the byte offsets themselves, not UTF-16 indexes: two waves (8 bytes, 4 units) before the link', () => {
    const [post] = render(saying('🌊🌊 https://northwales.example/x')).payload.posts
    expect(post!.facets).toEqual([{index: {byteStart: 9, byteEnd: 37}, features: [{$type: 'app.bsky.richtext.facet#link', uri: 'https://northwales.example/x'}]}])
  })

  it('leaves mentions, cashtags and text without links plain', () => {
    const [post] = render(saying('Ask @police.bsky.social about $ABC fines')).payload.posts
    expect(post).toEqual({text: 'Ask @police.bsky.social about $ABC fines'})
    expect(libraryFacets(post!.text)).toEqual([])
  })
})

describe('bluesky record keys', () => {
  it('are valid TIDs carrying the delivery ULID\'s time, one per part, sorted in thread order, the same every time', () => {
    const deliveryId = newId(fixedNow)
    const keys = [0, 1, 2, 63, 64, 65].map((index) => recordKey(deliveryId, index))
    for (const key of keys) {
      expect(isValidTid(key)).toBe(true)
      const parsed = TID.fromStr(key)
      // The library's own encoding of the same timestamp and clock id gives the same key.
      expect(TID.fromTime(parsed.timestamp(), parsed.clockid()).toString()).toBe(key)
      expect(Math.floor(parsed.timestamp() / 1_000_000)).toBe(fixedNow / 1000)
    }
    expect(new Set(keys).size).toBe(keys.length)
    expect([...keys.slice(0, 4)].sort()).toEqual(keys.slice(0, 4))
    expect(keys.slice(0, 4).map((key) => TID.fromStr(key).clockid() % 64)).toEqual([0, 1, 2, 63])
    expect([0, 1, 2, 63, 64, 65].map((index) => recordKey(deliveryId, index))).toEqual(keys)
  })

  it('differ between the 8,192 deliveries one process can make in one millisecond, and no later part takes a first part\'s key', () => {
    const ids = Array.from({length: 8192}, () => newId(fixedNow))
    const firstParts = new Set(ids.map((id) => recordKey(id, 0)))
    expect(firstParts.size).toBe(8192)
    expect(ids.map((id) => recordKey(id, 64)).filter((key) => firstParts.has(key))).toEqual([])
    for (const id of ids.slice(0, 50)) expect(Math.floor(TID.fromStr(recordKey(id, 0)).timestamp() / 1000)).toBe(fixedNow)
  })

  it('are valid TIDs for delivery ids that are not ULIDs', () => {
    expect(isValidTid(recordKey('delivery-1', 0))).toBe(true)
    expect(recordKey('delivery-1', 0)).not.toBe(recordKey('delivery-2', 0))
  })
})

describe('bluesky send', () => {
  it('signs in once and writes the post with putRecord under its record key, returning the bsky.app URL', async () => {
    const announcement = makeAnnouncement({web: 'https://northwales.example/alerts/42'})
    const {payload} = render(announcement)
    const context = makeContext(makeChannel(), {announcement})
    const rkey = recordKey(context.deliveryId, 0)

    const receipt = await bluesky.send(payload, context)

    const uri = `at://${did}/app.bsky.feed.post/${rkey}`
    expect(receipt).toEqual({providerId: uri, url: `https://bsky.app/profile/${did}/post/${rkey}`})
    expect(pds.calls).toEqual({'com.atproto.server.createSession': 1, 'com.atproto.repo.putRecord': 1})
    expect(JSON.parse(server.requests[0]!.body)).toEqual({identifier: handle, password: appPassword})
    const [write] = writes()
    expect(write!.body).toEqual({
      repo: did,
      collection: 'app.bsky.feed.post',
      rkey,
      swapRecord: null,
      record: {$type: 'app.bsky.feed.post', text: payload.posts[0]!.text, facets: payload.posts[0]!.facets, langs: ['en-GB'], createdAt: new Date(fixedNow).toISOString()},
    })
    expect(write!.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
    expect(pds.posts).toEqual([expect.objectContaining({rkey, uri, text: payload.posts[0]!.text, langs: ['en-GB']})])
    expect(facetSpans(pds.posts[0]!)).toEqual([{text: 'https://northwales.example/alerts/42', feature: {$type: 'app.bsky.richtext.facet#link', uri: 'https://northwales.example/alerts/42'}}])
    expect(context.postedParts).toEqual([{index: 0, providerId: uri, url: receipt.url, ref: pds.posts[0]!.cid}])
  })

  it('posts a thread in order, each part replying to the one before with the root and parent uri and cid', async () => {
    const {payload} = render(longBulletin())
    const context = makeContext(makeChannel())
    const receipt = await bluesky.send(payload, context)

    const posts = pds.posts
    expect(posts.map((post) => post.text)).toEqual(payload.posts.map((post) => post.text))
    expect(posts.map((post) => post.rkey)).toEqual(payload.posts.map((_, index) => recordKey(context.deliveryId, index)))
    expect(posts[0]!.reply).toBeUndefined()
    for (let index = 1; index < posts.length; index++) {
      expect(posts[index]!.reply).toEqual({root: {uri: posts[0]!.uri, cid: posts[0]!.cid}, parent: {uri: posts[index - 1]!.uri, cid: posts[index - 1]!.cid}})
    }
    expect(receipt.providerId).toBe(posts[0]!.uri)
    expect(context.postedParts.map((part) => part.ref)).toEqual(posts.map((post) => post.cid))
    expect(pds.calls['com.atproto.server.createSession']).toBe(1)
  })

  it('resumes a thread whose third post failed at the third post, replying to the second', async () => {
    usePds({cueWriteAt: {2: blueskyFaults.serverError()}})
    const {payload} = render(longBulletin())
    expect(payload.posts.length).toBeGreaterThanOrEqual(3)
    const parts = partsInMemory()
    const deliveryId = newId(fixedNow)

    const first = await sendExpectingError(payload, makeContext(makeChannel(), {deliveryId, ...parts}))
    expect(first).toBeInstanceOf(TransientSendError)
    expect(parts.postedParts.map((part) => part.index)).toEqual([0, 1])

    const writesBefore = writes().length
    await bluesky.send(payload, makeContext(makeChannel(), {deliveryId, postedParts: parts.postedParts, recordPart: parts.recordPart}))
    const retried = writes().slice(writesBefore)
    expect(retried[0]!.body.rkey).toBe(recordKey(deliveryId, 2))
    expect(retried).toHaveLength(payload.posts.length - 2)
    expect(pds.posts.map((post) => post.text)).toEqual(payload.posts.map((post) => post.text))
    expect(pds.posts[2]!.reply).toEqual({root: {uri: pds.posts[0]!.uri, cid: pds.posts[0]!.cid}, parent: {uri: pds.posts[1]!.uri, cid: pds.posts[1]!.cid}})
  })

  it('takes a post whose answer was lost as posted when it is resent: the PDS keeps one', async () => {
    usePds({loseAnswerAt: [0]})
    const {payload} = render(saying('Road closed'))
    const deliveryId = newId(fixedNow)
    const first = await sendExpectingError(payload, makeContext(makeChannel(), {deliveryId}))
    expect(first).toBeInstanceOf(TransientSendError)
    expect(pds.posts).toHaveLength(1)

    // A fresh attempt a minute later that knows nothing of the first (the engine requeued an
    // in-doubt delivery): its record differs in createdAt, so the PDS answers InvalidSwap.
    const context = makeContext(makeChannel(), {deliveryId, now: () => fixedNow + 60_000})
    const receipt = await bluesky.send(payload, context)
    expect(receipt.providerId).toBe(pds.posts[0]!.uri)
    expect(pds.posts).toHaveLength(1)
    expect(pds.posts[0]!.createdAt).toBe(new Date(fixedNow).toISOString())
    expect(pds.overwrites).toBe(0)
    const answered = server.requests.filter((request) => request.path.startsWith('/xrpc/com.atproto.repo.')).map((request) => [request.path.split('?')[0], request.status])
    expect(answered).toEqual([
      ['/xrpc/com.atproto.repo.putRecord', undefined],
      ['/xrpc/com.atproto.repo.putRecord', 400],
      ['/xrpc/com.atproto.repo.getRecord', 200],
    ])
    expect(context.postedParts).toEqual([{index: 0, providerId: pds.posts[0]!.uri, url: receipt.url, ref: pds.posts[0]!.cid}])
  })

  it('gets the PDS\'s no-op answer for a resend of the very same record', async () => {
    const {payload} = render(saying('Road closed'))
    const deliveryId = newId(fixedNow)
    const first = await bluesky.send(payload, makeContext(makeChannel(), {deliveryId}))
    expect(await bluesky.send(payload, makeContext(makeChannel(), {deliveryId}))).toEqual(first)
    expect(pds.posts).toHaveLength(1)
    expect(pds.overwrites).toBe(0)
  })

  it('resends a whole thread that went out without posting any part twice', async () => {
    const {payload} = render(longBulletin())
    const deliveryId = newId(fixedNow)
    const sent = await bluesky.send(payload, makeContext(makeChannel(), {deliveryId}))
    const again = await bluesky.send(payload, makeContext(makeChannel(), {deliveryId, now: () => fixedNow + 60_000}))
    expect(again).toEqual(sent)
    expect(pds.posts).toHaveLength(payload.posts.length)
    expect(pds.overwrites).toBe(0)
  })

  it('refuses to take a different post at its record key for its own, and writes nothing over it', async () => {
    const deliveryId = newId(fixedNow)
    const other = pds.seedPost(recordKey(deliveryId, 0), 'Somebody else\'s post')
    const error = await sendExpectingError(render(saying('Road closed')).payload, makeContext(makeChannel(), {deliveryId}))
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe(`a different post already has this post's record key (${other.uri}) — check the account before sending again`)
    expect(pds.posts.map((post) => post.text)).toEqual(['Somebody else\'s post'])
  })

  it('fetches the cid of an earlier part when the engine did not keep it', async () => {
    const {payload} = render(longBulletin())
    const deliveryId = newId(fixedNow)
    const parts = partsInMemory()
    usePds({cueWriteAt: {1: blueskyFaults.serverError()}})
    await sendExpectingError(payload, makeContext(makeChannel(), {deliveryId, ...parts}))
    const withoutRef: PostedPart[] = parts.postedParts.map(({ref: _ref, ...part}) => part)
    await bluesky.send(payload, makeContext(makeChannel(), {deliveryId, ...partsInMemory(withoutRef)}))
    expect(pds.posts[1]!.reply!.parent).toEqual({uri: pds.posts[0]!.uri, cid: pds.posts[0]!.cid})
  })

  it('shares one session between concurrent sends, and signs in again after close()', async () => {
    const channel = makeChannel()
    const {payload} = render(saying('Road closed'))
    await Promise.all(Array.from({length: 5}, () => bluesky.send(payload, makeContext(channel))))
    expect(pds.calls['com.atproto.server.createSession']).toBe(1)
    expect(pds.posts).toHaveLength(5)
    await bluesky.close!()
    await bluesky.send(payload, makeContext(channel))
    expect(pds.calls['com.atproto.server.createSession']).toBe(2)
  })

  it('refreshes an expired session and retries the write once', async () => {
    const channel = makeChannel()
    const {payload} = render(saying('Road closed'))
    await bluesky.send(payload, makeContext(channel))
    pds.expireAccessTokens()
    await bluesky.send(payload, makeContext(channel))
    expect(pds.posts).toHaveLength(2)
    expect(pds.calls).toMatchObject({'com.atproto.server.createSession': 1, 'com.atproto.server.refreshSession': 1, 'com.atproto.repo.putRecord': 3})
    const statuses = server.requests.filter((request) => request.path === '/xrpc/com.atproto.repo.putRecord').map((request) => request.status)
    expect(statuses).toEqual([200, 400, 200])
  })

  it('signs in again when the PDS refuses the tokens outright (InvalidToken)', async () => {
    const channel = makeChannel()
    const {payload} = render(saying('Road closed'))
    await bluesky.send(payload, makeContext(channel))
    pds.revokeTokens()
    await bluesky.send(payload, makeContext(channel))
    expect(pds.calls).toMatchObject({'com.atproto.server.createSession': 2, 'com.atproto.repo.putRecord': 3})
    expect(pds.calls['com.atproto.server.refreshSession']).toBeUndefined()
  })

  it('writes to the PDS the DID document names when signed in through an entryway', async () => {
    const repoHost = blueskyPlan()
    const repoServer = await startProviderFake({plan: repoHost.plan})
    try {
      // The entryway signs in and hands over; the repository host accepts the entryway's tokens.
      pds.pdsEndpoint = repoServer.url
      repoServer.respondWith(pds.plan)
      await bluesky.send(render(saying('Road closed')).payload, makeContext(makeChannel()))
      expect(server.requests.map((request) => request.path.split('?')[0])).toEqual(['/xrpc/com.atproto.server.createSession'])
      expect(repoServer.requests.map((request) => request.path.split('?')[0])).toEqual(['/xrpc/com.atproto.repo.putRecord'])
    } finally {
      await repoServer.close()
    }
  })
})

describe('bluesky send: errors', () => {
  const resetAt = fixedNow / 1000 + 120
  it.each([
    ['RateLimitExceeded, pausing until ratelimit-reset', blueskyFaults.rateLimited(resetAt), RateLimitedError, 'Bluesky RateLimitExceeded: Rate Limit Exceeded', 120_000],
    ['RateLimitExceeded with a reset already past, a second', blueskyFaults.rateLimited(fixedNow / 1000 - 5), RateLimitedError, 'Bluesky RateLimitExceeded: Rate Limit Exceeded', 1000],
    ['a bare 429 with Retry-After', {status: 429, headers: {'Retry-After': '30'}} as Answer, RateLimitedError, 'HTTP 429', 30_000],
    ['InternalServerError', blueskyFaults.serverError(), TransientSendError, 'Bluesky InternalServerError: Internal Server Error', undefined],
    ['a proxy\'s 502 page', blueskyFaults.badGateway(), TransientSendError, 'HTTP 502: <html><body>502 Bad Gateway</body></html>', undefined],
    ['503 with Retry-After', {status: 503, headers: {'Retry-After': '7'}, body: 'down for maintenance'} as Answer, TransientSendError, 'HTTP 503: down for maintenance', 7000],
    ['InvalidRequest, with the PDS\'s reason', blueskyFaults.invalidRequest('Invalid app.bsky.feed.post record: Record/langs/0 must be a well-formatted BCP 47 language'), PermanentSendError, 'Bluesky InvalidRequest: Invalid app.bsky.feed.post record: Record/langs/0 must be a well-formatted BCP 47 language', undefined],
    ['a deactivated repository', {status: 400, headers: {'Content-Type': 'application/json'}, body: '{"error":"RepoDeactivated","message":"Repo has been deactivated"}'} as Answer, PermanentSendError, 'Bluesky RepoDeactivated: Repo has been deactivated', undefined],
  ])('classifies a write answered with %s', async (_name, answer, type, message, retryAfterMs) => {
    usePds({cueWriteAt: {0: answer}})
    const error = await sendExpectingError(render(saying('Road closed')).payload, makeContext(makeChannel()))
    expect(error).toBeInstanceOf(type)
    expect(error.message).toBe(message)
    expect((error as {retryAfterMs?: number}).retryAfterMs).toBe(retryAfterMs)
  })

  it('treats a rate-limited sign-in as rate-limited', async () => {
    usePds({cueSessionAt: {0: blueskyFaults.rateLimited(resetAt)}})
    const error = await sendExpectingError(render(saying('Road closed')).payload, makeContext(makeChannel()))
    expect(error).toBeInstanceOf(RateLimitedError)
    expect((error as RateLimitedError).retryAfterMs).toBe(120_000)
    expect(pds.calls['com.atproto.repo.putRecord']).toBeUndefined()
  })

  it('treats a refused app password as the channel unusable (its deliveries wait for the fix), naming the settings and not the password', async () => {
    const error = await sendExpectingError(render(saying('Road closed')).payload, makeContext(makeChannel({appPassword: 'wxyz-wxyz-wxyz-wxyz'})))
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toBe("Bluesky AuthenticationRequired: Invalid identifier or password — check the channel's identifier and appPassword (an app password, not the account's)")
    expect(error.message).not.toContain('wxyz')
    expect(pds.posts).toHaveLength(0)
  })

  it('takes a 200 that names no record as not posted, to be tried again under the same record key — never as sent', async () => {
    usePds({cueWriteAt: {0: {status: 200, headers: {'Content-Type': 'application/json'}, body: '{}'}}})
    const error = await sendExpectingError(render(saying('Road closed')).payload, makeContext(makeChannel()))
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error.message).toBe("putRecord answered 200 without the post's uri — check the channel's baseUrl")
    expect(pds.posts).toHaveLength(0)
  })

  it('treats a taken-down account as the channel unusable, with its reason', async () => {
    usePds({cueSessionAt: {0: {status: 401, headers: {'Content-Type': 'application/json'}, body: '{"error":"AccountTakedown","message":"Account has been taken down"}'}}})
    const error = await sendExpectingError(render(saying('Road closed')).payload, makeContext(makeChannel()))
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toBe('Bluesky AccountTakedown: Account has been taken down')
  })

  it('signs in again once after a refused token, then gives up as permanent', async () => {
    const channel = makeChannel()
    const {payload} = render(saying('Road closed'))
    await bluesky.send(payload, makeContext(channel))
    // Every token refused, including the new session's.
    server.respondWith((request) => (request.path.startsWith('/xrpc/com.atproto.repo.') ? {status: 400, headers: {'Content-Type': 'application/json'}, body: '{"error":"InvalidToken","message":"Token could not be verified"}'} : pds.plan(request)))
    const error = await sendExpectingError(payload, makeContext(channel))
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe("Bluesky InvalidToken: Token could not be verified — the PDS refused a new session's token; check the channel's identifier and appPassword")
    expect(pds.calls['com.atproto.server.createSession']).toBe(2)
  })

  it('treats a reset connection, a refused connection and a stall past the timeout as transient', async () => {
    const {payload} = render(saying('Road closed'))
    usePds({cueWriteAt: {0: {reset: true}}})
    const reset = await sendExpectingError(payload, makeContext(makeChannel()))
    expect(reset).toBeInstanceOf(TransientSendError)
    expect(reset.message).toMatch(/^connection (reset|closed)/)

    const refused = await sendExpectingError(payload, makeContext(makeChannel({baseUrl: await closedPortUrl()})))
    expect(refused).toBeInstanceOf(TransientSendError)
    expect(refused.message).toBe('connection refused')

    usePds({cueWriteAt: {0: {stallMs: Infinity}}})
    const stalled = await sendExpectingError(payload, makeContext(makeChannel({timeout: '300ms'})))
    expect(stalled).toBeInstanceOf(TransientSendError)
    expect(stalled.message).toBe('timed out after 300 ms')
    await vi.waitFor(() => expect(server.requests.at(-1)!.outcome).toBe('abandoned'))
  })

  it('never puts the app password in an error, even when the PDS quotes it back', async () => {
    server.respondWith((request) => ({status: 400, headers: {'Content-Type': 'application/json'}, body: JSON.stringify({error: 'InvalidRequest', message: `you sent ${request.body}`})}))
    const error = await sendExpectingError(render(saying('Road closed')).payload, makeContext(makeChannel()))
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toContain('"identifier":"police.bsky.social"')
    expect(error.message).not.toContain(appPassword)
  })

  it("never puts the session's tokens in an error either: they post as the account", async () => {
    let token = ''
    server.respondWith((request) => {
      if (!request.path.startsWith('/xrpc/com.atproto.repo.')) return pds.plan(request)
      token = String(request.headers.authorization).replace(/^Bearer /, '')
      return {status: 400, headers: {'Content-Type': 'application/json'}, body: JSON.stringify({error: 'InvalidRequest', message: `rejected token Bearer ${token}`})}
    })
    const error = await sendExpectingError(render(saying('Road closed')).payload, makeContext(makeChannel()))
    expect(token.length).toBeGreaterThan(20)
    expect(error.message).toBe('Bluesky InvalidRequest: rejected token Bearer ***')
  })
})

describe('bluesky check', () => {
  it('signs in and names the account, posting nothing', async () => {
    expect(await bluesky.check(makeChannel(), {http, signal: new AbortController().signal})).toEqual({ok: true, detail: `signed in as @${handle} (${did})`})
    expect(pds.calls).toEqual({'com.atproto.server.createSession': 1})
  })

  it('accepts the DID as identifier', async () => {
    expect((await bluesky.check(makeChannel({identifier: did}), {http, signal: new AbortController().signal})).ok).toBe(true)
  })

  it('fails with the PDS\'s reason for a wrong password, without the password', async () => {
    const result = await bluesky.check(makeChannel({appPassword: 'zzzz-yyyy-xxxx-wwww'}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: "Bluesky AuthenticationRequired: Invalid identifier or password — check the channel's identifier and appPassword (an app password, not the account's)"})
  })

  it('fails for a deactivated account, and for a PDS that does not answer', async () => {
    usePds({inactiveStatus: 'deactivated'})
    expect(await bluesky.check(makeChannel(), {http, signal: new AbortController().signal})).toEqual({ok: false, detail: `signed in as @${handle}, but the account is deactivated: posts will be refused`})
    expect(await bluesky.check(makeChannel({baseUrl: await closedPortUrl()}), {http, signal: new AbortController().signal})).toEqual({ok: false, detail: 'connection refused'})
  })
})

describe('bluesky reconcile', () => {
  it('finds a post that went out, and nothing for one that did not', async () => {
    const {payload} = render(saying('Road closed'))
    const context = makeContext(makeChannel())
    expect(await bluesky.reconcile!(context.deliveryId, context)).toBeUndefined()
    const receipt = await bluesky.send(payload, makeContext(makeChannel(), {deliveryId: context.deliveryId}))
    expect(await bluesky.reconcile!(context.deliveryId, context)).toEqual(receipt)
  })

  it('counts a thread as sent only when its last post is there too', async () => {
    const {payload} = render(longBulletin())
    const deliveryId = newId(fixedNow)
    usePds({cueWriteAt: {2: blueskyFaults.serverError()}})
    const parts = partsInMemory()
    await sendExpectingError(payload, makeContext(makeChannel(), {deliveryId, ...parts}))
    expect(await bluesky.reconcile!(deliveryId, makeContext(makeChannel(), {deliveryId}))).toBeUndefined()
    const receipt = await bluesky.send(payload, makeContext(makeChannel(), {deliveryId, ...parts}))
    expect(await bluesky.reconcile!(deliveryId, makeContext(makeChannel(), {deliveryId}))).toEqual(receipt)
  })
})

describe('bluesky loading', () => {
  it('loads nothing of @atproto when the registry loads, and only the facet detector when a post is rendered', () => {
    // A fresh process: this one has loaded @atproto/api already. Every command imports the registry.
    const script = [
      "import {createRequire} from 'node:module'",
      "const {driverFor} = await import('./src/channels/registry.ts')",
      'const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes("/node_modules/@atproto/")).map((path) => path.replace(/^.*node_modules\\//, ""))',
      'const afterImport = loaded()',
      'const announcement = JSON.parse(process.argv[1])',
      "driverFor('bluesky').render(announcement, announcement.variants[0], {channel: {threads: true, severityTag: true}})",
      'console.log(JSON.stringify({afterImport, afterRender: loaded()}))',
    ].join('\n')
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(makeAnnouncement({web: 'https://northwales.example/x'}))], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    })
    const {afterImport, afterRender} = JSON.parse(output) as {afterImport: string[]; afterRender: string[]}
    expect(afterImport).toEqual([])
    expect(afterRender).toEqual(['@atproto/api/dist/rich-text/detection.js', '@atproto/api/dist/rich-text/util.js'])
  })
})
