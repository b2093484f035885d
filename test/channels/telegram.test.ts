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
import {createHttpClient, type HttpClient} from '../../src/channels/http.js'
import {driverFor} from '../../src/channels/registry.js'
import {telegram, type TelegramPayload, type TelegramSettings} from '../../src/channels/telegram.js'
import {makeAnnouncement, makeFullAnnouncement} from '../helpers/announcement.js'
import {partsInMemory} from '../helpers/thread-parts.js'
import {closedPortUrl, startProviderFake, type Answer, type IncomingRequest, type ProviderFake} from '../fakes/provider-server.js'
import {northWalesChannel, parseTelegramHtml, telegramError, telegramFaults, telegramPlan, testBotToken, testBotUsername, type FakeChat, type TelegramFake} from '../fakes/telegram-plan.js'
import {channelFor, fixedNow, sendContextFor} from '../helpers/driver-context.js'

// The telegram driver against a real HTTP server on loopback that answers as the Bot API
// does (token in the path, HTML parsed and counted as Telegram does), through the shared
// undici client.

const secretHalf = testBotToken.slice(testBotToken.indexOf(':') + 1)
const link = 'https://northwales.example/alerts/flood?area=conwy&lang=en'

let http: HttpClient
let fake: ProviderFake
let bot: TelegramFake

beforeAll(() => {
  http = createHttpClient()
})
afterAll(async () => {
  await http.close()
})
beforeEach(async () => {
  bot = telegramPlan()
  fake = await startProviderFake({plan: bot.plan})
})
afterEach(async () => {
  await fake.close()
})

/** Validated exactly as the config loader does: the driver's settings plus the common ones. */
function makeChannel(settings: Record<string, unknown> = {}): ChannelConfig<TelegramSettings> {
  return channelFor<TelegramSettings>(telegram, 'telegram', {botToken: testBotToken, chatId: '@northwalespolice', baseUrl: fake.url, ...settings})
}

function makeContext(channel: ChannelConfig<TelegramSettings>, overrides: Partial<SendContext<TelegramSettings>> = {}): SendContext<TelegramSettings> {
  return sendContextFor(channel, http, overrides)
}

function render(announcement: Announcement, channel = makeChannel()) {
  return telegram.render(announcement, announcement.variants[0]!, {channel})
}

/** Renders and sends as the engine does. */
async function sendAnnouncement(announcement: Announcement, channel = makeChannel(), overrides: Partial<SendContext<TelegramSettings>> = {}) {
  return telegram.send(render(announcement, channel).payload, makeContext(channel, {announcement, ...overrides}))
}

async function sendExpectingError(channel = makeChannel(), overrides: Partial<SendContext<TelegramSettings>> = {}, announcement = roadClosed()): Promise<Error> {
  const error = await sendAnnouncement(announcement, channel, overrides).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof Error)) throw new Error('expected send to throw')
  return error
}

function useBot(options: Parameters<typeof telegramPlan>[0]): void {
  bot = telegramPlan(options)
  fake.respondWith(bot.plan)
}

/** Severity Unknown has no tag: the text is exactly headline, description and link. */
function announcementOf(headline: string, description: string, overrides: Partial<Announcement> = {}): Announcement {
  return makeAnnouncement({severity: 'Unknown', variants: [{language: 'en-GB', headline, description}], ...overrides})
}

function roadClosed(): Announcement {
  return makeAnnouncement({
    severity: 'Moderate',
    web: link,
    variants: [{language: 'en-GB', headline: 'A55 closed <J11> & J12', description: 'Use the A5 > A470 instead.', instruction: 'Allow 30 minutes.'}],
  })
}

/** `length` UTF-16 units of sentences with Telegram's special characters, ending on a full stop. */
function sentencesOf(length: number): string {
  const sentence = 'Flood water & debris on the <A55> near Conwy > Llandudno Junction. '
  return `${sentence.repeat(Math.ceil(length / sentence.length)).slice(0, length - 1)}.`
}

describe('telegram render', () => {
  it('puts the severity tag and headline first, in bold, then body and link, escaped for Telegram HTML', () => {
    const {parts, payload} = render(roadClosed())
    const visible = '🟡 MODERATE: A55 closed <J11> & J12\n\nUse the A5 > A470 instead.\n\nAllow 30 minutes.\n\nhttps://northwales.example/alerts/flood?area=conwy&lang=en'
    expect(parts).toEqual([{label: 'post', text: visible, length: {count: 142, limit: 4096, unit: 'characters'}}])
    expect(payload).toEqual({
      chatId: '@northwalespolice',
      silent: false,
      posts: ['<b>🟡 MODERATE: A55 closed &lt;J11&gt; &amp; J12</b>\n\nUse the A5 &gt; A470 instead.\n\nAllow 30 minutes.\n\nhttps://northwales.example/alerts/flood?area=conwy&amp;lang=en'],
    })
    // What Telegram shows of the markup is exactly the previewed text.
    expect(parseTelegramHtml(payload.posts[0]!)).toEqual({text: visible})
  })

  it('leaves the severity tag out when the channel says so, and says exercise and update first', () => {
    const exercise = makeAnnouncement({status: 'Exercise', msgType: 'Update', severity: 'Severe', variants: [{language: 'en-GB', headline: 'Evacuate Llanrwst', description: ''}]})
    expect(render(exercise).parts[0]!.text).toBe('EXERCISE · 🟠 SEVERE · UPDATE: Evacuate Llanrwst')
    expect(render(exercise, makeChannel({severityTag: false})).payload.posts).toEqual(['<b>EXERCISE · UPDATE: Evacuate Llanrwst</b>'])
  })

  it('posts Minor announcements silently by default, and what silentFor names', () => {
    const minor = makeAnnouncement({severity: 'Minor'})
    expect(render(minor).payload.silent).toBe(true)
    expect(render(minor).parts[0]!.label).toBe('post, silent')
    expect(render(roadClosed()).payload.silent).toBe(false)
    expect(render(roadClosed(), makeChannel({silentFor: ['Moderate', 'Minor']})).payload.silent).toBe(true)
    expect(render(minor, makeChannel({silentFor: []})).payload.silent).toBe(false)
  })

  it('links the CAP document when there is no web link', () => {
    const announcement = announcementOf('Bins collected Tuesday', 'Put bins out by 7am.')
    const {parts} = telegram.render(announcement, announcement.variants[0]!, {channel: makeChannel(), capUrl: 'https://northwales.example/alerts/cap/01.xml'})
    expect(parts[0]!.text).toBe('Bins collected Tuesday\n\nPut bins out by 7am.\n\nhttps://northwales.example/alerts/cap/01.xml')
  })

  it.each([
    ['an emoji, two UTF-16 units', 'Flood 🌊', 8],
    ['a family emoji joined by ZWJ', '👨‍👩‍👧 shelter', 16],
    ['the Welsh flag, a tag sequence', 'Cymru 🏴󠁧󠁢󠁷󠁬󠁳󠁿', 20],
    ['Arabic, right to left', 'إغلاق الطريق', 12],
    ['Hebrew with a mark', 'הכביש סגור\u200f', 11],
    ['a combining acute accent', 'Cafe\u0301 closed', 12],
    ['Welsh ŵ, precomposed', 'Dŵr', 3],
  ])('counts %s as Telegram does', (_name, headline, count) => {
    const {parts} = render(announcementOf(headline, ''))
    expect(parts[0]!.text).toBe(headline)
    expect(parts[0]!.length).toEqual({count, limit: 4096, unit: 'characters'})
  })

  it('counts the visible text, not the markup: 4,096 characters with escapes and a link at the end is one post', async () => {
    const headline = 'Road closed'
    const description = sentencesOf(4096 - headline.length - 2 - 2 - link.length)
    const announcement = announcementOf(headline, description, {web: link})
    const {parts, payload} = render(announcement)
    expect(parts).toHaveLength(1)
    expect(parts[0]!.length!.count).toBe(4096)
    expect(parts[0]!.text.endsWith(link)).toBe(true)
    // The HTML sent is far longer than 4,096, and Telegram accepts it.
    expect(payload.posts[0]!.length).toBeGreaterThan(4500)
    await telegram.send(payload, makeContext(makeChannel(), {announcement}))
    expect(bot.accepted().map((post) => post.visibleText)).toEqual([parts[0]!.text])
  })

  it('threads 4,097 characters into two numbered posts with the link in the first, each within the limit', async () => {
    const headline = 'Road closed'
    const description = sentencesOf(4097 - headline.length - 2 - 2 - link.length)
    const announcement = announcementOf(headline, description, {web: link})
    const {parts, payload} = render(announcement)
    expect(parts.map((part) => part.label)).toEqual(['post 1/2', 'post 2/2, silent'])
    for (const part of parts) expect(part.length!.count).toBeLessThanOrEqual(4096)
    expect(parts[0]!.text).toMatch(/^Road closed\n\nFlood water & debris/)
    expect(parts[0]!.text.endsWith(`\n\n${link}\n1/2`)).toBe(true)
    expect(parts[1]!.text.endsWith('\n2/2')).toBe(true)
    expect(parts[1]!.text).not.toContain(link)
    // No text is lost or repeated across the split.
    const rejoined = parts.map((part, index) => part.text.replace(/\n\d\/2$/, '').replace(index === 0 ? `\n\n${link}` : '', '')).join(' ')
    expect(rejoined).toBe(`${headline}\n\n${description}`)
    expect(payload.posts[0]!.startsWith('<b>Road closed</b>\n\nFlood water &amp; debris on the &lt;A55&gt;')).toBe(true)
    expect(payload.posts[1]!).not.toContain('<b>')

    await telegram.send(payload, makeContext(makeChannel(), {announcement}))
    expect(bot.accepted().map((post) => post.visibleText)).toEqual(parts.map((part) => part.text))
  })

  it('splits a long bulletin at sentence boundaries into posts numbered 1/3 to 3/3', () => {
    const sentences = Array.from({length: 140}, (_, index) => `Sentence ${String(index + 1).padStart(3, '0')} says where the water is and what to do about it.`)
    const description = sentences.join(' ')
    const {parts} = render(announcementOf('Flood warning for the Conwy valley', description))
    expect(parts.map((part) => part.label)).toEqual(['post 1/3', 'post 2/3, silent', 'post 3/3, silent'])
    for (const [index, part] of parts.entries()) {
      expect(part.length!.count).toBeLessThanOrEqual(4096)
      expect(part.text.endsWith(`.\n${index + 1}/3`)).toBe(true)
    }
    // Each post ends on a whole sentence, and the sentences stay in order.
    const found = parts.flatMap((part) => [...part.text.matchAll(/Sentence (\d{3})/g)].map((match) => Number(match[1])))
    expect(found).toEqual(Array.from({length: 140}, (_, index) => index + 1))
  })

  it('keeps an over-limit announcement in one part when threads are off, which policy refuses', () => {
    const announcement = announcementOf('Road closed', sentencesOf(4097 - 13))
    const channel = makeChannel({threads: false})
    const rendered = render(announcement, channel)
    expect(rendered.parts).toHaveLength(1)
    expect(rendered.parts[0]!.length).toEqual({count: 4097, limit: 4096, unit: 'characters'})

    const config: Config = {source: 'test', sender: 'alerts@northwales.example', timezone: 'Europe/London', languages: ['en-GB'], channels: {telegram: channel}, policy: policySchema.parse({})}
    const findings = checkPolicy(announcement, config, [{channel, driver: telegram, rendered}], fixedNow)
    expect(findings).toContainEqual(expect.objectContaining({level: 'error', rule: 'channel-limit', channel: 'telegram'}))
    expect(findings.find((finding) => finding.rule === 'channel-limit')!.message).toContain('telegram: post is 4097 characters, over the limit of 4096')
  })
})

describe('telegram send', () => {
  it('posts chat_id, the HTML text and parse_mode as JSON to /bot<token>/sendMessage, and returns the message link', async () => {
    const receipt = await sendAnnouncement(roadClosed())

    expect(receipt).toEqual({providerId: '101', url: 'https://t.me/northwalespolice/101'})
    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([`POST /bot${testBotToken}/sendMessage`])
    expect(fake.requests[0]!.headers['content-type']).toBe('application/json')
    expect(bot.posts).toEqual([
      expect.objectContaining({
        chat_id: '@northwalespolice',
        text: '<b>🟡 MODERATE: A55 closed &lt;J11&gt; &amp; J12</b>\n\nUse the A5 &gt; A470 instead.\n\nAllow 30 minutes.\n\nhttps://northwales.example/alerts/flood?area=conwy&amp;lang=en',
        parse_mode: 'HTML',
        disable_notification: undefined,
        reply_parameters: undefined,
        messageId: 101,
        status: 200,
      }),
    ])
    expect(bot.posts[0]!.visibleText).toBe(render(roadClosed()).parts[0]!.text)
  })

  it('sends a Minor announcement without notification', async () => {
    await sendAnnouncement(makeAnnouncement({severity: 'Minor'}))
    expect(bot.posts[0]!.disable_notification).toBe(true)
  })

  it('posts a thread in order, each part replying to the one before, only the first with a notification', async () => {
    const announcement = makeAnnouncement({severity: 'Severe', web: link, variants: [{language: 'en-GB', headline: 'Evacuate Llanrwst', description: sentencesOf(10_000)}]})
    const channel = makeChannel()
    const {parts, payload} = render(announcement, channel)
    expect(parts).toHaveLength(3)
    const progress = partsInMemory()
    const receipt = await telegram.send(payload, makeContext(channel, {announcement, ...progress}))

    expect(receipt).toEqual({providerId: '101', url: 'https://t.me/northwalespolice/101'})
    expect(bot.posts.map((post) => [post.messageId, post.reply_parameters, post.disable_notification])).toEqual([
      [101, undefined, undefined],
      [102, {message_id: 101, allow_sending_without_reply: true}, true],
      [103, {message_id: 102, allow_sending_without_reply: true}, true],
    ])
    expect(bot.posts.map((post) => post.text)).toEqual(payload.posts)
    expect(progress.postedParts).toEqual([
      {index: 0, providerId: '101', url: 'https://t.me/northwalespolice/101'},
      {index: 1, providerId: '102', url: 'https://t.me/northwalespolice/102'},
      {index: 2, providerId: '103', url: 'https://t.me/northwalespolice/103'},
    ])
  })

  it('resumes a thread whose third post failed at the third post, replying to the second', async () => {
    useBot({cueAt: {2: telegramError(503, 'Service Unavailable')}})
    const announcement = makeAnnouncement({severity: 'Moderate', variants: [{language: 'en-GB', headline: 'Flood warning', description: sentencesOf(10_000)}]})
    const channel = makeChannel()
    const {payload} = render(announcement, channel)
    expect(payload.posts).toHaveLength(3)
    const progress = partsInMemory()

    const first = await telegram.send(payload, makeContext(channel, {announcement, ...progress})).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(first).toBeInstanceOf(TransientSendError)
    expect((first as Error).message).toBe('Telegram 503: Service Unavailable')
    expect(progress.postedParts.map((part) => part.providerId)).toEqual(['101', '102'])

    const receipt = await telegram.send(payload, makeContext(channel, {announcement, ...progress}))
    expect(receipt).toEqual({providerId: '101', url: 'https://t.me/northwalespolice/101'})
    expect(bot.posts.map((post) => post.text)).toEqual([payload.posts[0], payload.posts[1], payload.posts[2], payload.posts[2]])
    expect(bot.accepted().map((post) => [post.messageId, post.reply_parameters])).toEqual([
      [101, undefined],
      [102, {message_id: 101, allow_sending_without_reply: true}],
      [103, {message_id: 102, allow_sending_without_reply: true}],
    ])
    expect(progress.postedParts.map((part) => part.providerId)).toEqual(['101', '102', '103'])
  })

  it('posts to a numeric chat id, and gives no link for a chat without a username', async () => {
    const privateGroup: FakeChat = {id: -1009876543210, type: 'supergroup', title: 'Responders', botStatus: 'member'}
    useBot({chats: [northWalesChannel, privateGroup]})
    expect(await sendAnnouncement(roadClosed(), makeChannel({chatId: -1009876543210}))).toEqual({providerId: '101'})
    expect(await sendAnnouncement(roadClosed(), makeChannel({chatId: '-1001234567890'}))).toEqual({providerId: '101', url: 'https://t.me/northwalespolice/101'})
    expect(bot.posts.map((post) => post.chat_id)).toEqual(['-1009876543210', '-1001234567890'])
  })

  it('is refused by the fake, as by Telegram, when the markup is not valid Telegram HTML', async () => {
    const payload: TelegramPayload = {chatId: '@northwalespolice', posts: ['Water <1m> from the top'], silent: false}
    const error = await telegram.send(payload, makeContext(makeChannel())).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    )
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error!.message).toBe('Telegram 400: Bad Request: can\'t parse entities: Unsupported start tag "1m" at byte offset 6')
  })
})

describe('telegram send: errors', () => {
  it.each([
    ['429 with parameters.retry_after', telegramFaults.tooManyRequests(17), RateLimitedError, 'Telegram 429: Too Many Requests: retry after 17', 17_000],
    ['429 with only Retry-After', {status: 429, headers: {'Retry-After': '9'}, body: '{"ok":false,"error_code":429,"description":"Too Many Requests"}'} as Answer, RateLimitedError, 'Telegram 429: Too Many Requests', 9000],
    ['a bare 429', {status: 429} as Answer, RateLimitedError, 'Telegram 429', 30_000],
    // A gateway in front passed the message on and got no answer: it may be in the chat — never sent twice.
    ['502 Bad Gateway, in doubt', telegramFaults.badGateway(), InDoubtSendError, 'Telegram 502: Bad Gateway — a gateway passed the request on and got no answer: the message may have gone', undefined],
    ['a gateway 504 in HTML, in doubt', {status: 504, body: '<html><title>504 Gateway Time-out</title></html>'} as Answer, InDoubtSendError, 'Telegram 504: <html><title>504 Gateway Time-out</title></html> — a gateway passed the request on and got no answer: the message may have gone', undefined],
    ['a proxy 503 in HTML, with Retry-After', {status: 503, headers: {'Retry-After': '4'}, body: '<html>maintenance</html>'} as Answer, TransientSendError, 'Telegram 503: <html>maintenance</html>', 4000],
    ['400 chat not found, the channel unusable until its chatId is right', telegramFaults.chatNotFound(), ChannelUnusableError, 'Telegram 400: Bad Request: chat not found', undefined],
    ['403 bot kicked, the channel unusable until it is back', telegramError(403, 'Forbidden: bot was kicked from the channel chat'), ChannelUnusableError, 'Telegram 403: Forbidden: bot was kicked from the channel chat — add the bot to the chat (a channel: as an administrator who may post messages)', undefined],
    ['a group upgraded to a supergroup', telegramFaults.migrated(-1001999888777), PermanentSendError, "Telegram 400: Bad Request: group chat was upgraded to a supergroup chat — the group is now a supergroup: set the channel's chatId to -1001999888777", undefined],
  ])('classifies %s', async (_name, answer, type, message, retryAfterMs) => {
    useBot({cueAt: {0: answer}})
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(type)
    expect(error.message).toBe(message)
    expect((error as {retryAfterMs?: number}).retryAfterMs).toBe(retryAfterMs)
  })

  it('takes a wrong token (401) as the channel unusable, its deliveries waiting for the fix, naming the setting, never the token', async () => {
    const wrong = '7312046598:AAwrongwrongwrongwrongwrong0000000'
    const error = await sendExpectingError(makeChannel({botToken: wrong}))
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toBe("Telegram 401: Unauthorized — check the channel's botToken")
    expect(bot.posts).toHaveLength(0)
  })

  it('takes a bot without the right to post in the channel as the channel unusable until it has it', async () => {
    useBot({chats: [{...northWalesChannel, botStatus: 'member'}]})
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toBe('Telegram 400: Bad Request: need administrator rights in the channel chat')
  })

  it('gives up on a stalled request at the channel timeout: in doubt, since the post may have gone out', async () => {
    useBot({cueAt: {0: {stallMs: Infinity}}})
    const error = await sendExpectingError(makeChannel({timeout: '300ms'}))
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('timed out after 300 ms')
    await vi.waitFor(() => expect(fake.requests[0]!.outcome).toBe('abandoned'))
  })

  it('treats a reset connection as in doubt and a refused one as transient (it never left)', async () => {
    useBot({cueAt: {0: {reset: true}}})
    const reset = await sendExpectingError()
    expect(reset).toBeInstanceOf(InDoubtSendError)
    expect(reset.message).toMatch(/^connection (reset|closed)/)
    const refused = await sendExpectingError(makeChannel({baseUrl: await closedPortUrl()}))
    expect(refused).toBeInstanceOf(TransientSendError)
    expect(refused).not.toBeInstanceOf(InDoubtSendError)
    expect(refused.message).toBe('connection refused')
  })

  it('never puts the bot token, or its secret half, in an error or check detail', async () => {
    // A careless proxy quoting back the path it was asked for (the token is in it), in JSON and plain.
    const quoting = (status: number, json: boolean) => (request: IncomingRequest): Answer => {
      const said = `no route for ${request.path} (token ${request.path.split('/')[1]!.slice(3)}, secret ${secretHalf})`
      return json ? telegramError(status, said) : {status, body: said}
    }
    const messages: string[] = []
    for (const [status, json] of [
      [400, true],
      [401, true],
      [403, false],
      [429, true],
      [500, false],
      [404, false],
    ] as const) {
      fake.respondWith(quoting(status, json))
      messages.push((await sendExpectingError()).message)
      messages.push((await telegram.check(makeChannel(), {http, signal: new AbortController().signal})).detail)
    }
    messages.push((await sendExpectingError(makeChannel({baseUrl: await closedPortUrl()}))).message)
    expect(messages).toHaveLength(13)
    for (const message of messages) {
      expect(message).not.toContain(testBotToken)
      expect(message).not.toContain(secretHalf)
    }
    expect(messages[0]).toBe('Telegram 400: no route for /***/sendMessage (token ***, secret ***)')
  })
})

describe('telegram check', () => {
  it('finds the bot, the channel and its right to post, posting nothing', async () => {
    const result = await telegram.check(makeChannel(), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: true, detail: `bot @${testBotUsername} may post to channel "North Wales Police" (@northwalespolice)`})
    expect(fake.requests.map((request) => request.path)).toEqual([`/bot${testBotToken}/getMe`, `/bot${testBotToken}/getChat`, `/bot${testBotToken}/getChatMember`])
    expect(bot.posts).toHaveLength(0)
  })

  it('reports a wrong token with the provider reason, without the token', async () => {
    const result = await telegram.check(makeChannel({botToken: '7312046598:AAwrongwrongwrongwrongwrong0000000'}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: "Telegram 401: Unauthorized — check the channel's botToken"})
  })

  it('reports a chat the bot cannot find', async () => {
    const result = await telegram.check(makeChannel({chatId: '@nosuchchannel'}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: `bot @${testBotUsername} works, but chat @nosuchchannel: Telegram 400: Bad Request: chat not found`})
  })

  it('reports a bot that is in the channel but may not post', async () => {
    useBot({chats: [{...northWalesChannel, botStatus: 'administrator', canPostMessages: false}]})
    const result = await telegram.check(makeChannel(), {http, signal: new AbortController().signal})
    expect(result).toEqual({
      ok: false,
      detail: `bot @${testBotUsername} reaches channel "North Wales Police" (@northwalespolice), but may not post there (status: administrator) — make it an administrator allowed to post messages`,
    })
  })

  it('accepts a group the bot is a member of', async () => {
    useBot({chats: [{id: -1009876543210, type: 'supergroup', title: 'Responders', botStatus: 'member'}]})
    const result = await telegram.check(makeChannel({chatId: '-1009876543210'}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: true, detail: `bot @${testBotUsername} may post to supergroup "Responders"`})
  })

  it('reports an unreachable API', async () => {
    const result = await telegram.check(makeChannel({baseUrl: await closedPortUrl()}), {http, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: 'unreachable: connection refused'})
  })
})

describe('telegram config', () => {
  let home: string
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'crier-telegram-'))
  })
  afterEach(() => {
    rmSync(home, {recursive: true, force: true})
  })

  function load(channel: string, env: NodeJS.ProcessEnv = {}): Config {
    const configFile = join(home, 'config.yaml')
    writeFileSync(configFile, `channels:\n  telegram:\n${channel.replace(/^/gm, '    ')}\n`)
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

  it('is registered, and loads the channel of DESIGN.md with the defaults filled in', () => {
    expect(driverFor('telegram')).toBe(telegram)
    const config = load('type: telegram\nbotToken: ${TELEGRAM_BOT_TOKEN}\nchatId: "@northwalespolice"', {TELEGRAM_BOT_TOKEN: testBotToken})
    expect(config.channels.telegram).toMatchObject({botToken: testBotToken, chatId: '@northwalespolice', baseUrl: 'https://api.telegram.org', silentFor: ['Minor'], threads: true, severityTag: true})
  })

  it('takes a numeric chat id written without quotes', () => {
    expect(load(`type: telegram\nbotToken: "${testBotToken}"\nchatId: -1001234567890`).channels.telegram!.chatId).toBe('-1001234567890')
  })

  it('refuses a malformed token and chat id, naming the keys and not the token', () => {
    const problems = loadProblems('type: telegram\nbotToken: ${TELEGRAM_BOT_TOKEN}\nchatId: "northwalespolice"\nsilentFor: [Mild]', {TELEGRAM_BOT_TOKEN: 'not-a-bot-token-5d1c'})
    expect(problems).toEqual([
      'config.yaml: channels.telegram.botToken: expected a bot token such as 123456789:AAH…, as @BotFather gives it',
      'config.yaml: channels.telegram.chatId: expected a channel @username or a numeric chat id such as -1001234567890',
      'config.yaml: channels.telegram.silentFor.0: expected one of Extreme, Severe, Moderate, Minor, Unknown',
    ])
  })
})

describe('telegram fake', () => {
  it('parses Telegram HTML as Telegram does: entities decoded, unsupported or unclosed tags refused', () => {
    expect(parseTelegramHtml('<b>A &amp; B</b> &lt;3 &#127754; & more')).toEqual({text: 'A & B <3 🌊 & more'})
    expect(parseTelegramHtml('<b>bold')).toEqual({error: 'Can\'t find end tag corresponding to start tag "b"'})
    expect(parseTelegramHtml('<b>x</i>')).toEqual({error: 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'})
    expect(parseTelegramHtml('🌊 <J11>')).toEqual({error: 'Unsupported start tag "J11" at byte offset 5'})
    expect(parseTelegramHtml('Water < 1m')).toEqual({error: "Can't find end of the entity starting at byte offset 6"})
  })

  it('refuses a reply to a message that does not exist unless told to send anyway', async () => {
    const channel = makeChannel()
    const context = makeContext(channel, partsInMemory([{index: 0, providerId: '999'}]))
    const payload: TelegramPayload = {chatId: '@northwalespolice', posts: ['one', 'two'], silent: false}
    await telegram.send(payload, context)
    expect(bot.accepted().map((post) => [post.messageId, post.reply_parameters])).toEqual([[101, {message_id: 999, allow_sending_without_reply: true}]])
    bot.plan({index: 9, method: 'POST', path: `/bot${testBotToken}/sendMessage`, headers: {'content-type': 'application/json'}, body: JSON.stringify({chat_id: '@northwalespolice', text: 'x', reply_parameters: {message_id: 999}})})
    expect(bot.posts.at(-1)!.description).toBe('Bad Request: message to be replied not found')
  })

  it('answers the full announcement fixture with text it can parse', async () => {
    const announcement = makeFullAnnouncement()
    await sendAnnouncement(announcement)
    expect(bot.accepted()[0]!.visibleText).toBe(render(announcement).parts[0]!.text)
  })
})
