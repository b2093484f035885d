import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {facebookChannelConfig, facebookEnv, facebookPlan, testPageId, testPageToken, type FacebookFake} from '../fakes/facebook-plan.js'
import {startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {telegramChannelConfig, telegramEnv, telegramError, telegramPlan, testBotToken, testBotUsername, type TelegramFake} from '../fakes/telegram-plan.js'
import {jsonOf, makeCrierHome, repoRoot, type CrierHome} from '../helpers/cli.js'
import {explain} from '../helpers/cli-assertions.js'

// Telegram and a Facebook page through the built CLI: a Bot API-shaped and a Graph API-shaped
// server on loopback, and exactly what each received.

const link = 'https://northwales.example/alerts/a55?from=j11&to=j12'

let home: CrierHome | undefined
let telegramServer: ProviderFake | undefined
let facebookServer: ProviderFake | undefined
afterEach(async () => {
  home?.cleanup()
  home = undefined
  await telegramServer?.close()
  telegramServer = undefined
  await facebookServer?.close()
  facebookServer = undefined
})

/** A CLI home whose config has a telegram and a facebook channel pointing at the two fakes. */
async function setUp(telegramOptions: Parameters<typeof telegramPlan>[0] = {}): Promise<{home: CrierHome; bot: TelegramFake; graph: FacebookFake}> {
  const bot = telegramPlan(telegramOptions)
  const graph = facebookPlan()
  telegramServer = await startProviderFake({plan: bot.plan})
  facebookServer = await startProviderFake({plan: graph.plan})
  home = makeCrierHome()
  Object.assign(home.env, telegramEnv, facebookEnv)
  const fast = {retryBase: '20ms', retryCap: '100ms', timeout: '5s'}
  // JSON is YAML: the fakes' channel objects go in as flow mappings.
  home.writeConfig(`sender: alerts@northwales.example
channels:
  telegram: ${JSON.stringify(telegramChannelConfig(telegramServer.url, fast))}
  facebook: ${JSON.stringify(facebookChannelConfig(facebookServer.url, fast))}
`)
  return {home, bot, graph}
}

function withoutSecrets(text: string): void {
  expect(text).not.toContain(testBotToken)
  expect(text).not.toContain(testBotToken.split(':')[1])
  expect(text).not.toContain(testPageToken)
}

describe('broadcast to telegram and a facebook page', () => {
  it('posts the escaped HTML to Telegram and the message with its link card to the page, byte for byte', async () => {
    const {home, bot, graph} = await setUp()
    const result = await home.runAsync(
      ['broadcast', '-', '--severity', 'Moderate', '--headline', 'A55 closed <J11> & J12', '--web', link, '--area', 'Conwy', '--channel', 'telegram,facebook', '--json'],
      {input: "Use the A5 > A470 instead. Don't drive through flood water."},
    )
    expect(result.status, explain(result)).toBe(0)
    withoutSecrets(result.stdout + result.stderr)

    expect(bot.posts).toHaveLength(1)
    expect(bot.posts[0]).toMatchObject({
      chat_id: '@northwalespolice',
      text: "<b>🟡 MODERATE: A55 closed &lt;J11&gt; &amp; J12</b>\n\nUse the A5 &gt; A470 instead. Don't drive through flood water.\n\nhttps://northwales.example/alerts/a55?from=j11&amp;to=j12",
      parse_mode: 'HTML',
      reply_parameters: undefined,
      disable_notification: undefined,
      visibleText: "🟡 MODERATE: A55 closed <J11> & J12\n\nUse the A5 > A470 instead. Don't drive through flood water.\n\nhttps://northwales.example/alerts/a55?from=j11&to=j12",
    })
    expect(graph.posts).toHaveLength(1)
    expect(graph.posts[0]).toMatchObject({
      pageId: testPageId,
      message: "🟡 MODERATE: A55 closed <J11> & J12\n\nUse the A5 > A470 instead. Don't drive through flood water.",
      link,
      tokenVia: 'bearer',
    })

    const status = jsonOf(result)
    expect(status.announcement.state).toBe('sent')
    const receipts = Object.fromEntries(status.receipts.map((receipt: {channel: string}) => [receipt.channel, receipt]))
    expect(receipts.telegram).toMatchObject({state: 'sent', receiptId: '101', receiptUrl: 'https://t.me/northwalespolice/101'})
    expect(receipts.facebook).toMatchObject({state: 'sent', receiptId: graph.posts[0]!.postId, receiptUrl: `https://www.facebook.com/${graph.posts[0]!.postId}`})
  })

  it('previews a long bulletin as a numbered Telegram thread, and resumes it at the third post after a 503', async () => {
    const {home, bot, graph} = await setUp({cueAt: {2: telegramError(503, 'Service Unavailable')}})
    const sentence = 'Water is rising fast on the Conwy & the Llugwy; keep away from the river banks. '
    const text = sentence.repeat(110).trim()
    const draft = jsonOf(home.run(['draft', '-', '--headline', 'Flood warning: Conwy valley', '--severity', 'Moderate', '--web', link, '--channel', 'telegram,facebook', '--json'], {input: text}))

    const preview = home.run(['preview', draft.id, '--channel', 'telegram'])
    expect(preview.status, explain(preview)).toBe(0)
    const labels = [...preview.stdout.matchAll(/^(post \d\/\d)(?:, silent)?\s+\[(\d+)\/4096 characters\]$/gm)]
    expect(labels.map((match) => match[1])).toEqual(['post 1/3', 'post 2/3', 'post 3/3'])
    for (const match of labels) expect(Number(match[2])).toBeLessThanOrEqual(4096)
    const facebookPreview = home.run(['preview', draft.id, '--channel', 'facebook'])
    expect(facebookPreview.stdout).toMatch(new RegExp(`^post, link card ${link.replace(/[?.]/g, '\\$&')}\\s+\\[\\d+/63206 characters\\]$`, 'm'))

    const result = await home.runAsync(['broadcast', draft.id])
    expect(result.status, explain(result)).toBe(0)
    expect(result.stdout).toMatch(/^telegram\s+sent 1\/1\s+\(1 retry: Telegram 503: Service Unavailable\)$/m)
    expect(result.stdout).toMatch(/^facebook\s+sent 1\/1$/m)

    // Posts 1 and 2 once; post 3 refused once and then posted, replying to post 2.
    expect(bot.posts.map((post) => [post.status, post.messageId, (post.reply_parameters as {message_id?: number} | undefined)?.message_id])).toEqual([
      [200, 101, undefined],
      [200, 102, 101],
      [503, undefined, 102],
      [200, 103, 102],
    ])
    expect(bot.posts[3]!.text).toBe(bot.posts[2]!.text)
    expect(bot.accepted().map((post) => (post.text as string).slice(-4))).toEqual(['\n1/3', '\n2/3', '\n3/3'])
    expect(bot.accepted()[0]!.text as string).toMatch(/^<b>🟡 MODERATE: Flood warning: Conwy valley<\/b>\n\nWater is rising fast on the Conwy &amp; the Llugwy;/)
    expect(bot.accepted().map((post) => post.disable_notification)).toEqual([undefined, true, true])
    expect(graph.accepted()).toHaveLength(1)
    expect(graph.accepted()[0]!.message).toBe(`🟡 MODERATE: Flood warning: Conwy valley\n\n${text}`)
  })
})

describe('channels test', () => {
  it('accepts good credentials for both, posting nothing', async () => {
    const {home, bot, graph} = await setUp()
    const result = await home.runAsync(['channels', 'test'])
    expect(result.status, explain(result)).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^telegram\\s+ok\\s+bot @${testBotUsername} may post to channel "North Wales Police" \\(@northwalespolice\\)$`, 'm'))
    expect(result.stdout).toMatch(new RegExp(`^facebook\\s+ok\\s+page "North Wales Police" \\(${testPageId}\\); token is the page's own$`, 'm'))
    expect(bot.posts).toHaveLength(0)
    expect(graph.posts).toHaveLength(0)
  })

  it("fails on wrong credentials with exit 1 and the provider's reason, never the secret", async () => {
    const {home} = await setUp()
    const wrongBotToken = '7312046598:AAwrongwrongwrongwrongwrong0000000'
    const wrongPageToken = 'EAAwrongPageTokenwrongwrong'
    const env = {TELEGRAM_BOT_TOKEN: wrongBotToken, FACEBOOK_PAGE_TOKEN: wrongPageToken}

    const telegramResult = await home.runAsync(['channels', 'test', 'telegram'], {env})
    expect(telegramResult.status, explain(telegramResult)).toBe(1)
    expect(telegramResult.stdout).toMatch(/^telegram\s+FAILED\s+Telegram 401: Unauthorized — check the channel's botToken$/m)

    const facebookResult = await home.runAsync(['channels', 'test', 'facebook', '--json'], {env})
    expect(facebookResult.status, explain(facebookResult)).toBe(1)
    expect(jsonOf(facebookResult)).toEqual([
      {channel: 'facebook', type: 'facebook', ok: false, detail: 'Facebook 190: Invalid OAuth access token - Cannot parse access token — the page access token is invalid or expired: set a new pageAccessToken'},
    ])
    for (const output of [telegramResult.stdout + telegramResult.stderr, facebookResult.stdout + facebookResult.stderr]) {
      expect(output).not.toContain(wrongBotToken)
      expect(output).not.toContain(wrongBotToken.split(':')[1])
      expect(output).not.toContain(wrongPageToken)
    }
  })
})

describe('loading the drivers', () => {
  it('a revoked token leaves the channel\'s deliveries queued, not dead: once the token is set right, crier run sends them', async () => {
    const {home, bot, graph} = await setUp()
    const draft = jsonOf(home.run(['draft', 'Road closed at Betws-y-Coed.', '--severity', 'Minor', '--channel', 'telegram,facebook', '--json']))
    const revoked = {TELEGRAM_BOT_TOKEN: '7312046598:AArevokedrevokedrevokedrevoked000', FACEBOOK_PAGE_TOKEN: 'EAArevokedrevokedrevoked'}
    const sent = await home.runAsync(['broadcast', draft.id], {env: revoked})
    expect(sent.status, explain(sent)).toBe(1)
    expect(sent.stderr).toMatch(/^Error: telegram cannot send: Telegram 401: Unauthorized — check the channel's botToken — its deliveries stay queued; once it is fixed, crier run sends them$/m)
    withoutSecrets(sent.stdout + sent.stderr)
    expect(sent.stdout + sent.stderr).not.toContain('revokedrevoked')
    expect(bot.accepted()).toHaveLength(0)
    expect(graph.accepted()).toHaveLength(0)
    const db = home.db()
    expect(db.prepare('SELECT channel, state FROM delivery ORDER BY channel').all()).toEqual([{channel: 'facebook', state: 'queued'}, {channel: 'telegram', state: 'queued'}])
    db.close()

    const run = await home.runAsync(['run', '--max-time', '10s'])
    expect(run.status, explain(run)).toBe(0)
    expect(bot.accepted()).toHaveLength(1)
    expect(graph.accepted()).toHaveLength(1)
  })

  it('loads no HTTP client until a request is made', () => {
    // The registry imports every driver for every command: rendering must not pull in undici.
    const script = `
      import {createRequire} from 'node:module'
      const require = createRequire(${JSON.stringify(join(repoRoot, 'package.json'))})
      const undiciLoaded = () => Object.keys(require.cache).some((key) => key.includes('/node_modules/undici/'))
      const {driverFor} = await import(${JSON.stringify(join(repoRoot, 'dist/src/channels/registry.js'))})
      const {createHttpClient} = await import(${JSON.stringify(join(repoRoot, 'dist/src/channels/http.js'))})
      const announcement = {id: 'a', identifier: 'a', sender: 's', status: 'Actual', msgType: 'Alert', scope: 'Public', category: 'Transport', event: 'Road', urgency: 'Expected', severity: 'Minor', certainty: 'Observed', variants: [{language: 'en', headline: 'Road closed', description: 'Use the A5.'}], channels: [], state: 'approved', author: 'x', createdAt: 0, updatedAt: 0}
      const settings = {telegram: {botToken: '1:x', chatId: '@abcde', baseUrl: 'http://127.0.0.1:9', threads: true, severityTag: true, silentFor: []}, facebook: {pageId: '1', pageAccessToken: 'x', baseUrl: 'http://127.0.0.1:9', severityTag: true}}
      for (const type of ['telegram', 'facebook']) driverFor(type).render(announcement, announcement.variants[0], {channel: {name: type, type, timeout: '1s', ...settings[type]}})
      const before = undiciLoaded()
      const http = createHttpClient()
      await driverFor('telegram').check({name: 'telegram', type: 'telegram', timeout: '1s', ...settings.telegram}, {http, signal: AbortSignal.timeout(5000)})
      await http.close()
      console.log(JSON.stringify({before, after: undiciLoaded()}))
    `
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8', timeout: 60_000})
    expect(result.status, result.stderr).toBe(0)
    // `after` shows the probe can see undici once a request has loaded it.
    expect(JSON.parse(result.stdout)).toEqual({before: false, after: true})
  })
})
