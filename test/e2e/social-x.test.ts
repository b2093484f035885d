import {spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, expect, it} from 'vitest'
import {startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {defaultXAccount, oauthParameters, postRequests, xChannelConfig, xCredentials, xEnv, xFaults, xPlan, type XFake, type XPlanOptions} from '../fakes/x-plan.js'
import {crierBin, jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {closedAfterEach} from '../helpers/closed-after-each.js'

// The x channel through the built CLI, against an X-shaped v2 API on loopback that checks
// every OAuth 1.0a signature: what X received, post by post, what `channels test` says, and an
// in-doubt thread after kill -9 settled by looking at the account's posts.

const opened = closedAfterEach()

async function setUp(settings: Record<string, unknown> = {}, plan: XPlanOptions = {}): Promise<{home: CrierHome; fake: ProviderFake; x: XFake}> {
  const x = xPlan(plan)
  const fake = opened(await startProviderFake({plan: x.plan}))
  const home = opened(makeCrierHome())
  Object.assign(home.env, xEnv)
  // JSON is YAML: the channel as the shared helper writes it.
  home.writeConfig(`channels:\n  force-x: ${JSON.stringify(xChannelConfig(fake.url, settings))}\n`)
  return {home, fake, x}
}

function deliveryOf(home: CrierHome): {id: string; state: string; receipt_id: string | null; receipt_url: string | null; last_error: string | null} {
  const db = home.db()
  try {
    return db.prepare(`SELECT id, state, receipt_id, receipt_url, last_error FROM delivery WHERE channel = 'force-x'`).get() as never
  } finally {
    db.close()
  }
}

/** What `crier preview` shows for the channel: the exact text of each post. */
function previewedPosts(home: CrierHome, id: string): string[] {
  const preview = jsonOf<{channels: Array<{channel: string; parts: Array<{text: string}>}>}>(home.run(['preview', id, '--channel', 'force-x', '--json']))
  return preview.channels.find((channel) => channel.channel === 'force-x')!.parts.map((part) => part.text)
}

const statusUrl = (id: string) => `https://x.com/i/web/status/${id}`
const sentence = (i: number) => `Sentence ${i} tells residents of Llanrwst what they need to know about the flooding.`
const longText = Array.from({length: 11}, (_, i) => sentence(i + 1)).join(' ')
const secrets = Object.values(xCredentials)

describe('x end to end', () => {
  it('broadcast - posts exactly what preview shows, signed with OAuth 1.0a, and keeps the post id and address', async () => {
    const {home, fake, x} = await setUp()
    const result = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', 'force-x', '--area', 'Llandudno', '--json'], {input: 'Water supply restored in Llandudno.'})
    expect(result.status, result.stderr).toBe(0)
    const {announcement} = jsonOf(result)
    expect(announcement.state).toBe('sent')

    expect(x.posts).toHaveLength(1)
    const [post] = x.posts
    expect(post!.text).toMatch(/^🟢 MINOR: .*Water supply restored in Llandudno\./s)
    expect(post!.replyTo).toBeUndefined()
    expect([post!.text]).toEqual(previewedPosts(home, announcement.id))
    expect(deliveryOf(home)).toMatchObject({state: 'sent', receipt_id: post!.id, receipt_url: statusUrl(post!.id)})

    const [request] = fake.requests
    expect(request).toMatchObject({method: 'POST', path: '/2/tweets', status: 201})
    expect(JSON.parse(request!.body)).toEqual({text: post!.text})
    expect(oauthParameters(request!)).toMatchObject({oauth_consumer_key: xCredentials.apiKey, oauth_token: xCredentials.accessToken, oauth_signature_method: 'HMAC-SHA1'})
    expect(x.refusals).toEqual([])
    for (const secret of secrets) expect(result.stdout + result.stderr).not.toContain(secret)
  })

  it('a second announcement with the same words minutes later is not taken as sent with the first one\'s post', async () => {
    const {home, x} = await setUp()
    const bins = ['broadcast', '-', '--severity', 'Minor', '--channel', 'force-x', '--headline', 'Bins delayed']
    const first = await home.runAsync([...bins, '--json'], {input: 'Bin collections are delayed by one day.'})
    expect(first.status, first.stderr).toBe(0)
    const second = await home.runAsync([...bins, '--json'], {input: 'Bin collections are delayed by one day.'})
    // X refuses the identical post; the first one's is on the account, and it is not this one's
    expect(second.status, second.stderr).toBe(4)
    expect(x.posts).toHaveLength(1)
    const db = home.db()
    try {
      const rows = db.prepare(`SELECT d.state, d.last_error AS lastError, p.provider_id AS post FROM delivery d LEFT JOIN delivery_part p ON p.delivery_id = d.id ORDER BY d.created_at`).all() as Array<{state: string; lastError: string | null; post: string | null}>
      expect(rows.map((row) => [row.state, row.post])).toEqual([['sent', x.posts[0]!.id], ['dead', null]])
      expect(rows[1]!.lastError).toMatch(/another announcement posted the same words minutes ago/)
    } finally {
      db.close()
    }
  })

  it('posts a long announcement as a thread of replies and, after the third post failed, resumes at the third', async () => {
    const {home, fake, x} = await setUp({retryBase: '50ms'}, {cueAt: {2: xFaults.serviceUnavailable()}})
    const result = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', 'force-x', '--headline', 'Flood warning for Llanrwst', '--json'], {input: longText})
    expect(result.status, result.stderr).toBe(0)
    const {announcement} = jsonOf(result)

    const previewed = previewedPosts(home, announcement.id)
    expect(previewed.length).toBeGreaterThanOrEqual(3)
    expect(x.posts.map((post) => post.text)).toEqual(previewed)
    x.posts.forEach((post, i) => {
      expect(post.replyTo).toBe(i === 0 ? undefined : x.posts[i - 1]!.id)
      expect(post.text.endsWith(`\n${i + 1}/${previewed.length}`)).toBe(true)
    })
    expect(deliveryOf(home)).toMatchObject({state: 'sent', receipt_id: x.posts[0]!.id})
    // Parts 1 and 2 once each; part 3 refused (503) and sent again, replying to part 2.
    const requests = postRequests(fake.requests)
    expect(requests.map((request) => request.text)).toEqual([previewed[0], previewed[1], previewed[2], ...previewed.slice(2)])
    expect(fake.requests.filter((request) => request.path === '/2/tweets').map((request) => request.status)).toEqual([201, 201, 503, ...previewed.slice(2).map(() => 201)])
    const posted = x.posts.map((post) => post.text).join('\n')
    for (let i = 1; i <= 11; i++) expect(posted.split(sentence(i)).length).toBe(2)
  })

  it('after kill -9 mid-thread, crier run finds the in-doubt post on the account and posts only the rest', async () => {
    const {home, fake, x} = await setUp({retryBase: '50ms'}, {cueAt: {1: 'post-then-stall'}})
    // Part 2 goes out but its answer never comes; the sender is killed while it waits.
    const child = spawn(process.execPath, [crierBin, 'broadcast', '-', '--severity', 'Minor', '--channel', 'force-x', '--headline', 'Flood warning for Llanrwst'], {env: home.env, stdio: ['pipe', 'ignore', 'ignore']})
    child.stdin.end(longText)
    for (let i = 0; i < 3000 && x.posts.length < 2; i++) await sleep(10)
    expect(x.posts).toHaveLength(2)
    child.kill('SIGKILL')
    await new Promise((resolve) => child.on('close', resolve))
    expect(deliveryOf(home).state).toBe('sending')

    const result = await home.runAsync(['run'])
    expect(result.status, result.stderr).toBe(0)
    const db = home.db()
    const announcementId = db.prepare('SELECT id FROM announcement').pluck().get() as string
    db.close()
    const previewed = previewedPosts(home, announcementId)
    expect(previewed.length).toBeGreaterThanOrEqual(3)
    // Every part once, in order, each replying to the one before: part 2 was not posted again.
    expect(x.posts.map((post) => post.text)).toEqual(previewed)
    x.posts.slice(1).forEach((post, i) => expect(post.replyTo).toBe(x.posts[i]!.id))
    expect(postRequests(fake.requests).map((request) => request.text)).toEqual(previewed)
    expect(fake.requests.some((request) => request.path.startsWith(`/2/users/${defaultXAccount.id}/tweets?`))).toBe(true)
    expect(deliveryOf(home)).toMatchObject({state: 'sent', receipt_id: x.posts[0]!.id})
    expect(x.refusals).toEqual([])
  })

  it('a thread refused after two parts went out counts as reached: an Update may follow it, and a Cancel replies to the last part posted', async () => {
    const {home, x} = await setUp({retryBase: '50ms'}, {cueAt: {2: xFaults.tooLong()}})
    const sent = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', 'force-x', '--headline', 'Flood warning for Llanrwst', '--json'], {input: longText})
    expect(sent.status, sent.stderr).toBe(4)
    const id = jsonOf(sent).announcement.id as string
    expect(x.posts).toHaveLength(2)
    expect(deliveryOf(home).state).toBe('dead')

    const update = await home.runAsync(['update', id, 'The flood warning for Llanrwst is lifted.', '--json'])
    expect(update.status, update.stderr).toBe(0)
    const cancel = await home.runAsync(['cancel', id, 'Sent in error: there is no flood warning for Llanrwst.', '--json'])
    expect(cancel.status, cancel.stderr).toBe(0)
    const {followUp} = jsonOf(cancel)
    expect(followUp.announcement).toMatchObject({msgType: 'Cancel', channels: ['force-x'], state: 'sent'})
    expect(x.posts).toHaveLength(3)
    expect(x.posts[2]!.text).toMatch(/Sent in error: there is no flood warning for Llanrwst\./)
    expect(x.posts[2]!.replyTo).toBe(x.posts[1]!.id)
  })

  it('a post whose answer was lost, refused as a duplicate when tried again where the account cannot be looked at: unknown, not dead, and a Cancel goes there', async () => {
    const {home, x} = await setUp({retryBase: '50ms', timeout: '1s'}, {cueAt: {0: 'post-then-stall'}, cueTimelineAt: {0: xFaults.clientNotEnrolled(), 1: xFaults.clientNotEnrolled(), 2: xFaults.clientNotEnrolled()}})
    const text = 'Evacuate Riverside Road now. Go to the leisure centre.'
    const sent = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', 'force-x', '--json'], {input: text})
    expect(sent.status, sent.stderr).toBe(4)
    const id = jsonOf(sent).announcement.id as string
    expect(x.posts).toHaveLength(1)
    const delivery = deliveryOf(home)
    expect(delivery.state).toBe('unknown')
    expect(delivery.last_error).toMatch(/an identical post is already on the account/)

    const cancel = await home.runAsync(['cancel', id, 'Sent in error.', '--json'])
    expect(cancel.status, cancel.stderr).toBe(0)
    expect(jsonOf(cancel).followUp.announcement).toMatchObject({msgType: 'Cancel', channels: ['force-x'], state: 'sent'})
    expect(x.posts).toHaveLength(2)
    expect(x.posts[1]!.text).toMatch(/Sent in error\./)
  })

  it('refuses, by policy, a post over 280 weighted when threads are off: nothing posted', async () => {
    const {home, fake} = await setUp({threads: false})
    const result = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', 'force-x'], {input: longText})
    expect(result.status).toBe(3)
    expect(result.stderr).toMatch(/^Error: refused by policy — force-x: post is \d+ x-weighted, over the limit of 280/)
    expect(fake.requests).toHaveLength(0)
  })

  it('channels test names the account, posting nothing', async () => {
    const {home, fake} = await setUp()
    const result = await home.runAsync(['channels', 'test', 'force-x'])
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^force-x\\s+ok\\s+authenticated as @${defaultXAccount.username} \\(read-write\\)$`, 'm'))
    const json = await home.runAsync(['channels', 'test', '--json'])
    expect(JSON.parse(json.stdout)).toEqual([{channel: 'force-x', type: 'x', ok: true, detail: `authenticated as @${defaultXAccount.username} (read-write)`}])
    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['GET /2/users/me', 'GET /2/users/me'])
  })

  it("channels test with a wrong secret exits 1 with X's reason and no secret", async () => {
    const {home, x} = await setUp()
    const wrongSecret = 'revoked-access-secret-Zx81Lm0Qa7'
    const result = await home.runAsync(['channels', 'test', 'force-x'], {env: {X_ACCESS_SECRET: wrongSecret}})
    expect(result.status).toBe(1)
    expect(result.stdout).toMatch(/^force-x\s+FAILED\s+X 401: Unauthorized — check the channel's apiKey, apiSecret, accessToken and accessSecret$/m)
    expect(x.refusals).toEqual(['signature mismatch'])
    const json = await home.runAsync(['channels', 'test', '--json'], {env: {X_ACCESS_SECRET: wrongSecret}})
    expect(json.status).toBe(1)
    expect(JSON.parse(json.stdout)[0]).toMatchObject({channel: 'force-x', ok: false, detail: expect.stringContaining('X 401: Unauthorized')})
    for (const secret of [wrongSecret, ...secrets]) expect(result.stdout + result.stderr + json.stdout + json.stderr).not.toContain(secret)
  })
})
