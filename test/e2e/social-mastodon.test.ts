import {describe, expect, it} from 'vitest'
import {startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {mastodonChannelConfig, mastodonEnv, mastodonFaults, mastodonPlan, statusId, testAccessToken, testAcct, type MastodonFake, type MastodonPlanOptions} from '../fakes/mastodon-plan.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {closedAfterEach} from '../helpers/closed-after-each.js'

// The mastodon channel through the built CLI, against a Mastodon-shaped API on loopback: what
// the instance received, post by post, and what `channels test` says about the account.

const opened = closedAfterEach()

async function setUp(settings: Record<string, unknown> = {}, plan: MastodonPlanOptions = {}): Promise<{home: CrierHome; fake: ProviderFake; instance: MastodonFake}> {
  const instance = mastodonPlan(plan)
  const fake = opened(await startProviderFake({plan: instance.plan}))
  const home = opened(makeCrierHome())
  Object.assign(home.env, mastodonEnv)
  // JSON is YAML: the channel as the shared helper writes it.
  home.writeConfig(`channels:\n  force-mastodon: ${JSON.stringify(mastodonChannelConfig(fake.url, settings))}\n`)
  return {home, fake, instance}
}

function deliveryOf(home: CrierHome): {id: string; state: string; receipt_id: string | null; receipt_url: string | null} {
  const db = home.db()
  try {
    return db.prepare(`SELECT id, state, receipt_id, receipt_url FROM delivery WHERE channel = 'force-mastodon'`).get() as never
  } finally {
    db.close()
  }
}

const sentence = (i: number) => `Sentence ${i} tells residents of Llanrwst what they need to know about the flooding.`

describe('mastodon end to end', () => {
  it('broadcast - posts one status with the bearer token and the delivery\'s Idempotency-Key, and keeps its id and URL', async () => {
    const {home, fake, instance} = await setUp({visibility: 'unlisted'})
    const result = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', 'force-mastodon', '--area', 'Llandudno', '--lang', 'cy-GB', '--json'], {
      input: 'Water supply restored in Llandudno.',
    })
    expect(result.status, result.stderr).toBe(0)
    expect(jsonOf(result).announcement.state).toBe('sent')

    const delivery = deliveryOf(home)
    expect(delivery).toEqual({id: expect.any(String), state: 'sent', receipt_id: statusId(0), receipt_url: `https://social.example/@${testAcct}/${statusId(0)}`})
    expect(instance.statuses).toEqual([
      {
        id: statusId(0),
        url: `https://social.example/@${testAcct}/${statusId(0)}`,
        text: expect.stringMatching(/^🟢 MINOR: .*Water supply restored in Llandudno\./s),
        spoilerText: '',
        visibility: 'unlisted',
        language: 'cy',
        inReplyToId: null,
        idempotencyKey: `${delivery.id}-0`,
      },
    ])
    const [request] = fake.requests
    expect(request!.headers.authorization).toBe(`Bearer ${testAccessToken}`)
    expect(result.stdout + result.stderr).not.toContain(testAccessToken)
  })

  it('posts a long announcement as a thread and, after the third post failed, resumes at the third', async () => {
    const {home, instance} = await setUp({retryBase: '50ms', spoilerFor: ['Minor']}, {cueAt: {2: mastodonFaults.badGateway()}})
    const text = Array.from({length: 11}, (_, i) => sentence(i + 1)).join(' ')
    const result = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', 'force-mastodon', '--headline', 'Flood warning for Llanrwst', '--json'], {input: text})
    expect(result.status, result.stderr).toBe(0)

    const delivery = deliveryOf(home)
    expect(delivery).toMatchObject({state: 'sent', receipt_id: statusId(0)})
    expect(instance.statuses.map(({id, inReplyToId, spoilerText, idempotencyKey}) => ({id, inReplyToId, spoilerText, idempotencyKey}))).toEqual(
      [0, 1, 2].map((i) => ({id: statusId(i), inReplyToId: i === 0 ? null : statusId(i - 1), spoilerText: '🟢 MINOR: Flood warning for Llanrwst', idempotencyKey: `${delivery.id}-${i}`})),
    )
    instance.statuses.forEach((status, i) => expect(status.text.endsWith(`\n${i + 1}/3`)).toBe(true))
    // Parts 1 and 2 once each; part 3 failed (502) and went again, replying to part 2.
    expect(instance.posts.map((post) => [post.idempotencyKey, post.httpStatus])).toEqual([
      [`${delivery.id}-0`, 200],
      [`${delivery.id}-1`, 200],
      [`${delivery.id}-2`, 502],
      [`${delivery.id}-2`, 200],
    ])
    const posted = instance.statuses.map((status) => status.text).join('\n')
    for (let i = 1; i <= 11; i++) expect(posted.split(sentence(i)).length).toBe(2)
  })

  it('refuses, by policy, a post over the limit when threads are off: nothing posted', async () => {
    const {home, fake} = await setUp({threads: false})
    const text = Array.from({length: 11}, (_, i) => sentence(i + 1)).join(' ')
    const result = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', 'force-mastodon'], {input: text})
    expect(result.status).toBe(3)
    expect(result.stderr).toMatch(/^Error: refused by policy — force-mastodon: post is \d+ characters, over the limit of 500/)
    expect(fake.requests).toHaveLength(0)
  })

  it('channels test names the account and the instance\'s limit, posting nothing', async () => {
    const {home, fake} = await setUp({}, {maxCharacters: 1000})
    const result = await home.runAsync(['channels', 'test', 'force-mastodon'])
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^force-mastodon\\s+ok\\s+@${testAcct} on 127\\.0\\.0\\.1:${fake.port}; 1000 characters per post$`, 'm'))
    const json = await home.runAsync(['channels', 'test', '--json'])
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({channel: 'force-mastodon', type: 'mastodon', ok: true})])
    expect(fake.requests.every((request) => request.method === 'GET')).toBe(true)
  })

  it('channels test with a wrong token exits 1 with Mastodon\'s reason and no secret', async () => {
    const {home, fake} = await setUp()
    const wrongToken = 'revoked-token-Zx81Lm0Qa7'
    const result = await home.runAsync(['channels', 'test', 'force-mastodon'], {env: {MASTODON_TOKEN: wrongToken}})
    expect(result.status).toBe(1)
    expect(result.stdout).toMatch(new RegExp(`^force-mastodon\\s+FAILED\\s+127\\.0\\.0\\.1:${fake.port}: HTTP 401: The access token is invalid — check accessToken`, 'm'))
    expect(result.stdout + result.stderr).not.toContain(wrongToken)
    const json = await home.runAsync(['channels', 'test', '--json'], {env: {MASTODON_TOKEN: wrongToken}})
    expect(json.status).toBe(1)
    expect(JSON.parse(json.stdout)[0]).toMatchObject({channel: 'force-mastodon', ok: false, detail: expect.stringContaining('The access token is invalid')})
    expect(json.stdout).not.toContain(wrongToken)
  })
})
