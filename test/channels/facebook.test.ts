import {createHmac} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi} from 'vitest'
import type {Announcement} from '../../src/core/announcement.js'
import {checkPolicy} from '../../src/core/policy/check.js'
import {ConfigError, loadConfig, type Config} from '../../src/config/load.js'
import {policySchema} from '../../src/config/schema.js'
import type {ChannelConfig, SendContext} from '../../src/channels/driver.js'
import {ChannelUnusableError, InDoubtSendError, PermanentSendError, RateLimitedError, TransientSendError} from '../../src/channels/errors.js'
import {facebook, type FacebookSettings} from '../../src/channels/facebook.js'
import {createHttpClient, type HttpClient} from '../../src/channels/http.js'
import {driverFor} from '../../src/channels/registry.js'
import {makeAnnouncement, makeFullAnnouncement} from '../helpers/announcement.js'
import {facebookFaults, facebookPlan, graphError, testPageId, testPageName, testPageToken, type FacebookFake} from '../fakes/facebook-plan.js'
import {closedPortUrl, startProviderFake, type Answer, type IncomingRequest, type ProviderFake} from '../fakes/provider-server.js'
import {channelFor, fixedNow, sendContextFor} from '../helpers/driver-context.js'

// The facebook driver against a real HTTP server on loopback that answers as the Graph API
// does for one page (token checks, error documents, usage headers), through the shared undici
// client.

const link = 'https://northwales.example/alerts/flood?area=conwy&lang=en'

let http: HttpClient
let fake: ProviderFake
let graph: FacebookFake

beforeAll(() => {
  http = createHttpClient()
})
afterAll(async () => {
  await http.close()
})
beforeEach(async () => {
  graph = facebookPlan()
  fake = await startProviderFake({plan: graph.plan})
})
afterEach(async () => {
  await fake.close()
})

/** Validated exactly as the config loader does: the driver's settings plus the common ones. */
function makeChannel(settings: Record<string, unknown> = {}): ChannelConfig<FacebookSettings> {
  return channelFor<FacebookSettings>(facebook, 'facebook', {pageId: testPageId, pageAccessToken: testPageToken, baseUrl: `${fake.url}/v21.0`, ...settings})
}

function makeContext(channel: ChannelConfig<FacebookSettings>, overrides: Partial<SendContext<FacebookSettings>> = {}): SendContext<FacebookSettings> {
  return sendContextFor(channel, http, overrides)
}

function render(announcement: Announcement, channel = makeChannel()) {
  return facebook.render(announcement, announcement.variants[0]!, {channel})
}

async function sendAnnouncement(announcement: Announcement, channel = makeChannel()) {
  return facebook.send(render(announcement, channel).payload, makeContext(channel, {announcement}))
}

async function sendExpectingError(channel = makeChannel(), announcement = roadClosed()): Promise<Error> {
  const error = await sendAnnouncement(announcement, channel).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof Error)) throw new Error('expected send to throw')
  return error
}

function useGraph(options: Parameters<typeof facebookPlan>[0]): void {
  graph = facebookPlan(options)
  fake.respondWith(graph.plan)
}

function roadClosed(): Announcement {
  return makeAnnouncement({
    severity: 'Moderate',
    web: link,
    variants: [{language: 'en-GB', headline: 'A55 closed <J11> & J12', description: 'Use the A5 > A470 instead.', instruction: 'Allow 30 minutes.'}],
  })
}

/** Severity Unknown has no tag: the message is exactly the headline and the description. */
function announcementOf(headline: string, description: string, overrides: Partial<Announcement> = {}): Announcement {
  return makeAnnouncement({severity: 'Unknown', variants: [{language: 'en-GB', headline, description}], ...overrides})
}

describe('facebook render', () => {
  it('writes the severity tag and headline first, then body, with the web link as the link card, not in the text', () => {
    const {parts, payload} = render(roadClosed())
    const message = '🟡 MODERATE: A55 closed <J11> & J12\n\nUse the A5 > A470 instead.\n\nAllow 30 minutes.'
    expect(parts).toEqual([{label: `post, link card ${link}`, text: message, length: {count: 82, limit: 63_206, unit: 'characters'}}])
    expect(payload).toEqual({pageId: testPageId, message, link})
  })

  it('attaches the CAP document when there is no web link, and nothing when there is neither', () => {
    const announcement = announcementOf('Bins collected Tuesday', 'Put bins out by 7am.')
    const withCap = facebook.render(announcement, announcement.variants[0]!, {channel: makeChannel(), capUrl: 'https://northwales.example/alerts/cap/01.xml'})
    expect(withCap.payload).toEqual({pageId: testPageId, message: 'Bins collected Tuesday\n\nPut bins out by 7am.', link: 'https://northwales.example/alerts/cap/01.xml'})
    const bare = render(announcement)
    expect(bare.payload).toEqual({pageId: testPageId, message: 'Bins collected Tuesday\n\nPut bins out by 7am.'})
    expect(bare.parts[0]!.label).toBe('post')
  })

  it('leaves the severity tag out when the channel says so', () => {
    expect(render(roadClosed(), makeChannel({severityTag: false})).payload.message).toMatch(/^A55 closed <J11> & J12\n\n/)
  })

  it.each([
    ['an emoji, two UTF-16 units', 'Flood 🌊', 8],
    ['a family emoji joined by ZWJ', '👨‍👩‍👧 shelter', 16],
    ['Arabic, right to left', 'إغلاق الطريق', 12],
    ['a combining acute accent', 'Cafe\u0301 closed', 12],
  ])('counts %s in UTF-16 units, never fewer than Facebook counts', (_name, headline, count) => {
    expect(render(announcementOf(headline, '')).parts[0]!.length).toEqual({count, limit: 63_206, unit: 'characters'})
  })

  it('keeps a post of exactly 63,206 characters, and refuses one more by policy, never threading', async () => {
    const headline = 'Road closed'
    const fits = announcementOf(headline, `${'Flood water & debris on the A55. '.repeat(2000).slice(0, 63_206 - headline.length - 2 - 1)}.`, {web: link})
    const atLimit = render(fits)
    expect(atLimit.parts).toHaveLength(1)
    expect(atLimit.parts[0]!.length!.count).toBe(63_206)
    await facebook.send(atLimit.payload, makeContext(makeChannel(), {announcement: fits}))
    expect(graph.accepted().map((post) => post.message)).toEqual([atLimit.payload.message])

    const over = announcementOf(headline, `${fits.variants[0]!.description}x`)
    const channel = makeChannel()
    const rendered = render(over, channel)
    expect(rendered.parts).toHaveLength(1)
    expect(rendered.parts[0]!.length).toEqual({count: 63_207, limit: 63_206, unit: 'characters'})
    const config: Config = {source: 'test', sender: 'alerts@northwales.example', timezone: 'Europe/London', languages: ['en-GB'], channels: {facebook: channel}, policy: policySchema.parse({})}
    const findings = checkPolicy(over, config, [{channel, driver: facebook, rendered}], fixedNow)
    expect(findings).toContainEqual(expect.objectContaining({level: 'error', rule: 'channel-limit', channel: 'facebook'}))
    expect(findings.find((finding) => finding.rule === 'channel-limit')!.message).toContain('facebook: post is 63207 characters, over the limit of 63206')
  })
})

describe('facebook send', () => {
  it('posts message and link as a form to /{page-id}/feed with the token as Bearer, never in the URL', async () => {
    const receipt = await sendAnnouncement(roadClosed())

    expect(receipt).toEqual({providerId: `${testPageId}_8800000000001`, url: `https://www.facebook.com/${testPageId}_8800000000001`})
    const [request] = fake.requests
    expect(`${request!.method} ${request!.path}`).toBe(`POST /v21.0/${testPageId}/feed`)
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(request!.headers.authorization).toBe(`Bearer ${testPageToken}`)
    expect(graph.posts).toEqual([
      expect.objectContaining({
        pageId: testPageId,
        message: '🟡 MODERATE: A55 closed <J11> & J12\n\nUse the A5 > A470 instead.\n\nAllow 30 minutes.',
        link,
        parameters: {message: '🟡 MODERATE: A55 closed <J11> & J12\n\nUse the A5 > A470 instead.\n\nAllow 30 minutes.', link},
        tokenVia: 'bearer',
        status: 200,
      }),
    ])
    for (const each of fake.requests) expect(each.path).not.toContain(testPageToken)
  })

  it('sends the full announcement fixture byte for byte: Welsh, emoji, quotes and ampersands', async () => {
    const announcement = makeFullAnnouncement()
    await sendAnnouncement(announcement)
    expect(graph.accepted()[0]!.message).toBe(render(announcement).payload.message)
    expect(graph.accepted()[0]!.message).toContain('Flood warning: River Conwy "severe" 🌊')
    expect(graph.accepted()[0]!.link).toBe(link)
  })

  it('adds appsecret_proof when the app requires it', async () => {
    const appSecret = 'facebook-app-secret-4c3b2a19'
    useGraph({appSecret})
    await sendAnnouncement(roadClosed(), makeChannel({appSecret}))
    expect(graph.accepted()[0]!.parameters.appsecret_proof).toBe(createHmac('sha256', appSecret).update(testPageToken).digest('hex'))
    const refused = await sendExpectingError(makeChannel())
    expect(refused).toBeInstanceOf(PermanentSendError)
    expect(refused.message).toBe('Facebook 100: API calls from the server require an appsecret_proof argument')
  })
})

describe('facebook send: errors', () => {
  it.each([
    ['#32 page limit with the business use case estimate', facebookFaults.pageRateLimited(7), RateLimitedError, 'Facebook 32: (#32) Page request limit reached', 7 * 60_000],
    ['#32 page limit without an estimate waits 5 minutes', facebookFaults.pageRateLimited(), RateLimitedError, 'Facebook 32: (#32) Page request limit reached', 5 * 60_000],
    ['#4 application limit with x-app-usage', facebookFaults.appRateLimited(), RateLimitedError, 'Facebook 4: (#4) Application request limit reached', 5 * 60_000],
    ['#17 user limit with Retry-After', graphError(400, 17, '(#17) User request limit reached', {headers: {'Retry-After': '90'}}), RateLimitedError, 'Facebook 17: (#17) User request limit reached', 90_000],
    ['#613 custom limit', graphError(400, 613, 'Calls to this api have exceeded the rate limit.'), RateLimitedError, 'Facebook 613: Calls to this api have exceeded the rate limit.', 5 * 60_000],
    ['#80001 page business use case limit', graphError(400, 80001, 'There have been too many calls to this Page account.'), RateLimitedError, 'Facebook 80001: There have been too many calls to this Page account.', 5 * 60_000],
    ['a bare 429', {status: 429} as Answer, RateLimitedError, 'HTTP 429', 5 * 60_000],
    ['#1 unknown error', facebookFaults.unknownError(), TransientSendError, 'Facebook 1: An unknown error occurred', undefined],
    ['#2 service unavailable', facebookFaults.serviceUnavailable(), TransientSendError, 'Facebook 2: Service temporarily unavailable', undefined],
    // A gateway in front passed the post on and got no answer: it may be on the page — never posted twice.
    ['a proxy 502 without a Graph error, in doubt', {status: 502, body: 'Bad gateway'} as Answer, InDoubtSendError, 'HTTP 502: Bad gateway — a gateway passed the request on and got no answer: the post may have gone', undefined],
    ['a gateway 504 in HTML, in doubt', {status: 504, body: '<html><title>504 Gateway Time-out</title></html>'} as Answer, InDoubtSendError, 'HTTP 504: <html><title>504 Gateway Time-out</title></html> — a gateway passed the request on and got no answer: the post may have gone', undefined],
    ['a 503 without a Graph error, tried again', {status: 503, body: 'Service Unavailable'} as Answer, TransientSendError, 'HTTP 503: Service Unavailable', undefined],
    ['#190 expired token', facebookFaults.tokenExpired(), ChannelUnusableError, 'Facebook 190/463: Error validating access token: Session has expired on Thursday, 09-May-24 02:00:00 PDT. — the page access token is invalid or expired: set a new pageAccessToken', undefined],
    ['#200 missing permission', facebookFaults.permissionMissing(), PermanentSendError, "Facebook 200: (#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission — the token needs pages_manage_posts and the page's CREATE_CONTENT task", undefined],
    ['#506 duplicate', facebookFaults.duplicate(), PermanentSendError, 'Facebook 506: (#506) Duplicate status message', undefined],
    ['#100 invalid parameter', graphError(400, 100, '(#100) Invalid parameter', {subcode: 1349125}), PermanentSendError, 'Facebook 100/1349125: (#100) Invalid parameter', undefined],
  ])('classifies %s', async (_name, answer, type, message, retryAfterMs) => {
    useGraph({cueAt: {0: answer}})
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(type)
    expect(error.message).toBe(message)
    expect((error as {retryAfterMs?: number}).retryAfterMs).toBe(retryAfterMs)
  })

  it('takes a 2xx naming no post as in doubt, and a Graph error inside a 2xx as that error — never as sent', async () => {
    useGraph({cueAt: {0: {status: 200, headers: {'Content-Type': 'application/json'}, body: '{}'}}})
    const noId = await sendExpectingError()
    expect(noId).toBeInstanceOf(InDoubtSendError)
    expect(noId.message).toBe("HTTP 200 without a post id — it may or may not be on the page: check it, and the channel's baseUrl")
    useGraph({cueAt: {0: {status: 200, headers: {'Content-Type': 'application/json'}, body: '{"error":{"message":"An unknown error occurred","type":"OAuthException","code":1}}'}}})
    const inside = await sendExpectingError()
    expect(inside).toBeInstanceOf(TransientSendError)
    expect(inside.message).toBe('Facebook 1: An unknown error occurred')
    expect(graph.accepted()).toHaveLength(0)
  })

  it('takes a wrong token (190) as the channel unusable, its deliveries waiting for the fix, naming the setting, never the token', async () => {
    const error = await sendExpectingError(makeChannel({pageAccessToken: 'EAAwrongwrongwrongwrong'}))
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toBe('Facebook 190: Invalid OAuth access token - Cannot parse access token — the page access token is invalid or expired: set a new pageAccessToken')
    expect(graph.accepted()).toHaveLength(0)
  })

  it('treats a page id the token cannot post to as permanent, with Graph reason', async () => {
    const error = await sendExpectingError(makeChannel({pageId: '999000111'}))
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toMatch(/^Facebook 100\/33: Unsupported post request\. Object with ID '999000111' does not exist/)
  })

  it('gives up on a stalled request at the channel timeout: in doubt, since the post may have gone out', async () => {
    useGraph({cueAt: {0: {stallMs: Infinity}}})
    const error = await sendExpectingError(makeChannel({timeout: '300ms'}))
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('timed out after 300 ms')
    await vi.waitFor(() => expect(fake.requests[0]!.outcome).toBe('abandoned'))
  })

  it('treats a reset connection as in doubt and a refused one as transient (it never left)', async () => {
    useGraph({cueAt: {0: {reset: true}}})
    const reset = await sendExpectingError()
    expect(reset).toBeInstanceOf(InDoubtSendError)
    expect(reset.message).toMatch(/^connection (reset|closed)/)
    const refused = await sendExpectingError(makeChannel({baseUrl: `${await closedPortUrl()}/v21.0`}))
    expect(refused).toBeInstanceOf(TransientSendError)
    expect(refused).not.toBeInstanceOf(InDoubtSendError)
    expect(refused.message).toBe('connection refused')
  })

  it('never puts the page token or app secret in an error or check detail', async () => {
    const appSecret = 'facebook-app-secret-4c3b2a19'
    // A careless proxy quoting back the Authorization header it was sent.
    const quoting = (status: number, code?: number) => (request: IncomingRequest): Answer => {
      const said = `you sent ${String(request.headers.authorization)} and ${request.body || request.path} (secret ${appSecret})`
      return code === undefined ? {status, body: said} : graphError(status, code, said)
    }
    const messages: string[] = []
    for (const [status, code] of [
      [400, 100],
      [400, 190],
      [400, 32],
      [500, 2],
      [502, undefined],
      [403, undefined],
    ] as const) {
      fake.respondWith(quoting(status, code))
      messages.push((await sendExpectingError(makeChannel({appSecret}))).message)
      messages.push((await facebook.check(makeChannel({appSecret}), {http, signal: new AbortController().signal})).detail)
    }
    expect(messages).toHaveLength(12)
    for (const message of messages) {
      expect(message).not.toContain(testPageToken)
      expect(message).not.toContain(appSecret)
    }
    expect(messages[0]).toMatch(/^Facebook 100: you sent Bearer \*\*\* and message=/)
  })
})

describe('facebook check', () => {
  it("reads the page's name with the page's own token, posting nothing", async () => {
    const result = await facebook.check(makeChannel(), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: true, detail: `page "${testPageName}" (${testPageId}); token is the page's own`})
    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([`GET /v21.0/${testPageId}?fields=name`, 'GET /v21.0/me?fields=id%2Cname'])
    expect(fake.requests.every((request) => request.headers.authorization === `Bearer ${testPageToken}`)).toBe(true)
    expect(graph.posts).toHaveLength(0)
  })

  it("reports a wrong token with Graph's reason, without the token", async () => {
    const wrong = 'EAAwrongwrongwrongwrong'
    const result = await facebook.check(makeChannel({pageAccessToken: wrong}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: 'Facebook 190: Invalid OAuth access token - Cannot parse access token — the page access token is invalid or expired: set a new pageAccessToken'})
  })

  it("reports a token that reads the page but is not the page's own", async () => {
    useGraph({tokenOwner: {id: '5550001', name: 'Sgt Jones'}})
    const result = await facebook.check(makeChannel(), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: `page "${testPageName}" is readable, but the token is not this page's access token (it is "Sgt Jones"'s) — use a Page access token for page ${testPageId}`})
  })

  it('reports an unreachable API', async () => {
    const result = await facebook.check(makeChannel({baseUrl: `${await closedPortUrl()}/v21.0`}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: 'unreachable: connection refused'})
  })
})

describe('facebook config', () => {
  let home: string
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'crier-facebook-'))
  })
  afterEach(() => {
    rmSync(home, {recursive: true, force: true})
  })

  function loadProblems(channel: string, env: NodeJS.ProcessEnv = {}): string[] {
    try {
      load(channel, env)
    } catch (error) {
      if (error instanceof ConfigError) return error.problems
      throw error
    }
    throw new Error('expected the config to be refused')
  }

  function load(channel: string, env: NodeJS.ProcessEnv = {}): Config {
    const configFile = join(home, 'config.yaml')
    writeFileSync(configFile, `channels:\n  facebook:\n${channel.replace(/^/gm, '    ')}\n`)
    return loadConfig({home, database: join(home, 'crier.db'), configFile, configExplicit: true}, env)
  }

  it('is registered, and loads a channel with the defaults filled in, a numeric page id as text', () => {
    expect(driverFor('facebook')).toBe(facebook)
    const config = load('type: facebook\npageId: 1234567890\npageAccessToken: ${FACEBOOK_PAGE_TOKEN}', {FACEBOOK_PAGE_TOKEN: testPageToken})
    expect(config.channels.facebook).toMatchObject({pageId: '1234567890', pageAccessToken: testPageToken, baseUrl: 'https://graph.facebook.com/v21.0', severityTag: true})
  })

  it('refuses a page name for an id, a missing token and threads, naming the keys', () => {
    expect(loadProblems('type: facebook\npageId: northwalespolice\nthreads: true')).toEqual([
      'config.yaml: channels.facebook.pageId: expected the page\'s numeric id, in quotes, such as "1234567890"',
      'config.yaml: channels.facebook.pageAccessToken: expected a string',
      'config.yaml: channels.facebook.threads: unknown key',
    ])
  })
})
