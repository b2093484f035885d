import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Pool} from 'undici'
import type {ChannelConfig, Driver, PostedPart, SendContext} from '../src/channels/driver.js'
import {createHttpClient, type HttpClient, type HttpRequest} from '../src/channels/http.js'
import {socialText, socialTextAsOne} from '../src/channels/social-text.js'
import {loadConfig, type Config} from '../src/config/load.js'
import {resolvePaths} from '../src/config/paths.js'
import {primaryVariant, type Announcement} from '../src/core/announcement.js'
import {newId} from '../src/core/ids.js'
import {previewAnnouncement} from '../src/core/preview.js'
import {renderForChannel} from '../src/core/render.js'
import {openStore} from '../src/store/index.js'
import {previewText} from '../src/views/preview-text.js'
import {startChildServer, type ChildServer} from './child-server.js'
import {benchAnnouncement, packageRoot, tempDir} from './fixtures.js'
import {collectGarbage, formatMs, formatRate, formatRatio, summarise, table, type Summary, type Verdict} from './stats.js'

// The social drivers (issue 5's figures), three ways:
//  a) preview of a 2,000-character announcement on one channel of each social type plus a feed
//     and a webhook: the first preview in a fresh process (twitter-text, the Bluesky facet
//     detector and xmlbuilder2 are loaded on first render) and warm, whole and per channel;
//  b) per post, each driver's send() against a local fake of its API, against a bare undici
//     Pool sending the very request the driver sent (method, path, headers, body captured from
//     the driver), same concurrency and count, alternating in batches within each run;
//  c) that loading the driver registry imports none of the channel SDKs (or undici).
// The fake is social-fake-server.ts, a node:http server in a forked child.

const socialTypes = ['x', 'mastodon', 'bluesky', 'telegram', 'facebook'] as const
type SocialType = (typeof socialTypes)[number]
const channelOf: Record<SocialType, string> = {
  x: 'force-x',
  mastodon: 'force-mastodon',
  bluesky: 'force-bluesky',
  telegram: 'force-telegram',
  facebook: 'force-facebook',
}

/** Bench credentials: the fake checks them as far as telling a post from a stray request. */
const credentials = {
  mastodonToken: 'bench-mastodon-token',
  botToken: '123456789:AAH-bench_bot_token',
  pageId: '1234567890',
  pageToken: 'bench-page-token',
  blueskyPassword: 'bench-app-password',
}

const previewWarmUp = 5
const previewMaxIterations = 200
const previewBudgetMs = 2000
const coldRuns = 3
const postConcurrency = 16
const postCount = 5000
const postRuns = 3
/** Untimed first: undici's and the drivers' code paths take some thousands of requests to warm. */
const postWarmUp = 2000
const postBatch = 500
/** SDKs (and the HTTP client) the registry must leave unloaded until a send or render needs them. */
const watchedPackages = ['twitter-text', '@atproto/', 'twitter-api-v2', 'masto', 'undici']

export async function socialSection(verdicts: Verdict[]): Promise<void> {
  console.log(`\n11. Social channels: preview of a 2,000-character announcement; per-post overhead of each driver against a local fake (own process) vs a bare undici Pool; lazy SDK loading\n`)
  const server = await startChildServer('./social-fake-server.js', [credentials.mastodonToken, credentials.botToken, credentials.pageId, credentials.pageToken, credentials.blueskyPassword])
  try {
    const home = tempDir('social')
    const baseUrl = `http://127.0.0.1:${server.port}`
    mkdirSync(join(home, 'public'))
    writeFileSync(join(home, 'config.yaml'), configYaml(baseUrl))
    const config = loadConfig(resolvePaths({CRIER_HOME: home}))
    previewFigures(home, config, verdicts)
    await perPostFigures(config, server, verdicts)
  } finally {
    await server.close()
  }
  lazyLoadingFigure(verdicts)
}

function configYaml(baseUrl: string): string {
  const channels = {
    website: {type: 'feed', dir: './public', baseUrl: 'https://northwales.example/alerts'},
    partners: {type: 'webhook', url: `${baseUrl}/hooks/alerts`},
    [channelOf.x]: {type: 'x', apiKey: 'bench-api-key', apiSecret: 'bench-api-secret', accessToken: '1234-bench-access-token', accessSecret: 'bench-access-secret', baseUrl},
    [channelOf.mastodon]: {type: 'mastodon', baseUrl, accessToken: credentials.mastodonToken},
    [channelOf.bluesky]: {type: 'bluesky', baseUrl, identifier: 'police.bench.example', appPassword: credentials.blueskyPassword},
    [channelOf.telegram]: {type: 'telegram', baseUrl, botToken: credentials.botToken, chatId: '@northwalespolice'},
    [channelOf.facebook]: {type: 'facebook', baseUrl: `${baseUrl}/v21.0`, pageId: credentials.pageId, pageAccessToken: credentials.pageToken},
  }
  // JSON is YAML: each channel as a flow mapping.
  const lines = Object.entries(channels).map(([name, settings]) => `  ${name}: ${JSON.stringify(settings)}`)
  return `sender: alerts@northwales.example\ntimezone: Europe/London\nchannels:\n${lines.join('\n')}\n`
}

// a) Preview.

const longSentences = [
  'The A55 is closed in both directions between junction 11 (Llandygai) and junction 12 (Tal-y-bont) after a serious collision involving a lorry and two cars shortly after 6am.',
  'Emergency services are at the scene and the air ambulance has landed on the westbound carriageway.',
  'Collision investigators will be working at the scene for several hours and the road is expected to stay closed until at least 2pm.',
  'Traffic is being diverted off at junction 11 through Bangor along the A5 and the A4087, and back onto the A55 at junction 12; expect long queues on the diversion and around Ysbyty Gwynedd.',
  'Buses on the X5 and 5C routes are diverted and running up to 40 minutes late; Arriva Cymru will post updates on its own channels.',
  'Heavy goods vehicles heading for Holyhead port should use the A5 through Betws-y-Coed, as the Menai Suspension Bridge has a weight limit of 7.5 tonnes.',
  'Ferry passengers for the Stena and Irish Ferries sailings this afternoon should allow at least an extra hour for their journey and contact their operator if they will miss check-in.',
  'We are aware of footage of the collision being shared online and ask people not to share it, out of respect for those involved and their families.',
  'Anyone who saw the collision, or who has dash-cam footage of the A55 westbound between 5:45am and 6:15am, is asked to contact us quoting reference Q123456.',
  'Patients with appointments at Ysbyty Gwynedd this morning should allow extra time; the hospital has been told of the closure and will be flexible with late arrivals.',
  'The closure also affects the National Cycle Route 5 crossing at Llandygai, which is shut to cyclists and walkers while the investigation is under way.',
  'Residents of Tal-y-bont and Llandygai can reach their homes through the police cordon on foot, but vehicles will not be let through until the road reopens.',
]
const longInstruction =
  'Avoid the area if you can and allow plenty of extra time for any journey along the North Wales coast today. Do not try to use farm tracks or minor roads to get round the closure: they are narrow, blocked in places and needed by emergency vehicles. If you are stuck in the queue on the A55 westbound, stay in your vehicle unless told otherwise by officers, and keep the hard shoulder clear. #A55 #Bangor'
const longWeb = 'https://www.northwales.police.uk/news/a55-closure-j11-j12'

/** A real-sounding bulletin whose whole social text (tag, headline, body, link) is just over 2,000 characters. */
function longAnnouncement(channels: string[]): Announcement {
  const base = benchAnnouncement({now: Date.now(), channels, state: 'draft'})
  const variant = {...primaryVariant(base), headline: 'A55 closed both ways J11–J12 after a serious collision', instruction: longInstruction}
  // Sentences until the whole text reaches 2,000 characters (it ends a little past).
  let description = ''
  for (const sentence of longSentences) {
    description = description ? `${description} ${sentence}` : sentence
    if (socialTextAsOne(socialText({...base, web: longWeb}, {...variant, description})).length >= 2000) break
  }
  return {...base, web: longWeb, variants: [{...variant, description}]}
}

interface ChannelTiming {
  name: string
  type: string
  parts: number
  cold: Summary
  warm: Summary
}

function previewFigures(home: string, config: Config, verdicts: Verdict[]): void {
  const channels = Object.keys(config.channels)
  const announcement = longAnnouncement(channels)
  const characters = socialTextAsOne(socialText(announcement, primaryVariant(announcement))).length
  const store = openStore(resolvePaths({CRIER_HOME: home}).database)
  try {
    store.transaction(() => store.announcements.insert(announcement))
    const cold = coldPreview(home, announcement.id, channels)
    const ctx = {config, store, now: Date.now, user: 'bench'}
    const wholePreview = () => previewText(previewAnnouncement(ctx, announcement))
    const warm = timeRepeatedly(wholePreview)
    const perChannel: ChannelTiming[] = channels.map((name) => ({
      name,
      type: config.channels[name]!.type,
      parts: renderForChannel(announcement, config, name).rendered.parts.length,
      cold: cold.perChannel.get(name)!,
      warm: timeRepeatedly(() => renderForChannel(announcement, config, name)),
    }))
    printPreview(characters, channels, cold.whole, warm, perChannel)
    verdicts.push({
      figure: `social preview (${characters.toLocaleString('en-GB')} chars, ${channels.length} channels)`,
      crier: `${formatMs(warm.median)} warm`,
      baseline: `${formatMs(cold.whole.median)} first in a process`,
      goal: '—',
      isMet: undefined,
    })
  } finally {
    store.close()
  }
}

function printPreview(characters: number, channels: string[], cold: Summary, warm: Summary, perChannel: ChannelTiming[]): void {
  console.log(`  a) Preview: one ${characters.toLocaleString('en-GB')}-character announcement (tag, headline, description, instruction, web link) on ${channels.length} channels`)
  console.log(`     (previewAnnouncement + previewText: every channel's render, the policy check, approvals; what \`crier preview ID\` runs after start-up)\n`)
  console.log(`     first preview in a fresh process (cold: twitter-text, the Bluesky facet detector and the feed's xmlbuilder2 load here): ${describeMs(cold)}`)
  console.log(`     warm, the same preview again:                                                                                    ${describeMs(warm)}\n`)
  console.log(
    table(
      ['channel', 'type', 'parts', 'first render, fresh process*', 'warm render'],
      perChannel.map((row) => [row.name, row.type, String(row.parts), describeMs(row.cold), describeMs(row.warm)]),
    ).replace(/^/gm, '     '),
  )
  console.log(`\n     * each fresh process renders the channels in this order, so a library two drivers share is counted at the first`)
  console.log(`       (twitter-text: the x channel's count; Mastodon then reuses its URL pattern).\n`)
}

function describeMs(summary: Summary): string {
  const digits = summary.median >= 100 ? 0 : summary.median >= 1 ? 1 : 3
  const n = (value: number) => value.toFixed(digits)
  return `${summary.median.toFixed(digits)} ms (min ${n(summary.min)}, max ${n(summary.max)}, ${summary.runs} run${summary.runs === 1 ? '' : 's'})`
}

/** Runs `work` a few times untimed, then times it until the budget or the iteration cap is reached. */
function timeRepeatedly(work: () => unknown): Summary {
  for (let i = 0; i < previewWarmUp; i++) work()
  collectGarbage()
  const samples: number[] = []
  const began = performance.now()
  while (samples.length < previewMaxIterations && (samples.length < 20 || performance.now() - began < previewBudgetMs)) {
    const start = performance.now()
    work()
    samples.push(performance.now() - start)
  }
  return summarise(samples)
}

/**
 * The first preview in fresh node processes (modules imported first, untimed): the whole
 * preview in some, each channel's first render in turn in others, alternated.
 */
function coldPreview(home: string, announcementId: string, channels: string[]): {whole: Summary; perChannel: Map<string, Summary>} {
  const dist = new URL('../', import.meta.url).href
  const whole: number[] = []
  const perChannel = new Map<string, number[]>(channels.map((name) => [name, []]))
  for (let run = 0; run < coldRuns; run++) {
    for (const mode of ['preview', 'channels'] as const) {
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', coldScript, dist, home, announcementId, mode], {cwd: packageRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
      if (result.status !== 0) throw new Error(`cold preview (${mode}) exited ${result.status}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`)
      const measured = JSON.parse(result.stdout) as {ms?: number; channels?: Array<[string, number]>}
      if (mode === 'preview') whole.push(measured.ms!)
      else for (const [name, ms] of measured.channels!) perChannel.get(name)!.push(ms)
    }
  }
  return {whole: summarise(whole), perChannel: new Map([...perChannel].map(([name, samples]) => [name, summarise(samples)]))}
}

/** argv: DIST_URL CRIER_HOME ANNOUNCEMENT_ID preview|channels; prints JSON. */
const coldScript = `
const [dist, home, id, mode] = process.argv.slice(1)
const {loadConfig} = await import(dist + 'src/config/load.js')
const {resolvePaths} = await import(dist + 'src/config/paths.js')
const {openStore} = await import(dist + 'src/store/index.js')
const {previewAnnouncement} = await import(dist + 'src/core/preview.js')
const {renderForChannel} = await import(dist + 'src/core/render.js')
const {previewText} = await import(dist + 'src/views/preview-text.js')
const paths = resolvePaths({CRIER_HOME: home})
const config = loadConfig(paths)
const store = openStore(paths.database)
const announcement = store.announcements.get(id)
const out = {}
if (mode === 'preview') {
  const ctx = {config, store, now: Date.now, user: 'bench'}
  const start = performance.now()
  previewText(previewAnnouncement(ctx, announcement))
  out.ms = performance.now() - start
} else {
  out.channels = announcement.channels.map((name) => {
    const start = performance.now()
    renderForChannel(announcement, config, name)
    return [name, performance.now() - start]
  })
}
store.close()
console.log(JSON.stringify(out))
`

// b) Per post.

interface CapturedRequest {
  origin: string
  path: string
  method: string
  headers: Record<string, string>
  body: string
}

interface PostTarget {
  type: SocialType
  driver: Driver
  channel: ChannelConfig
  announcement: Announcement
  payload: unknown
  request: CapturedRequest
}

/** One side of a paired run: its rate and this process's CPU per post. */
interface Side {
  rate: number
  cpuUs: number
}

interface PairedRun {
  crier: Side
  raw: Side
  /** crier's time / raw's time, within the run. */
  ratio: number
}

interface PostResult {
  type: SocialType
  bodyBytes: number
  crier: Summary
  raw: Summary
  ratio: Summary
  crierCpuUs: number
  rawCpuUs: number
}

async function perPostFigures(config: Config, server: ChildServer, verdicts: Verdict[]): Promise<void> {
  const targets: PostTarget[] = []
  for (const type of socialTypes) targets.push(await prepareTarget(config, type))
  for (const target of targets) await pairedRun(target, server, postWarmUp)
  const runs = new Map<SocialType, PairedRun[]>(socialTypes.map((type) => [type, []]))
  for (let run = 0; run < postRuns; run++) for (const target of targets) runs.get(target.type)!.push(await pairedRun(target, server, postCount))
  const results: PostResult[] = targets.map((target) => {
    const paired = runs.get(target.type)!
    return {
      type: target.type,
      bodyBytes: Buffer.byteLength(target.request.body),
      crier: summarise(paired.map((run) => run.crier.rate)),
      raw: summarise(paired.map((run) => run.raw.rate)),
      ratio: summarise(paired.map((run) => run.ratio)),
      crierCpuUs: summarise(paired.map((run) => run.crier.cpuUs)).median,
      rawCpuUs: summarise(paired.map((run) => run.raw.cpuUs)).median,
    }
  })
  printPerPost(results, targets)
  for (const result of results) {
    verdicts.push({
      figure: `per post: ${result.type} driver`,
      crier: `${formatRate(result.crier.median, 'posts/s')}, ${result.crierCpuUs.toFixed(0)} µs CPU`,
      baseline: `${formatRate(result.raw.median, 'posts/s')}, ${result.rawCpuUs.toFixed(0)} µs CPU (raw undici Pool)`,
      ratio: result.ratio.median,
      goal: '≤ 1.50× the time',
      isMet: result.ratio.median <= 1.5,
    })
  }
}

function printPerPost(results: PostResult[], targets: PostTarget[]): void {
  console.log(`  b) Per post: ${postCount.toLocaleString('en-GB')} single-post sends per side per run, ${postConcurrency} in flight, ${postRuns} runs (after an untimed ${postWarmUp.toLocaleString('en-GB')});`)
  console.log(`     within a run the two sides alternate in batches of ${postBatch} (each going first in every other batch), so both meet the same load`)
  console.log(`     crier: driver.send(payload, context) with the engine's shared HTTP client (createHttpClient, ${postConcurrency} connections), fresh thread parts and delivery id per send`)
  console.log(`     raw:   undici Pool (connections ${postConcurrency}) sending the request the driver sent, captured once: same method, path, headers and body\n`)
  console.log(
    table(
      ['driver', 'request', 'body', 'crier posts/s (min–max)', 'raw posts/s (min–max)', 'time ratio', 'CPU µs/post crier', 'raw', 'CPU ratio'],
      results.map((result) => {
        const target = targets.find((t) => t.type === result.type)!
        return [
          result.type,
          `${target.request.method} ${redactPath(target.request.path)}`,
          `${result.bodyBytes} B`,
          describeSpread(result.crier),
          describeSpread(result.raw),
          `${formatRatio(result.ratio.median)} (${result.ratio.min.toFixed(2)}–${result.ratio.max.toFixed(2)})`,
          result.crierCpuUs.toFixed(0),
          result.rawCpuUs.toFixed(0),
          formatRatio(result.crierCpuUs / result.rawCpuUs),
        ]
      }),
    ).replace(/^/gm, '     '),
  )
  console.log(`\n     time ratio: crier's time ÷ raw's within a run, median (min–max) of the runs; CPU: this process's user + system per post, median run;`)
  console.log(`     the fake runs in its own process. Bluesky: each crier run signs in once (createSession; the driver keeps the session), raw reuses the token.\n`)
}

/** "1,766 (1,301–1,997)" */
function describeSpread(summary: Summary): string {
  const n = (value: number) => Math.round(value).toLocaleString('en-GB')
  return `${n(summary.median)} (${n(summary.min)}–${n(summary.max)})`
}

/** The bot token is part of Telegram's path. */
function redactPath(path: string): string {
  return path.replace(/\/bot[^/]+\//, '/bot<token>/')
}

/** Renders a short announcement for one channel (one post), and captures the request its send makes. */
async function prepareTarget(config: Config, type: SocialType): Promise<PostTarget> {
  const name = channelOf[type]
  const announcement: Announcement = {...benchAnnouncement({now: Date.now(), channels: [name], state: 'sending'}), web: 'https://www.northwales.police.uk/news/a55'}
  const {channel, driver, rendered} = renderForChannel(announcement, config, name)
  if (rendered.parts.length !== 1) throw new Error(`${type}: the short announcement rendered as ${rendered.parts.length} posts, expected 1`)
  const seen: Array<{url: string; request: HttpRequest}> = []
  const http = createHttpClient({connectionsPerOrigin: 1})
  try {
    await driver.close?.()
    const recording: HttpClient = {
      request: (url, request) => {
        seen.push({url, request})
        return http.request(url, request)
      },
      close: () => http.close(),
    }
    await driver.send(rendered.payload, sendContext(channel, announcement, recording, new AbortController().signal, newId()))
  } finally {
    await http.close()
  }
  // The post is the last request (Bluesky signs in first).
  const last = seen.at(-1)
  if (!last || typeof last.request.body !== 'string') throw new Error(`${type}: the driver sent no request with a text body`)
  const url = new URL(last.url)
  return {
    type,
    driver,
    channel,
    announcement,
    payload: rendered.payload,
    request: {origin: url.origin, path: url.pathname + url.search, method: last.request.method ?? 'GET', headers: {...last.request.headers}, body: last.request.body},
  }
}

function sendContext(channel: ChannelConfig, announcement: Announcement, http: HttpClient, signal: AbortSignal, deliveryId: string): SendContext<Record<string, unknown>> {
  // As the engine keeps a delivery's thread progress (DeliveryContext in send-context.ts), in memory.
  const postedParts: PostedPart[] = []
  return {
    channel,
    deliveryId,
    idempotencyKey: deliveryId,
    announcement,
    signal,
    http,
    now: Date.now,
    postedParts,
    recordPart(part) {
      postedParts[part.index] = part
    },
  }
}

/**
 * `count` sends through the driver and `count` raw requests, alternating in batches of
 * `postBatch` with `postConcurrency` in flight; each side's wall time and CPU are summed over its
 * batches. The driver's session cache is cleared first, so Bluesky signs in once per run, as a
 * new `crier run` process would.
 */
async function pairedRun(target: PostTarget, server: ChildServer, count: number): Promise<PairedRun> {
  // Delivery ids are the engine's (made at fan-out), not the driver's work.
  const ids = Array.from({length: count}, () => newId())
  await target.driver.close?.()
  const http = createHttpClient({connectionsPerOrigin: postConcurrency})
  const pool = new Pool(target.request.origin, {connections: postConcurrency})
  const {signal} = new AbortController()
  const totals = {crier: {ms: 0, cpuUs: 0}, raw: {ms: 0, cpuUs: 0}}
  await server.reset()
  collectGarbage()
  try {
    for (let done = 0, batch = 0; done < count; done += postBatch, batch++) {
      const size = Math.min(postBatch, count - done)
      const crier = () => inFlight(size, (i) => target.driver.send(target.payload, sendContext(target.channel, target.announcement, http, signal, ids[done + i]!)))
      const raw = () => inFlight(size, () => rawRequest(pool, target))
      const order = batch % 2 === 0 ? ([['crier', crier], ['raw', raw]] as const) : ([['raw', raw], ['crier', crier]] as const)
      for (const [side, work] of order) {
        const cpu = process.cpuUsage()
        const began = performance.now()
        await work()
        totals[side].ms += performance.now() - began
        const {user, system} = process.cpuUsage(cpu)
        totals[side].cpuUs += user + system
      }
    }
  } finally {
    await http.close()
    await pool.close()
  }
  await checkReceived(server, 2 * count, target.type)
  const side = (total: {ms: number; cpuUs: number}): Side => ({rate: (count / total.ms) * 1000, cpuUs: total.cpuUs / count})
  return {crier: side(totals.crier), raw: side(totals.raw), ratio: totals.crier.ms / totals.raw.ms}
}

/** `count` calls of `send`, `postConcurrency` at a time; resolves when all are done. */
async function inFlight(count: number, send: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0
  const loop = async () => {
    while (next < count) await send(next++)
  }
  await Promise.all(Array.from({length: Math.min(postConcurrency, count)}, loop))
}

async function rawRequest(pool: Pool, target: PostTarget): Promise<void> {
  const {path, method, headers, body} = target.request
  const response = await pool.request({path, method: method as 'POST', headers, body})
  await response.body.text()
  if (response.statusCode < 200 || response.statusCode >= 300) throw new Error(`raw ${target.type}: HTTP ${response.statusCode}`)
}

async function checkReceived(server: ChildServer, count: number, label: string): Promise<void> {
  const received = await server.count()
  if (received.count !== count || received.refused > 0) throw new Error(`${label}: the fake accepted ${received.count} posts of ${count} and refused ${received.refused} requests`)
}

// c) Lazy loading.

function lazyLoadingFigure(verdicts: Verdict[]): void {
  const log = join(tempDir('social-probe'), 'resolved.txt')
  writeFileSync(log, '')
  const registry = new URL('../src/channels/registry.js', import.meta.url).href
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', probeScript, registry, log], {cwd: packageRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  if (result.status !== 0) throw new Error(`lazy-loading probe exited ${result.status}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  const probe = JSON.parse(result.stdout) as {registry: string[]; render: string[]}
  const afterRegistry = packagesIn(probe.registry)
  const afterRender = packagesIn(probe.render)
  const sdks = afterRegistry.filter(isWatched)
  console.log(`  c) Lazy loading: a fresh node imports ${fileURLToPath(registry).replace(packageRoot, '')}; modules seen by an ESM resolve hook and in require.cache\n`)
  console.log(`     SDK imports by loading the registry: ${sdks.length ? sdks.join(', ') : 'none'}   (watched: ${watchedPackages.map((name) => name.replace(/\/$/, '/*')).join(', ')})`)
  console.log(`     packages the registry does load: ${afterRegistry.join(', ') || 'none'}`)
  const loadedByRender = afterRender.filter((name) => !afterRegistry.includes(name))
  console.log(`     the probe's control: rendering one X post and one Bluesky post then loads: ${loadedByRender.join(', ') || 'nothing (the probe is blind!)'}`)
  verdicts.push({
    figure: 'SDKs loaded by the driver registry',
    crier: sdks.length ? sdks.join(', ') : 'none',
    baseline: '—',
    goal: 'none',
    isMet: sdks.length === 0 && loadedByRender.some(isWatched),
  })
}

function isWatched(name: string): boolean {
  return watchedPackages.some((watched) => (watched.endsWith('/') ? name.startsWith(watched) : name === watched))
}

/** Package names (`zod`, `@atproto/api`) of the files and URLs under a node_modules folder. */
function packagesIn(locations: string[]): string[] {
  const names = new Set<string>()
  for (const location of locations) {
    const path = location.startsWith('file:') ? fileURLToPath(location) : location
    const at = path.lastIndexOf('/node_modules/')
    if (at < 0) continue
    const match = /^((?:@[^/]+\/)?[^/]+)/.exec(path.slice(at + '/node_modules/'.length))
    if (match) names.add(match[1]!)
  }
  return [...names].sort()
}

/**
 * argv: REGISTRY_URL LOG_FILE. An ESM resolve hook (Node 20: in the loader thread, hence the
 * file) records every module imported; require.cache holds what was required (twitter-text
 * and the facet detector are CommonJS, required on first render).
 */
const probeScript = `
import {createRequire, register} from 'node:module'
import {readFileSync} from 'node:fs'
const [registryUrl, log] = process.argv.slice(1)
const hook = "import {appendFileSync} from 'node:fs'; let log; export function initialize(data) { log = data.log }" +
  " export async function resolve(specifier, context, next) { const result = await next(specifier, context); appendFileSync(log, result.url + '\\\\n'); return result }"
register('data:text/javascript,' + encodeURIComponent(hook), {data: {log}})
const require = createRequire(registryUrl)
const loaded = () => [...readFileSync(log, 'utf8').split('\\n').filter(Boolean), ...Object.keys(require.cache)]
const {driverFor} = await import(registryUrl)
const registry = loaded()
const announcement = {
  id: '01JBENCH0000000000000000000', status: 'Actual', msgType: 'Alert', severity: 'Moderate', web: 'https://example.org/a55',
  variants: [{language: 'en', headline: 'A55 closed', description: 'Use the A5. #A55'}], channels: [],
}
const settings = {threads: true, severityTag: true}
driverFor('x').render(announcement, announcement.variants[0], {channel: {name: 'x', ...settings}})
driverFor('bluesky').render(announcement, announcement.variants[0], {channel: {name: 'bluesky', ...settings}})
console.log(JSON.stringify({registry, render: loaded()}))
`
