import {spawn} from 'node:child_process'
import {createHmac} from 'node:crypto'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {blueskyChannelConfig, blueskyEnv, blueskyPlan, blueskyTestAccount, facetSpans, xrpcError, type BlueskyFake, type BlueskyPlanOptions, type StoredPost} from '../fakes/bluesky-plan.js'
import {facebookChannelConfig, facebookEnv, facebookPlan, type FacebookFake} from '../fakes/facebook-plan.js'
import {mastodonChannelConfig, mastodonEnv, mastodonPlan, statusId, testAcct, type MastodonFake, type MastodonPlanOptions} from '../fakes/mastodon-plan.js'
import {startProviderFake, type Answer, type ProviderFake} from '../fakes/provider-server.js'
import {telegramChannelConfig, telegramEnv, telegramError, telegramPlan, type TelegramFake, type TelegramPlanOptions} from '../fakes/telegram-plan.js'
import {postRequests, xChannelConfig, xEnv, xFaults, xPlan, type XFake, type XPlanOptions} from '../fakes/x-plan.js'
import {crierBin, jsonOf, makeCrierHome, type CliResult, type CrierHome} from '../helpers/cli.js'
import {explain} from '../helpers/cli-assertions.js'
import {capSchemaErrors} from '../helpers/validate-cap.js'

// One Severe announcement to all five social networks, the feed and a partner's webhook, through
// the built CLI: draft, preview, approval by a second officer, broadcast, status. Each fake is
// asked afterwards what it received, byte for byte where it matters: thread order and reply ids,
// Bluesky facet byte offsets, Telegram's escaped HTML, the webhook's signature, the feed's files.

const require = createRequire(import.meta.url)
const twitterText = require('twitter-text') as typeof import('twitter-text')

const headline = 'A55 closed by flooding across Ynys Môn & Gwynedd'
const heading = `🟠 SEVERE: ${headline}`
// Real TLDs, so X and Mastodon count each link as 23 (a .example host is not a URL to them).
const web = 'https://www.northwales.police.uk/alerts/a55-flood?area=ynys-mon&road=a55'
const mapLink = 'https://www.northwales.police.uk/maps/a55-flood'
const hashtag = '#A55Flood'
const sentences = [
  'Heavy rain overnight has flooded the A55 between Llanfairpwll and Bangor, and the Britannia Bridge is closed in both directions.',
  // Môn decomposed (o + U+0302), as text pasted from some editors arrives: one grapheme, two code units.
  'Drivers heading to Ynys Mo\u0302n should use the A5 over the Menai Suspension Bridge, where officers are directing traffic at both ends.',
  'Expect long queues near Llangefni and Menai Bridge, and allow at least an extra hour for any journey across the island this morning.',
  'Do not drive through flood water: 30 cm of moving water is enough to float a car, and the road surface under it may be gone.',
  'Some satnavs show the closure as "<b>&" followed by a road number; this is a display fault, so follow the yellow diversion signs instead.',
  'Residents of Llanfaethlu, Rhosneigr and Malltraeth should move valuables and medicines upstairs and keep mobile phones charged.',
  'Rest centres are open at Ysgol Gyfun Llangefni and at Canolfan Ebeneser in Caernarfon, with hot drinks, blankets and space for pets.',
  'Councillor Siân Wyn Ellis asks neighbours to check on older people living alone and on anyone who relies on powered medical equipment.',
  // An emoji with a variation selector (7 UTF-8 bytes, 1 grapheme, 2 on X) just before a link.
  `See the live map 🗺️ ${mapLink} for every closed road, updated by our control room every half hour.`,
  'Natural Resources Wales expects river levels on the Cefni and the Braint to peak around midnight, with more rain forecast this evening.',
  `Follow ${hashtag} for updates through the night, and please share this message with friends and family who travel on the island.`,
  'Only call 999 if a life is in danger; for anything else, call 101 or use the online form on our website.',
]
const description = sentences.join(' ')

const hmacSecret = 'partners-hmac-secret-4d9e2a7c'
const env = {...xEnv, ...mastodonEnv, ...blueskyEnv, ...telegramEnv, ...facebookEnv, PARTNERS_HMAC: hmacSecret}
const secrets = Object.values(env)
const channelNames = ['x', 'mastodon', 'bluesky', 'telegram', 'facebook', 'website', 'partners']
/** The channels that split a long announcement into a thread (Facebook takes it whole). */
const threadedChannels = ['x', 'mastodon', 'bluesky', 'telegram']
const fast = {retryBase: '20ms', retryCap: '200ms', timeout: '5s'}

interface World {
  home: CrierHome
  x: XFake
  mastodon: MastodonFake
  bluesky: BlueskyFake
  telegram: TelegramFake
  facebook: FacebookFake
  servers: Record<'x' | 'mastodon' | 'bluesky' | 'telegram' | 'facebook' | 'partners', ProviderFake>
}

interface Cues {
  x?: XPlanOptions
  mastodon?: MastodonPlanOptions
  bluesky?: BlueskyPlanOptions
  telegram?: TelegramPlanOptions
}

let world: World | undefined
afterEach(async () => {
  world?.home.cleanup()
  await Promise.all(Object.values(world?.servers ?? {}).map((server) => server.close()))
  world = undefined
})

/** A fake per provider, and a CLI home whose config.yaml has all seven channels pointing at them. */
async function setUp(cues: Cues = {}): Promise<World> {
  const x = xPlan(cues.x)
  const mastodon = mastodonPlan(cues.mastodon)
  const bluesky = blueskyPlan(cues.bluesky)
  const telegram = telegramPlan(cues.telegram)
  const facebook = facebookPlan()
  const servers = {
    x: await startProviderFake({plan: x.plan}),
    mastodon: await startProviderFake({plan: mastodon.plan}),
    bluesky: await startProviderFake({plan: bluesky.plan}),
    telegram: await startProviderFake({plan: telegram.plan}),
    facebook: await startProviderFake({plan: facebook.plan}),
    partners: await startProviderFake(),
  }
  const home = makeCrierHome()
  world = {home, x, mastodon, bluesky, telegram, facebook, servers}
  Object.assign(home.env, env)
  home.writeConfig(
    stringify({
      sender: 'alerts@northwales.example',
      senderName: 'North Wales Police',
      languages: ['en-GB'],
      channels: {
        x: xChannelConfig(servers.x.url, fast),
        mastodon: mastodonChannelConfig(servers.mastodon.url, fast),
        bluesky: blueskyChannelConfig(servers.bluesky.url, fast),
        telegram: telegramChannelConfig(servers.telegram.url, fast),
        facebook: facebookChannelConfig(servers.facebook.url, fast),
        website: {type: 'feed', dir: './public', baseUrl: 'https://northwales.example/alerts'},
        partners: {type: 'webhook', url: `${servers.partners.url}/hooks/alerts`, secret: '${PARTNERS_HMAC}', ...fast},
      },
    }),
  )
  return world
}

/** Drafts as officer.author (CRIER_USER of makeCrierHome). */
function draftSevere(home: CrierHome, text: string): string {
  const draft = home.run(['draft', '-', '--headline', headline, '--severity', 'Severe', '--urgency', 'Immediate', '--certainty', 'Observed', '--area', 'Ynys Môn', '--web', web, '--channel', channelNames.join(','), '--json'], {
    input: text,
  })
  expect(draft.status, explain(draft)).toBe(0)
  return jsonOf(draft).id as string
}

/** Severe needs one approval by the default policy, from someone other than the author. */
function approve(home: CrierHome, id: string): void {
  const approval = home.run(['approve', id], {env: {CRIER_USER: 'officer.approver'}})
  expect(approval.status, explain(approval)).toBe(0)
}

/** `crier …` as a child process this process's fakes can answer, killed if it outlives `timeoutMs`. */
function runBounded(home: CrierHome, args: string[], timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [crierBin, ...args], {env: home.env, timeout: timeoutMs, killSignal: 'SIGKILL'})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (status) => resolve({status, stdout, stderr}))
    child.stdin.end()
  })
}

interface PreviewPart {
  label: string
  text: string
  length?: {count: number; limit: number; unit: string}
}

function previewParts(home: CrierHome, id: string): Record<string, PreviewPart[]> {
  const preview = home.run(['preview', id, '--json'])
  expect(preview.status, explain(preview)).toBe(0)
  return Object.fromEntries(jsonOf<{channels: Array<{channel: string; parts: PreviewPart[]}>}>(preview).channels.map((channel) => [channel.channel, channel.parts]))
}

function deliveryIds(home: CrierHome): Record<string, string> {
  const db = home.db()
  try {
    const rows = db.prepare('SELECT channel, id FROM delivery').all() as Array<{channel: string; id: string}>
    return Object.fromEntries(rows.map((row) => [row.channel, row.id]))
  } finally {
    db.close()
  }
}

// Independent counts, as each platform counts.
const graphemes = new Intl.Segmenter(undefined, {granularity: 'grapheme'})
const graphemeCount = (text: string) => [...graphemes.segment(text)].length
const xWeighted = (text: string) => twitterText.parseTweet(text).weightedLength
/** Mastodon: graphemes, every URL 23 (the URLs here end at whitespace or the end of the text). */
const mastodonCount = (text: string) => graphemeCount(text.replace(/https?:\/\/\S+/g, 'x'.repeat(23)))
const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

const numbering = /\n(\d+)\/(\d+)$/
const withoutNumbering = (post: string) => post.replace(numbering, '')
const squashed = (text: string) => text.replace(/\s+/g, ' ').trim()

/** The thread read as one text: numbering removed, posts joined, whitespace squashed. */
function threadText(posts: string[]): string {
  return squashed(posts.map(withoutNumbering).join(' '))
}

/** Every sentence of the description is there, once, in order. */
function expectEverySentence(text: string, expected: string[], network: string): void {
  let from = 0
  for (const sentence of expected) {
    const at = text.indexOf(squashed(sentence), from)
    expect(at, `${network} lacks, or misorders: ${sentence}`).toBeGreaterThanOrEqual(from)
    from = at + squashed(sentence).length
  }
}

/** A numbered thread: `\n1/n` … `\nn/n`, each within the limit by the platform's own count. */
function expectNumberedThread(posts: string[], count: (text: string) => number, limit: number): void {
  expect(posts.length).toBeGreaterThan(1)
  posts.forEach((post, index) => {
    expect(post.endsWith(`\n${index + 1}/${posts.length}`), post).toBe(true)
    expect(count(post)).toBeLessThanOrEqual(limit)
  })
}

/** Where each link and hashtag sits in a post, in UTF-8 bytes, computed here from the text. */
function expectedFacets(text: string): Array<{index: {byteStart: number; byteEnd: number}; features: Array<Record<string, unknown>>}> {
  const found: Array<{at: number; span: string; feature: Record<string, unknown>}> = []
  for (const link of [web, mapLink]) {
    for (let at = text.indexOf(link); at >= 0; at = text.indexOf(link, at + 1)) found.push({at, span: link, feature: {$type: 'app.bsky.richtext.facet#link', uri: link}})
  }
  for (let at = text.indexOf(hashtag); at >= 0; at = text.indexOf(hashtag, at + 1)) found.push({at, span: hashtag, feature: {$type: 'app.bsky.richtext.facet#tag', tag: hashtag.slice(1)}})
  return found
    .sort((a, b) => a.at - b.at)
    .map(({at, span, feature}) => {
      const byteStart = Buffer.byteLength(text.slice(0, at))
      return {index: {byteStart, byteEnd: byteStart + Buffer.byteLength(span)}, features: [feature]}
    })
}

function expectNoSecrets(...results: CliResult[]): void {
  for (const result of results) for (const secret of secrets) expect(result.stdout + result.stderr).not.toContain(secret)
}

/** Every file under the home (database, WAL, feed files, config): no secret value in any. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, {withFileTypes: true}).flatMap((entry) => (entry.isDirectory() ? filesUnder(join(folder, entry.name)) : [join(folder, entry.name)]))
}

describe('one Severe announcement to all five networks, the feed and a webhook', () => {
  it('previews every channel exactly, then delivers to each what it previewed, byte for byte', async () => {
    const {home, x, mastodon, bluesky, telegram, facebook, servers} = await setUp()
    expect(description.length).toBeGreaterThan(1400)
    const id = draftSevere(home, description)
    approve(home, id)

    // 1. Preview: every channel, each part with its count in the platform's unit.
    const previewShown = home.run(['preview', id])
    expect(previewShown.status, explain(previewShown)).toBe(0)
    for (const name of channelNames) expect(previewShown.stdout).toMatch(new RegExp(`^── ${name} \\(\\w+\\) ──$`, 'm'))
    const parts = previewParts(home, id)
    expect(Object.keys(parts)).toEqual(channelNames)

    const xParts = parts.x!
    expectNumberedThread(xParts.map((part) => part.text), xWeighted, 280)
    xParts.forEach((part, index) => {
      expect(part.label).toBe(`post ${index + 1}/${xParts.length}`)
      expect(part.length).toEqual({count: xWeighted(part.text), limit: 280, unit: 'x-weighted'})
      expect(previewShown.stdout).toContain(`post ${index + 1}/${xParts.length}  [${xWeighted(part.text)}/280 x-weighted]\n${part.text}`)
    })
    const blueskyParts = parts.bluesky!
    expectNumberedThread(blueskyParts.map((part) => part.text), graphemeCount, 300)
    blueskyParts.forEach((part, index) => {
      expect(part.label).toBe(`post ${index + 1}/${blueskyParts.length}`)
      expect(part.length).toEqual({count: graphemeCount(part.text), limit: 300, unit: 'graphemes'})
    })
    const mastodonParts = parts.mastodon!
    expectNumberedThread(mastodonParts.map((part) => part.text), mastodonCount, 500)
    mastodonParts.forEach((part, index) => {
      expect(part.label).toBe(`post ${index + 1}/${mastodonParts.length}`)
      expect(part.length).toEqual({count: mastodonCount(part.text), limit: 500, unit: 'characters'})
    })
    // ~1,550 characters fit one Telegram message and one Facebook post: no thread there.
    const wholeText = `${heading}\n\n${description}\n\n${web}`
    expect(parts.telegram).toEqual([{label: 'post', text: wholeText, length: {count: wholeText.length, limit: 4096, unit: 'characters'}}])
    const message = `${heading}\n\n${description}`
    expect(parts.facebook).toEqual([{label: `post, link card ${web}`, text: message, length: {count: message.length, limit: 63206, unit: 'characters'}}])
    expect(previewShown.stdout).toContain(`post  [${wholeText.length}/4096 characters]\n${wholeText}`)
    expect(parts.website!.map((part) => part.label)).toEqual([`cap/${id}.xml`, 'alerts.atom entry (en-GB)'])
    expect(parts.partners).toHaveLength(1)
    expect(parts.partners![0]!.label).toBe(`POST ${servers.partners.url}/hooks/alerts`)
    // Every thread opens with the heading and carries the web link in its first post.
    for (const name of ['x', 'mastodon', 'bluesky']) {
      expect(parts[name]![0]!.text.startsWith(`${heading}\n\n`)).toBe(true)
      expect(parts[name]![0]!.text).toContain(`${web}\n1/`)
    }
    expect(previewShown.stdout).toMatch(/^Approval: 1\/1 — approved by \S+ — ready$/m)

    // 2. Broadcast: exit 0, every channel sent.
    const broadcast = await runBounded(home, ['broadcast', id])
    expect(broadcast.status, explain(broadcast)).toBe(0)
    for (const name of channelNames) expect(broadcast.stdout).toMatch(new RegExp(`^${name}\\s+sent 1/1$`, 'm'))
    const deliveries = deliveryIds(home)

    // X: exactly the previewed posts, in order, each replying to the one before.
    expect(x.refusals).toEqual([])
    expect(x.posts.map((post) => post.text)).toEqual(xParts.map((part) => part.text))
    const xRequests = postRequests(servers.x.requests)
    expect(xRequests.map((request) => request.text)).toEqual(xParts.map((part) => part.text))
    expect(xRequests.map((request) => request.replyTo)).toEqual([undefined, ...x.posts.slice(0, -1).map((post) => post.id)])

    // Mastodon: the previewed statuses, chained by in_reply_to_id, an Idempotency-Key per part.
    expect(mastodon.posts.map((post) => post.httpStatus)).toEqual(mastodonParts.map(() => 200))
    expect(mastodon.statuses).toEqual(
      mastodonParts.map((part, index) => ({
        id: statusId(index),
        url: `https://social.example/@${testAcct}/${statusId(index)}`,
        text: part.text,
        spoilerText: '',
        visibility: 'public',
        language: 'en',
        inReplyToId: index === 0 ? null : statusId(index - 1),
        idempotencyKey: `${deliveries.mastodon}-${index}`,
      })),
    )

    // Bluesky: the previewed posts, replies rooted at the first, facets at exact UTF-8 byte offsets.
    expect(bluesky.calls).toEqual({'com.atproto.server.createSession': 1, 'com.atproto.repo.putRecord': blueskyParts.length})
    expect(bluesky.posts.map((post) => post.text)).toEqual(blueskyParts.map((part) => part.text))
    bluesky.posts.forEach((post, index) => {
      expect(post.langs).toEqual(['en-GB'])
      if (index === 0) expect(post.reply).toBeUndefined()
      else expect(post.reply).toEqual({root: {uri: bluesky.posts[0]!.uri, cid: bluesky.posts[0]!.cid}, parent: {uri: bluesky.posts[index - 1]!.uri, cid: bluesky.posts[index - 1]!.cid}})
      expect(post.facets ?? []).toEqual(expectedFacets(post.text))
      for (const facet of post.facets ?? []) {
        const sliced = Buffer.from(post.text).subarray(facet.index.byteStart, facet.index.byteEnd).toString('utf8')
        const feature = facet.features[0]!
        expect(sliced).toBe(feature.$type === 'app.bsky.richtext.facet#link' ? feature.uri : `#${String(feature.tag)}`)
      }
    })
    const spans = bluesky.posts.flatMap((post) => facetSpans(post).map((span) => span.text))
    expect(spans).toEqual([web, mapLink, hashtag])
    // The map link follows an emoji: its offset in bytes is not its offset in UTF-16 units.
    const mapPost = bluesky.posts.find((post) => post.text.includes(mapLink))!
    const mapFacet = mapPost.facets!.find((facet) => facet.features[0]!.uri === mapLink)!
    expect(mapFacet.index.byteStart).not.toBe(mapPost.text.indexOf(mapLink))

    // Telegram: one message, the heading in <b>, everything else escaped, byte for byte.
    expect(telegram.posts).toHaveLength(1)
    expect(telegram.posts[0]).toMatchObject({
      chat_id: '@northwalespolice',
      parse_mode: 'HTML',
      text: `<b>${escapeHtml(heading)}</b>\n\n${escapeHtml(description)}\n\n${escapeHtml(web)}`,
      reply_parameters: undefined,
      reply_to_message_id: undefined,
      disable_notification: undefined,
      status: 200,
      visibleText: wholeText,
    })
    const telegramText = telegram.posts[0]!.text as string
    expect(telegramText.startsWith('<b>🟠 SEVERE: A55 closed by flooding across Ynys Môn &amp; Gwynedd</b>\n\n')).toBe(true)
    expect(telegramText).toContain('show the closure as "&lt;b&gt;&amp;" followed by')
    expect(telegramText).toContain('Councillor Siân Wyn Ellis')
    expect(telegramText.endsWith('a55-flood?area=ynys-mon&amp;road=a55')).toBe(true)

    // Facebook: one post, the message and the link card.
    expect(facebook.posts).toHaveLength(1)
    expect(facebook.posts[0]).toMatchObject({message, link: web, tokenVia: 'bearer', status: 200})
    expect(Object.keys(facebook.posts[0]!.parameters).sort()).toEqual(['link', 'message'])

    // Webhook: one JSON body, signed with the shared secret over its exact bytes.
    expect(servers.partners.requests).toHaveLength(1)
    const hook = servers.partners.requests[0]!
    expect(hook).toMatchObject({method: 'POST', path: '/hooks/alerts'})
    expect(hook.headers['content-type']).toBe('application/json')
    expect(hook.headers['idempotency-key']).toBe(deliveries.partners)
    expect(hook.headers['x-crier-signature']).toBe(`sha256=${createHmac('sha256', hmacSecret).update(hook.body).digest('hex')}`)
    expect(JSON.parse(hook.body)).toMatchObject({
      id,
      severity: 'Severe',
      urgency: 'Immediate',
      certainty: 'Observed',
      web,
      language: 'en-GB',
      headline,
      description,
      area: {description: 'Ynys Môn'},
      links: [{rel: 'cap', type: 'application/cap+xml', href: `https://northwales.example/alerts/cap/${id}.xml`}],
    })

    // Feed: the CAP document (valid CAP 1.2) and both Atom feeds, in the home, mode 0600.
    const publicDir = join(home.home, 'public')
    const capXml = readFileSync(join(publicDir, 'cap', `${id}.xml`), 'utf8')
    // Byte for byte, but for <sent>: when the broadcast began, where preview shows the draft's time.
    const withoutSent = (xml: string) => xml.replace(/<sent>[^<]+<\/sent>/, '<sent/>')
    expect(withoutSent(capXml)).toBe(withoutSent(parts.website![0]!.text))
    expect(await capSchemaErrors(capXml)).toEqual([])
    expect(capXml).toContain(`<headline>${escapeHtml(headline)}</headline>`)
    expect(capXml).toContain(`<description>${escapeHtml(description)}</description>`)
    const alertsAtom = readFileSync(join(publicDir, 'alerts.atom'), 'utf8')
    const capIndex = readFileSync(join(publicDir, 'cap', 'index.atom'), 'utf8')
    expect(alertsAtom).toContain(escapeHtml(headline))
    expect(capIndex).toContain(`https://northwales.example/alerts/cap/${id}.xml`)
    for (const file of ['alerts.atom', 'cap/index.atom', `cap/${id}.xml`]) expect(statSync(join(publicDir, file)).mode & 0o777).toBe(0o600)

    // The same text reached every network.
    const telegramVisible = telegram.posts.map((post) => post.visibleText as string)
    const texts: Record<string, string> = {
      x: threadText(x.posts.map((post) => post.text)),
      mastodon: threadText(mastodon.statuses.map((status) => status.text)),
      bluesky: threadText(bluesky.posts.map((post) => post.text)),
      telegram: threadText(telegramVisible),
      facebook: squashed(facebook.posts[0]!.message!),
      partners: squashed(JSON.parse(hook.body).description),
    }
    for (const [network, text] of Object.entries(texts)) {
      // The webhook carries the headline in its own field; every post opens with the heading.
      if (network !== 'partners') expect(text.startsWith(squashed(heading)), network).toBe(true)
      expectEverySentence(text, sentences, network)
    }

    // 3. Status: every channel sent, with the receipts the drivers give.
    const status = home.run(['status', id, '--json'])
    expect(status.status, explain(status)).toBe(0)
    const report = jsonOf(status)
    expect(report).toMatchObject({pending: 0, trouble: 0, announcement: {state: 'sent'}})
    expect(report.channels.map((counts: {channel: string}) => counts.channel).sort()).toEqual([...channelNames].sort())
    for (const counts of report.channels) expect(counts).toMatchObject({total: 1, sent: 1, retries: 0, dead: 0, unknown: 0, lastError: null})
    const receipts = Object.fromEntries(report.receipts.map((receipt: {channel: string}) => [receipt.channel, receipt]))
    const firstX = x.posts[0]!.id
    const firstBluesky = bluesky.posts[0]!
    expect(receipts).toEqual({
      x: {channel: 'x', state: 'sent', receiptId: firstX, receiptUrl: `https://x.com/i/web/status/${firstX}`, lastError: null},
      mastodon: {channel: 'mastodon', state: 'sent', receiptId: statusId(0), receiptUrl: `https://social.example/@${testAcct}/${statusId(0)}`, lastError: null},
      bluesky: {channel: 'bluesky', state: 'sent', receiptId: firstBluesky.uri, receiptUrl: `https://bsky.app/profile/${blueskyTestAccount.did}/post/${firstBluesky.rkey}`, lastError: null},
      telegram: {channel: 'telegram', state: 'sent', receiptId: '101', receiptUrl: 'https://t.me/northwalespolice/101', lastError: null},
      facebook: {channel: 'facebook', state: 'sent', receiptId: facebook.posts[0]!.postId, receiptUrl: `https://www.facebook.com/${facebook.posts[0]!.postId}`, lastError: null},
      website: {channel: 'website', state: 'sent', receiptId: `cap/${id}.xml`, receiptUrl: `https://northwales.example/alerts/cap/${id}.xml`, lastError: null},
      partners: {channel: 'partners', state: 'sent', receiptId: 'fake-0', receiptUrl: null, lastError: null},
    })

    // Secrets: not in any output, nor in any file crier wrote.
    expectNoSecrets(previewShown, broadcast, status)
    for (const file of filesUnder(home.home)) {
      const bytes = readFileSync(file)
      for (const secret of secrets) expect(bytes.includes(secret), `${file} holds a secret`).toBe(false)
    }
  })

  it('crier cancel: the Cancel replies under the original thread on each network that threads, and replaces it in the feed', async () => {
    const {home, x, mastodon, bluesky, telegram, facebook} = await setUp()
    const id = draftSevere(home, 'Evacuate the riverside streets of Llanrwst now: the Conwy is over its banks.')
    approve(home, id)
    const broadcast = await runBounded(home, ['broadcast', id])
    expect(broadcast.status, explain(broadcast)).toBe(0)
    const before = {x: x.posts.length, mastodon: mastodon.statuses.length, bluesky: bluesky.posts.length, telegram: telegram.accepted().length, facebook: facebook.posts.length}

    // Severe: the Cancel needs a second officer too; stopping needed nobody.
    const cancel = await runBounded(home, ['cancel', id, 'Sent in error: there is no flooding in Llanrwst.'])
    expect(cancel.status, explain(cancel)).toBe(3)
    const followUp = /The Cancel message (\w+) for x, mastodon, bluesky, telegram, facebook, website, partners is drafted but not sent/.exec(cancel.stderr)?.[1]
    expect(followUp, explain(cancel)).toBeDefined()
    approve(home, followUp!)
    const sent = await runBounded(home, ['broadcast', followUp!])
    expect(sent.status, explain(sent)).toBe(0)

    const lastX = x.posts.at(-1)!
    expect(x.posts).toHaveLength(before.x + 1)
    expect(lastX.text).toContain(`Cancelled: ${headline}`)
    expect(lastX.text).toContain('Sent in error: there is no flooding in Llanrwst.')
    expect(lastX.replyTo).toBe(x.posts[before.x - 1]!.id)
    const lastStatus = mastodon.statuses.at(-1)!
    expect(mastodon.statuses).toHaveLength(before.mastodon + 1)
    expect(lastStatus.inReplyToId).toBe(mastodon.statuses[before.mastodon - 1]!.id)
    const lastSkeet = bluesky.posts.at(-1)!
    expect(bluesky.posts).toHaveLength(before.bluesky + 1)
    expect(lastSkeet.reply).toEqual({root: {uri: bluesky.posts[0]!.uri, cid: bluesky.posts[0]!.cid}, parent: {uri: bluesky.posts[before.bluesky - 1]!.uri, cid: bluesky.posts[before.bluesky - 1]!.cid}})
    const accepted = telegram.accepted()
    expect(accepted).toHaveLength(before.telegram + 1)
    expect(accepted.at(-1)!.reply_parameters).toMatchObject({message_id: accepted[before.telegram - 1]!.messageId})
    // Facebook has no threads: a new post.
    expect(facebook.posts).toHaveLength(before.facebook + 1)
    const atom = readFileSync(join(home.home, 'public', 'alerts.atom'), 'utf8')
    expect(atom).toContain('<title>Cancelled: A55 closed by flooding across Ynys Môn &amp; Gwynedd</title>')
    expect(atom).not.toContain(`<title>${escapeHtml(headline)}</title>`)
  })

  it('resumes each thread whose third post got a 503 at the third post: the first two posted once', async () => {
    // Long enough for Telegram to thread too (over 2 × 4,096 characters): numbered sections, so
    // no two posts of a thread say the same.
    const sections = Array.from({length: 6}, (_, section) => sentences.map((sentence) => `(${section + 1}) ${sentence}`))
    const longText = sections.map((section) => section.join(' ')).join('\n\n')
    expect(longText.length).toBeGreaterThan(2 * 4096 + 500)
    // Each platform's 503 as it comes: X's problem document, nginx's page in front of Mastodon,
    // an XRPC error, a Bot API error.
    const nginx503: Answer = {status: 503, headers: {'Content-Type': 'text/html'}, body: '<html><head><title>503 Service Temporarily Unavailable</title></head></html>\r\n'}
    const {home, x, mastodon, bluesky, telegram, facebook, servers} = await setUp({
      x: {cueAt: {2: xFaults.serviceUnavailable()}},
      mastodon: {cueAt: {2: nginx503}},
      bluesky: {cueWriteAt: {2: xrpcError(503, 'NotEnoughResources', 'Not Enough Resources')}},
      telegram: {cueAt: {2: telegramError(503, 'Service Unavailable')}},
    })
    const id = draftSevere(home, longText)
    approve(home, id)
    const parts = previewParts(home, id)
    for (const name of threadedChannels) expect(parts[name]!.length, name).toBeGreaterThanOrEqual(3)
    const previewed = (name: string) => parts[name]!.map((part) => part.text)

    const broadcast = await runBounded(home, ['broadcast', id, '--json'])
    expect(broadcast.status, explain(broadcast)).toBe(0)
    const report = jsonOf(broadcast)
    expect(report).toMatchObject({pending: 0, trouble: 0, announcement: {state: 'sent'}})
    const counts = Object.fromEntries(report.channels.map((each: {channel: string}) => [each.channel, each]))
    for (const name of channelNames) expect(counts[name], name).toMatchObject({total: 1, sent: 1, retries: threadedChannels.includes(name) ? 1 : 0})
    const deliveries = deliveryIds(home)

    // X: post requests 1, 2, 3 (503), 3 again, 4…; every post once, each replying to the one before.
    const xTexts = previewed('x')
    expect(postRequests(servers.x.requests).map((request) => request.text)).toEqual([xTexts[0], xTexts[1], xTexts[2], ...xTexts.slice(2)])
    expect(servers.x.requests.filter((request) => request.path === '/2/tweets').map((request) => request.status)).toEqual([201, 201, 503, ...xTexts.slice(2).map(() => 201)])
    expect(x.posts.map((post) => post.text)).toEqual(xTexts)
    x.posts.forEach((post, index) => expect(post.replyTo).toBe(index === 0 ? undefined : x.posts[index - 1]!.id))

    // Mastodon: keys -0 and -1 once each, -2 refused then posted, replying to the second.
    const keys = previewed('mastodon').map((_, index) => `${deliveries.mastodon}-${index}`)
    expect(mastodon.posts.map((post) => [post.idempotencyKey, post.httpStatus, post.duplicate])).toEqual([
      [keys[0], 200, false],
      [keys[1], 200, false],
      [keys[2], 503, false],
      ...keys.slice(2).map((key) => [key, 200, false]),
    ])
    expect(mastodon.statuses.map((status) => status.text)).toEqual(previewed('mastodon'))
    mastodon.statuses.forEach((status, index) => expect(status.inReplyToId).toBe(index === 0 ? null : mastodon.statuses[index - 1]!.id))

    // Bluesky: writes 1, 2, 3 (503), 3 again under the same record key; replies still chained.
    const writes = servers.bluesky.requests.filter((request) => request.path === '/xrpc/com.atproto.repo.putRecord')
    const rkeys = writes.map((request) => JSON.parse(request.body).rkey as string)
    expect(writes.map((request) => request.status)).toEqual([200, 200, 503, ...previewed('bluesky').slice(2).map(() => 200)])
    expect(rkeys[3]).toBe(rkeys[2])
    expect(new Set(rkeys).size).toBe(previewed('bluesky').length)
    expect(bluesky.overwrites).toBe(0)
    expect(bluesky.posts.map((post) => post.text)).toEqual(previewed('bluesky'))
    bluesky.posts.slice(1).forEach((post: StoredPost, index) => {
      expect(post.reply).toEqual({root: {uri: bluesky.posts[0]!.uri, cid: bluesky.posts[0]!.cid}, parent: {uri: bluesky.posts[index]!.uri, cid: bluesky.posts[index]!.cid}})
      expect(post.facets ?? []).toEqual(expectedFacets(post.text))
    })

    // Telegram: messages 101 and 102 once; the third refused, then sent replying to 102.
    const replyTo = (post: {reply_parameters: unknown}) => (post.reply_parameters as {message_id?: number} | undefined)?.message_id
    expect(telegram.posts.map((post) => [post.status, post.messageId, replyTo(post), post.reply_to_message_id])).toEqual([
      [200, 101, undefined, undefined],
      [200, 102, 101, undefined],
      [503, undefined, 102, undefined],
      ...previewed('telegram')
        .slice(2)
        .map((_, index) => [200, 103 + index, 102 + index, undefined]),
    ])
    expect(telegram.posts[3]!.text).toBe(telegram.posts[2]!.text)
    const accepted = telegram.accepted()
    expect(accepted.map((post) => post.visibleText)).toEqual(previewed('telegram'))
    expect(accepted[0]!.text as string).toMatch(/^<b>🟠 SEVERE: A55 closed by flooding across Ynys Môn &amp; Gwynedd<\/b>\n\n\(1\) Heavy rain/)
    accepted.slice(1).forEach((post, index) => {
      expect(post.text).toBe(escapeHtml(previewed('telegram')[index + 1]!))
      expect(post.disable_notification).toBe(true)
    })

    // Facebook and the webhook: once each.
    expect(facebook.accepted()).toHaveLength(1)
    expect(facebook.accepted()[0]!.message).toBe(`${heading}\n\n${longText}`)
    expect(servers.partners.requests).toHaveLength(1)

    // Every section's every sentence, once and in order, on each threaded network.
    const allSentences = sections.flat()
    expectEverySentence(threadText(x.posts.map((post) => post.text)), allSentences, 'x')
    expectEverySentence(threadText(mastodon.statuses.map((status) => status.text)), allSentences, 'mastodon')
    expectEverySentence(threadText(bluesky.posts.map((post) => post.text)), allSentences, 'bluesky')
    expectEverySentence(threadText(accepted.map((post) => post.visibleText as string)), allSentences, 'telegram')
    expectNoSecrets(broadcast)
  })
})
