import {createRequire} from 'node:module'
import {afterEach, describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {blueskyChannelConfig, blueskyEnv, blueskyFaults, blueskyPlan, blueskyTestAccount, facetSpans, type BlueskyFake, type BlueskyPlanOptions} from '../fakes/bluesky-plan.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {explain} from '../helpers/cli-assertions.js'

// The bluesky channel through the built CLI: a PDS-shaped server on loopback, and what its
// repository holds afterwards, byte for byte where it matters (thread order, reply refs, facet
// byte offsets).

const require = createRequire(import.meta.url)
const {isValidTid} = require('@atproto/syntax') as typeof import('@atproto/syntax')

let home: CrierHome | undefined
let server: ProviderFake | undefined
afterEach(async () => {
  home?.cleanup()
  home = undefined
  await server?.close()
  server = undefined
})

async function setUp(options: BlueskyPlanOptions = {}, settings: Record<string, unknown> = {}): Promise<{home: CrierHome; pds: BlueskyFake}> {
  const pds = blueskyPlan(options)
  server = await startProviderFake({plan: pds.plan})
  home = makeCrierHome()
  Object.assign(home.env, blueskyEnv)
  home.writeConfig(stringify({languages: ['en-GB'], channels: {bluesky: blueskyChannelConfig(server.url, settings)}}))
  return {home, pds}
}

const link = 'https://northwales.example/alerts/a470'
const bulletin = [
  'Flooding on the A470 near Betws-y-Coed 🌊 after heavy rain overnight.',
  'Drivers should avoid the area and use the A5 instead, allowing extra time for the journey.',
  'Officers are on scene directing traffic at the Waterloo Bridge junction until the water goes down.',
  'Do not drive through flood water: 30 cm of moving water is enough to float a car.',
  'Residents in Llanrwst should move valuables upstairs and keep mobile phones charged.',
  'The Met Office expects more rain this evening, with river levels peaking around midnight.',
  'Follow #ConwyFlood for updates.',
].join(' ')

describe('bluesky through the CLI', () => {
  it('broadcasts a long announcement as a thread: in order, replies chained, link faceted at its byte offsets', async () => {
    const {home, pds} = await setUp()
    const result = await home.runAsync(['broadcast', '-', '--severity', 'Moderate', '--channel', 'bluesky', '--headline', 'A470 closed by flooding 🌊', '--web', link], {input: bulletin})
    expect(result.status, explain(result)).toBe(0)
    // stderr may carry progress lines on a slow machine; never an error.
    expect(result.stderr).not.toMatch(/error|dead|retry/i)

    const posts = pds.posts
    expect(posts.length).toBeGreaterThanOrEqual(3)
    expect(pds.calls).toEqual({'com.atproto.server.createSession': 1, 'com.atproto.repo.putRecord': posts.length})
    // The first post: the tag, the headline (an emoji in it, before the link), the link.
    expect(posts[0]!.text.startsWith('🟡 MODERATE: A470 closed by flooding 🌊\n\n')).toBe(true)
    expect(posts[0]!.text).toContain(`${link}\n1/${posts.length}`)
    const linkStart = Buffer.byteLength(posts[0]!.text.slice(0, posts[0]!.text.indexOf(link)))
    expect(posts[0]!.facets).toEqual([{index: {byteStart: linkStart, byteEnd: linkStart + Buffer.byteLength(link)}, features: [{$type: 'app.bsky.richtext.facet#link', uri: link}]}])
    expect(facetSpans(posts.at(-1)!)).toEqual([{text: '#ConwyFlood', feature: {$type: 'app.bsky.richtext.facet#tag', tag: 'ConwyFlood'}}])
    posts.forEach((post, index) => {
      expect(post.text.endsWith(`\n${index + 1}/${posts.length}`)).toBe(true)
      expect(isValidTid(post.rkey)).toBe(true)
      expect(post.langs).toEqual(['en-GB'])
      if (index > 0) expect(post.reply).toEqual({root: {uri: posts[0]!.uri, cid: posts[0]!.cid}, parent: {uri: posts[index - 1]!.uri, cid: posts[index - 1]!.cid}})
    })
    // What the officer sees: the first post's bsky.app address.
    expect(result.stdout).toContain(`bluesky → https://bsky.app/profile/${blueskyTestAccount.did}/post/${posts[0]!.rkey}`)

    // Nothing left to send: a later run posts nothing.
    const run = await home.runAsync(['run'])
    expect(run.status, explain(run)).toBe(0)
    expect(pds.posts).toHaveLength(posts.length)
  })

  it('every follow-up of a thread is rooted at the alert\'s first post: a second Update, and a Cancel of an Update, too', async () => {
    // Bluesky hides a reply whose root is not its parent's root: rooted at the Update it follows,
    // the all-clear would not show under the alert people saw.
    const {home, pds} = await setUp()
    // The PDS answers from this process: commands run asynchronously.
    const lastId = () => (jsonOf(home.run(['list', '--json'])) as Array<{id: string}>)[0]!.id
    const sent = async (args: string[], input?: string) => {
      const result = await home.runAsync(args, input === undefined ? {} : {input})
      expect(result.status, explain(result)).toBe(0)
    }
    await sent(['broadcast', '-', '--severity', 'Moderate', '--channel', 'bluesky', '--headline', 'Fire at Conwy quay'], 'A fire at Conwy quay. Keep windows and doors closed.')
    const alert = lastId()
    await sent(['update', alert, 'The fire at Conwy quay is under control.'])
    const first = lastId()
    await sent(['broadcast', first])
    await sent(['update', first, 'The fire at Conwy quay is out; windows may be opened.'])
    const second = lastId()
    await sent(['broadcast', second])
    await sent(['cancel', second, 'Sent in error.'])
    const posts = pds.posts
    expect(posts).toHaveLength(4)
    const ref = (index: number) => ({uri: posts[index]!.uri, cid: posts[index]!.cid})
    expect(posts[0]!.reply).toBeUndefined()
    expect(posts.slice(1).map((post) => post.reply)).toEqual([
      {root: ref(0), parent: ref(0)},
      {root: ref(0), parent: ref(1)},
      {root: ref(0), parent: ref(2)},
    ])
    expect(posts[3]!.text).toContain('Cancelled')
  })

  it('retries a thread whose second post was rate-limited from the second post, never reposting the first', async () => {
    // The reset is in the past by the time the retry comes, so the pause is the driver's minimum.
    const {home, pds} = await setUp({cueWriteAt: {1: blueskyFaults.rateLimited(Math.floor(Date.now() / 1000))}})
    const result = await home.runAsync(['broadcast', '-', '--severity', 'Moderate', '--channel', 'bluesky', '--web', link, '--json'], {input: bulletin})
    expect(result.status, explain(result)).toBe(0)
    const texts = pds.posts.map((post) => post.text)
    expect(new Set(texts).size).toBe(texts.length)
    const writes = server!.requests.filter((request) => request.path === '/xrpc/com.atproto.repo.putRecord')
    expect(writes.map((request) => request.status)).toEqual([200, 429, ...texts.slice(1).map(() => 200)])
    expect(JSON.parse(writes[2]!.body).rkey).toBe(pds.posts[1]!.rkey)
    expect(pds.posts[1]!.reply!.parent.uri).toBe(pds.posts[0]!.uri)
    const status = jsonOf(result)
    expect(status.channels[0]).toMatchObject({channel: 'bluesky', sent: 1, total: 1})
  })

  it('refuses an over-long post with threads: false in preview and broadcast, posting nothing', async () => {
    const {home, pds} = await setUp({}, {threads: false})
    const draft = jsonOf(home.run(['draft', bulletin, '--severity', 'Moderate', '--channel', 'bluesky', '--json']))
    const preview = jsonOf(home.run(['preview', draft.id, '--json']))
    expect(preview.findings).toEqual([expect.objectContaining({level: 'error', rule: 'channel-limit', channel: 'bluesky'})])
    const result = await home.runAsync(['broadcast', draft.id])
    expect(result.status, explain(result)).toBe(3)
    expect(result.stderr).toMatch(/^Error: refused by policy — bluesky: post is \d+ graphemes, over the limit of 300/)
    expect(pds.calls).toEqual({})
  })

  it('channels test signs in with good credentials and posts nothing', async () => {
    const {home, pds} = await setUp()
    const result = await home.runAsync(['channels', 'test', 'bluesky'])
    expect(result.status, explain(result)).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^bluesky\\s+ok\\s+signed in as @police\\.bsky\\.social \\(${blueskyTestAccount.did}\\)$`, 'm'))
    expect(pds.calls).toEqual({'com.atproto.server.createSession': 1})
  })

  it('channels test fails with exit 1 and the PDS\'s reason for a wrong app password, never showing it', async () => {
    const {home, pds} = await setUp()
    const wrong = 'wrng-pass-word-0000'
    const result = await home.runAsync(['channels', 'test', 'bluesky', '--json'], {env: {BLUESKY_APP_PASSWORD: wrong}})
    expect(result.status, explain(result)).toBe(1)
    expect(jsonOf(result)).toEqual([
      {channel: 'bluesky', type: 'bluesky', ok: false, detail: "Bluesky AuthenticationRequired: Invalid identifier or password — check the channel's identifier and appPassword (an app password, not the account's)"},
    ])
    expect(result.stdout + result.stderr).not.toContain(wrong)
    expect(pds.posts).toHaveLength(0)
  })
})
