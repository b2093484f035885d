import {setTimeout as sleep} from 'node:timers/promises'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {closedPortUrl, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {explain, ok, refused, show} from '../helpers/cli-assertions.js'
import {waitFor} from '../helpers/spawn-crier.js'
import {capSchemaErrors} from '../helpers/validate-cap.js'

// crier cancel and crier update through the built CLI: what is stopped, what the public is told
// (CAP Cancel / Update referencing the original, in the feed in its place), and what is refused.

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

const base = `sender: alerts@northwales.example
senderName: North Wales Police
timezone: Europe/London
`

/** A website feed that works and a partners webhook where nothing listens (its delivery keeps retrying). */
async function homeWithDeadWebhook(): Promise<CrierHome> {
  const h = makeCrierHome()
  h.writeConfig(`${base}channels:
  website: {type: feed, dir: ./public, baseUrl: "https://northwales.example/alerts"}
  partners: {type: webhook, url: "${await closedPortUrl()}/hooks", retryBase: 10s, maxAttempts: 20}
`)
  return h
}

function broadcastNoWait(h: CrierHome, text: string, severity = 'Moderate'): string {
  const queued = jsonOf(ok(h.run(['broadcast', '-', '--severity', severity, '--channel', 'website,partners', '--area', 'Conwy', '--expires', '+6h', '--no-wait', '--json'], {input: text})))
  return queued.announcement.id as string
}

function deliveriesOf(h: CrierHome, id: string): Record<string, string> {
  const db = h.db()
  try {
    const rows = db.prepare('SELECT channel, state FROM delivery WHERE announcement_id = ? AND recipient IS NULL').all(id) as Array<{channel: string; state: string}>
    return Object.fromEntries(rows.map((row) => [row.channel, row.state]))
  } finally {
    db.close()
  }
}

function feedTitles(h: CrierHome): string[] {
  const atom = readFileSync(join(h.home, 'public', 'alerts.atom'), 'utf8')
  return [...atom.matchAll(/<entry[\s\S]*?<title>([^<]*)<\/title>/g)].map((match) => match[1]!)
}

describe('crier cancel', () => {
  it('goes out under a policy that requires an instruction, or that bans a word of the headline it quotes — the officer\'s own words are still judged', () => {
    home = makeCrierHome()
    const config = (banned: string[]) => `${base}channels:\n  website: {type: feed, dir: ./public}\npolicy:\n  content:\n    requireFields: [headline, area, expires, instruction, web, event]\n    bannedWords: [${banned.join(', ')}]\n`
    home.writeConfig(config([]))
    const fields = ['--severity', 'Minor', '--area', 'Conwy', '--expires', '+6h', '--instruction', 'Boil water before drinking it.', '--web', 'https://northwales.example/water', '--event', 'Water', '--headline', 'Tanker overturned: boil water in Conwy', '--json']
    const first = jsonOf(ok(home.run(['broadcast', '-', ...fields], {input: 'A tanker overturned at the works. Boil water in Conwy.'}))).announcement.id as string
    const second = jsonOf(ok(home.run(['broadcast', '-', ...fields], {input: 'A tanker overturned at the works. Boil water in Conwy today.'}))).announcement.id as string
    // Tightened after they went out: the word is banned now.
    home.writeConfig(config(['tanker', 'idiot']))

    const cancelled = jsonOf(ok(home.run(['cancel', first, '--json'])))
    expect(cancelled.followUp.announcement).toMatchObject({msgType: 'Cancel', state: 'sent', channels: ['website']})
    expect(feedTitles(home)).toContain('Cancelled: Tanker overturned: boil water in Conwy')
    const withReason = jsonOf(ok(home.run(['cancel', second, 'Sent in error: the water is safe.', '--json'])))
    expect(withReason.followUp.announcement).toMatchObject({msgType: 'Cancel', state: 'sent'})
    // What the officer types into a Cancel is judged as ever.
    const third = jsonOf(ok(home.run(['broadcast', '-', ...fields.slice(0, -3), '--headline', 'Boil water in Conwy', '--json'], {input: 'Boil water in Conwy.'}))).announcement.id as string
    const own = home.run(['cancel', third, 'Some idiot sent this.'])
    expect(own.status, explain(own)).toBe(3)
    expect(own.stderr).toMatch(/banned word "idiot"/)
  })

  it('stops what has not gone, and tells the channels it reached with a CAP Cancel that replaces it in the feed', async () => {
    home = await homeWithDeadWebhook()
    const id = broadcastNoWait(home, 'Evacuate the riverside streets of Llanrwst now.')
    // The feed publishes; the webhook is refused and waits 10 s to retry.
    ok(home.run(['run', '--max-time', '2s']))
    expect(deliveriesOf(home, id)).toEqual({website: 'sent', partners: 'failed'})
    expect(feedTitles(home)).toEqual(['Evacuate the riverside streets of Llanrwst now.'])

    const result = ok(home.run(['cancel', id.slice(0, 8), 'Sent in error: there is no flood warning for Llanrwst.', '--json']))
    const cancelled = jsonOf(result)
    expect(cancelled.stopped).toBe(1)
    expect(cancelled.announcement.state).toBe('cancelled')
    expect(deliveriesOf(home, id)).toEqual({website: 'sent', partners: 'cancelled'})
    // The Cancel goes where the original reached the public: the website, not the partners who never had it.
    const followUp = cancelled.followUp.announcement
    expect(followUp).toMatchObject({msgType: 'Cancel', references: id, channels: ['website'], severity: 'Moderate', state: 'sent'})
    expect(followUp.variants[0]).toMatchObject({headline: 'Cancelled: Evacuate the riverside streets of Llanrwst now.', description: 'Sent in error: there is no flood warning for Llanrwst.'})
    expect(feedTitles(home)).toEqual(['Cancelled: Evacuate the riverside streets of Llanrwst now.'])

    const original = show(home, id)
    const cap = readFileSync(join(home.home, 'public', 'cap', `${followUp.id}.xml`), 'utf8')
    expect(cap).toContain('<msgType>Cancel</msgType>')
    expect(cap).toContain(`<references>alerts@northwales.example,${original.identifier},${new Date(original.createdAt).toISOString().slice(0, 19)}-00:00</references>`)
    expect(await capSchemaErrors(cap)).toEqual([])
    // Nothing of the original is left to send.
    ok(home.run(['run', '--max-time', '1s']))
    expect(deliveriesOf(home, id)).toEqual({website: 'sent', partners: 'cancelled'})
    expect(ok(home.run(['show', id])).stdout).toMatch(new RegExp(`^Cancelled: by ${followUp.id.slice(0, 12)}`, 'm'))
    // The audit trail says who cancelled, what it stopped and which Cancel it drafted.
    const events = jsonOf(ok(home.run(['audit', '--id', id, '--json']))).events as Array<{action: string; actor: string; details: Record<string, unknown>}>
    expect(events.filter((event) => event.action === 'cancelled')).toEqual([expect.objectContaining({actor: 'officer.author', details: {stopped: 1, inFlight: 0, followUp: followUp.id}})])
    expect(ok(home.run(['audit', '--id', id])).stdout).toMatch(new RegExp(`cancelled +\\w+ +stopped 1 not yet sent, 0 in flight; Cancel ${followUp.id.slice(0, 12)}$`, 'm'))
  })

  it('a scheduled announcement that never went: the schedule ends, no Cancel is needed', () => {
    home = makeCrierHome()
    const drafted = jsonOf(ok(home.run(['draft', 'Siren test at noon.', '--severity', 'Minor', '--json'])))
    ok(home.run(['schedule', drafted.id, '--at', '+2h']))
    const result = ok(home.run(['cancel', drafted.id]))
    expect(result.stdout).toMatch(/^Cancelled \w+: nothing was waiting to be sent\.\nIt had not reached the public anywhere: no Cancel message is needed\.\n$/)
    expect(show(home, drafted.id).state).toBe('cancelled')
    expect(ok(home.run(['status'])).stdout).not.toMatch(/Scheduled/)
    expect(jsonOf(ok(home.run(['list', '--json'])))).toHaveLength(1)
  })

  it('a held Cancel keeps the channels what it cancels reached: edit --channel to others is refused (exit 2), nothing changes', () => {
    home = makeCrierHome()
    home.writeConfig(`${base}channels:\n  website: {type: feed, dir: ./public, baseUrl: "https://northwales.example/alerts"}\n  archive: {type: feed, dir: ./archive}\n`)
    const id = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'website', '--area', 'Tal-y-Bont', '--expires', '+2h', '--json'], {input: 'Road closed at Tal-y-Bont.'}))).announcement.id as string
    const held = jsonOf(ok(home.run(['cancel', id, '--hold', '--json']))).followUp.announcement.id as string
    const result = home.run(['edit', held, '--channel', 'website,archive'])
    expect(result.status, explain(result)).toBe(2)
    expect(result.stderr).toMatch(/^Error: \S+ is a Cancel: it goes to the channels what it cancels reached \(website\), not others — its channels are not edited$/m)
    expect(show(home, held).channels).toEqual(['website'])
    // Its words may still be put right.
    ok(home.run(['edit', held, '--text', 'The road at Tal-y-Bont was never closed: sent in error.']))
  })

  it('refuses a second cancel, a cancel of a Cancel, and a cancel of what is already updated (exit 3, one line)', () => {
    home = makeCrierHome()
    const sent = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Minor', '--json'], {input: 'Water off in Conwy until 3pm.'}))).announcement.id as string
    const cancel = jsonOf(ok(home.run(['cancel', sent, '--json']))).followUp.announcement.id as string
    refused(home.run(['cancel', sent]), 3, new RegExp(`cancelled already by ${cancel.slice(0, 12)}`))
    refused(home.run(['cancel', cancel]), 3, /it is itself a Cancel/)
    refused(home.run(['update', sent, 'Back on.']), 3, new RegExp(`it was cancelled by ${cancel.slice(0, 12)}`))

    const other = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Minor', '--json'], {input: 'Road closed in Bangor.'}))).announcement.id as string
    const update = jsonOf(ok(home.run(['update', other, 'Road reopened in Bangor.', '--json']))).id as string
    ok(home.run(['broadcast', update]))
    refused(home.run(['cancel', other]), 3, new RegExp(`updated by ${update.slice(0, 12)}, the latest word: cancel that`))
    // Once that Update is cancelled, the whole message is withdrawn: not "update that" or "cancel
    // that", which would be refused in turn.
    const withdrawal = jsonOf(ok(home.run(['cancel', update, '--json']))).followUp.announcement.id as string
    const withdrawn = `its Update ${update.slice(0, 12)} was cancelled by ${withdrawal.slice(0, 12)}, which withdrew the whole message \\(crier status ${withdrawal.slice(0, 12)}\\)`
    refused(home.run(['update', other, 'Road reopened again.']), 3, new RegExp(`^Error: cannot update ${other.slice(0, 12)} — ${withdrawn}; send a new announcement instead$`))
    refused(home.run(['cancel', other]), 3, new RegExp(`^Error: cannot cancel ${other.slice(0, 12)} — it is withdrawn already: ${withdrawn}$`))
  })

  it('where policy needs an approval, it stops at once and drafts the Cancel for another officer to approve', () => {
    home = makeCrierHome()
    const drafted = jsonOf(ok(home.run(['draft', 'Shelter in place in Rhyl.', '--severity', 'Severe', '--json'])))
    ok(home.run(['approve', drafted.id], {env: {CRIER_USER: 'insp.hughes'}}))
    ok(home.run(['broadcast', drafted.id]))
    const result = home.run(['cancel', drafted.id, 'The shelter advice for Rhyl is withdrawn.'])
    // Waiting for approval: the public has not been told, and a script must be able to see it.
    expect(result.status, explain(result)).toBe(3)
    expect(result.stdout).toMatch(/^Cancelled \w+: nothing was waiting to be sent\.\n$/)
    const followUpId = /The Cancel message (\w+) for website is drafted but not sent: .*needs 1 approval/.exec(result.stderr)?.[1]
    expect(followUpId, explain(result)).toBeDefined()
    expect(result.stderr).toContain(`${drafted.id.slice(0, 12)} is cancelled all the same: nothing more of it will go out — but the public has not been told it is cancelled.\n`)
    expect(result.stderr).toMatch(new RegExp(`^Next: crier preview ${followUpId}; once approved, crier broadcast ${followUpId}$`, 'm'))
    expect(result.stderr).not.toMatch(/^ {4}at /m)
    expect(show(home, followUpId!)).toMatchObject({msgType: 'Cancel', state: 'pending_approval', severity: 'Severe'})
    expect(ok(home.run(['status', followUpId!])).stdout).toContain(`Not sent yet. Next: another officer approves it (crier approve ${followUpId}), then crier broadcast ${followUpId}\n`)
    // While that Cancel waits for approval, cancelling again is refused and names it.
    refused(home.run(['cancel', drafted.id]), 3, new RegExp(`cancelled already by ${followUpId}`))
    // …and every place an officer looks says the public is not told yet.
    const original = drafted.id.slice(0, 12)
    expect(ok(home.run(['status'])).stdout).toMatch(new RegExp(`^Cancelled, but the public is not told yet\n  ${original}  Severe +Shelter in place in Rhyl\\.  withdrawn; its Cancel ${followUpId} is pending approval — crier preview ${followUpId}, another officer crier approve ${followUpId}, then crier broadcast ${followUpId}$`, 'm'))
    expect(ok(home.run(['list'])).stdout).toMatch(new RegExp(`^${original} .*\\[CANCEL NOT SENT YET: ${followUpId}\\] Shelter in place in Rhyl\\.$`, 'm'))
    expect(ok(home.run(['show', drafted.id])).stdout).toMatch(new RegExp(`^Cancelled: by ${followUpId}, which has not gone out: the public is not told yet`, 'm'))
    expect(show(home, drafted.id).cancelNotSent).toMatch(new RegExp(`^${followUpId}`))
    // Rejected, it waits for its author, not an approver: the dashboard says so, and no approval is offered.
    ok(home.run(['reject', followUpId!, '--reason', 'Say where to go instead'], {env: {CRIER_USER: 'insp.hughes'}}))
    const rejected = ok(home.run(['status'])).stdout
    expect(rejected).toContain(`withdrawn; its Cancel ${followUpId} was rejected ("Say where to go instead") — its author changes it (crier edit ${followUpId} …), then it is approved and sent`)
    expect(rejected).not.toMatch(/^Waiting for approval$/m)
    ok(home.run(['edit', followUpId!, '--text', 'The shelter order for Rhyl is cancelled. You may go out.']))
    ok(home.run(['preview', followUpId!], {env: {CRIER_USER: 'insp.hughes'}}))
    ok(home.run(['approve', followUpId!], {env: {CRIER_USER: 'insp.hughes'}}))
    ok(home.run(['broadcast', followUpId!]))
    expect(show(home, followUpId!).state).toBe('sent')
    expect(feedTitles(home)).toEqual(['Cancelled: Shelter in place in Rhyl.'])
    expect(ok(home.run(['status'])).stdout).not.toMatch(/not told yet/)
    expect(ok(home.run(['show', drafted.id])).stdout).toMatch(new RegExp(`^Cancelled: by ${followUpId} \\(crier show`, 'm'))
  })

  it('where policy refuses the Cancel, it stops at once, exits 3 and says what to put right (not "once approved")', () => {
    home = makeCrierHome()
    home.writeConfig(`${base}channels:
  website: {type: feed, dir: ./public, baseUrl: "https://northwales.example/alerts"}
policy:
  content: {bannedWords: [idiot]}
`)
    const sent = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Minor', '--json'], {input: 'Water off in Conwy until 3pm.'}))).announcement.id as string
    const result = home.run(['cancel', sent, 'Ignore the idiot who sent that.'])
    expect(result.status, explain(result)).toBe(3)
    const followUpId = /^The Cancel message (\w+) for website is drafted but not sent: refused by policy — .*idiot/m.exec(result.stderr)?.[1]
    expect(followUpId, explain(result)).toBeDefined()
    expect(result.stderr).toContain(`${sent.slice(0, 12)} is cancelled all the same`)
    expect(result.stderr).toMatch(new RegExp(`^Next: crier preview ${followUpId} shows what policy refuses; once that is put right, crier broadcast ${followUpId}$`, 'm'))
    expect(result.stderr).not.toContain('once approved')
    expect(show(home, followUpId!)).toMatchObject({msgType: 'Cancel', state: 'draft'})
    expect(feedTitles(home)).toEqual(['Water off in Conwy until 3pm.'])
  })
})

describe('crier update', () => {
  it('drafts a CAP Update with the original as its default, which then goes the ordinary way and replaces it in the feed', async () => {
    home = makeCrierHome()
    const original = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Moderate', '--area', 'Conwy', '--expires', '+6h', '--instruction', 'Boil water before drinking.', '--json'], {input: 'Water off in Conwy until 3pm.'}))).announcement
    const result = ok(home.run(['update', original.id.slice(0, 10), '-', '--severity', 'Minor'], {input: 'Water is back on in Conwy.'}))
    const updateId = /^Update (\w+) of \w+ drafted \(Minor, website\)\. Next: crier preview \w+; then crier broadcast \w+$/m.exec(result.stdout)?.[1]
    expect(updateId, explain(result)).toBeDefined()
    const update = show(home, updateId!)
    expect(update).toMatchObject({msgType: 'Update', references: original.id, state: 'draft', severity: 'Minor', channels: ['website'], expiresAt: original.expiresAt})
    expect(update.area.description).toBe('Conwy')
    expect(update.variants[0]).toMatchObject({description: 'Water is back on in Conwy.', instruction: 'Boil water before drinking.'})
    expect(ok(home.run(['preview', updateId!])).stdout).toContain(`<references>${original.sender},${original.identifier},`)
    ok(home.run(['broadcast', updateId!]))
    expect(feedTitles(home)).toEqual(['Update: Water is back on in Conwy.'])
    const cap = readFileSync(join(home.home, 'public', 'cap', `${update.id}.xml`), 'utf8')
    expect(cap).toContain('<msgType>Update</msgType>')
    expect(await capSchemaErrors(cap)).toEqual([])
    refused(home.run(['update', original.id, 'Again.']), 3, new RegExp(`updated already by ${updateId}: update that`))
    // Sent is not the whole story: list and status say what replaced it.
    const updatedLine = new RegExp(`^${original.id.slice(0, 12)} +sent .* \\[updated by ${updateId!.slice(0, 12)}\\] Water off in Conwy until 3pm\\.$`, 'm')
    expect(ok(home.run(['list'])).stdout).toMatch(updatedLine)
    expect(ok(home.run(['status', original.id])).stdout).toMatch(updatedLine)
    expect(jsonOf(ok(home.run(['list', '--json']))).find((a: {id: string}) => a.id === original.id)).toMatchObject({updatedBy: update.id})
    const cancel = jsonOf(ok(home.run(['cancel', updateId!, 'The water is safe: this was sent in error.', '--json']))).followUp.announcement
    const listed = ok(home.run(['list'])).stdout
    expect(listed).toMatch(new RegExp(`^${updateId!.slice(0, 12)} +sent .* \\[CANCELLED by ${cancel.id.slice(0, 12)}\\] Water is back on in Conwy\\.$`, 'm'))
    // The Cancel withdrew the whole story: the original is not shown as current either.
    expect(listed).toMatch(new RegExp(`^${original.id.slice(0, 12)} +sent .* \\[CANCELLED by ${cancel.id.slice(0, 12)}\\] Water off in Conwy until 3pm\\.$`, 'm'))
    // …and a script asking what was cancelled is told both messages of the story.
    const cancelledIds = (jsonOf(ok(home.run(['list', '--status', 'cancelled', '--json']))) as Array<{id: string}>).map((a) => a.id)
    expect(cancelledIds.sort()).toEqual([original.id, update.id].sort())
    // The Cancel's CAP names the thread: the Update it cancels and the Alert that Update updated.
    const cancelCap = readFileSync(join(home.home, 'public', 'cap', `${cancel.id}.xml`), 'utf8')
    expect(cancelCap).toMatch(new RegExp(`<references>${original.sender},${original.identifier},\\S+ ${update.sender},${update.identifier},\\S+</references>`))
    expect(await capSchemaErrors(cancelCap)).toEqual([])
  })

  it('once sent, stops what of the original had not gone out on its channels, and says so', async () => {
    home = await homeWithDeadWebhook()
    const id = broadcastNoWait(home, 'Evacuate Zone A of Llanrwst now.')
    ok(home.run(['run', '--max-time', '2s']))
    expect(deliveriesOf(home, id)).toEqual({website: 'sent', partners: 'failed'})
    const update = jsonOf(ok(home.run(['update', id, 'Evacuate Zones A and B of Llanrwst now.', '--json'])))
    // --no-wait: the Update's own webhook delivery is not waited for; the original's stops at once.
    const sent = ok(home.run(['broadcast', update.id, '--no-wait']))
    expect(sent.stderr).toBe(`Superseded: stopped 1 delivery of ${id.slice(0, 12)} not yet sent — they carried the words this Update replaces\n`)
    expect(deliveriesOf(home, id)).toEqual({website: 'sent', partners: 'cancelled'})
    expect(show(home, id).state).toBe('sent')
    // An Update of the Update, once the first is out on the website: --json says what it stopped.
    ok(home.run(['run', '--max-time', '2s']))
    const second = jsonOf(ok(home.run(['update', update.id, 'Evacuate Zones A, B and C of Llanrwst now.', '--json'])))
    const json = jsonOf(ok(home.run(['broadcast', second.id, '--no-wait', '--json'])))
    expect(json.superseded).toEqual({id: update.id, stopped: 1, held: 0})
    expect(ok(home.run(['status', id])).stdout).toMatch(/superseded by Update \w+ before it was sent/)
    expect(ok(home.run(['audit', '--id', id])).stdout).toMatch(new RegExp(`superseded +\\w+ +by Update ${update.id.slice(0, 12)}: stopped 1 not yet sent$`, 'm'))
  })

  it('an Update that never went out, cancelled, withdraws only itself: no Cancel, the original stands and can be cancelled once', async () => {
    home = makeCrierHome()
    home.writeConfig(`${base}channels:\n  website: {type: feed, dir: ./public, baseUrl: "https://northwales.example/alerts"}\n`)
    const id = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'website', '--json'], {input: 'Storm warning for Conwy.'}))).announcement.id as string
    const update = jsonOf(ok(home.run(['update', id, 'The storm is now severe.', '--json']))).id as string
    const cancelledUpdate = jsonOf(ok(home.run(['cancel', update, '--json'])))
    expect(cancelledUpdate.followUp).toBeUndefined()
    expect(cancelledUpdate.announcement.state).toBe('cancelled')
    expect(feedTitles(home)).toEqual(['Storm warning for Conwy.'])
    expect(show(home, id)).toMatchObject({state: 'sent'})
    expect(show(home, id).cancelledBy).toBeUndefined()
    // Only the Update is among the cancelled: the original stands.
    expect((jsonOf(ok(home.run(['list', '--status', 'cancelled', '--json']))) as Array<{id: string}>).map((a) => a.id)).toEqual([update])
    // The original is cancelled the ordinary way, with one Cancel.
    const cancelled = jsonOf(ok(home.run(['cancel', id, '--json'])))
    expect(cancelled.followUp.announcement.variants[0].headline).toBe('Cancelled: Storm warning for Conwy.')
    expect(feedTitles(home)).toEqual(['Cancelled: Storm warning for Conwy.'])
    expect(jsonOf(home.run(['list', '--json'])).filter((a: {msgType: string}) => a.msgType === 'Cancel')).toHaveLength(1)
  })

  it('refuses what has not gone out yet: it is edited instead (exit 3)', () => {
    home = makeCrierHome()
    const drafted = jsonOf(ok(home.run(['draft', 'Road closed in Bangor.', '--severity', 'Minor', '--json'])))
    refused(home.run(['update', drafted.id, 'Road closed in Bangor until 6pm.']), 3, /nothing of it has been sent yet; change it instead: crier edit/)
    expect(jsonOf(ok(home.run(['list', '--json'])))).toHaveLength(1)
    // Queued for a run, it can be edited no longer: update says how to change it, not "edit".
    ok(home.run(['broadcast', drafted.id, '--no-wait']))
    refused(home.run(['update', drafted.id, 'Road closed in Bangor until 6pm.']), 3, new RegExp(`nothing of it has reached anyone yet, and what is queued cannot be edited: crier cancel ${drafted.id.slice(0, 12)} stops it`))
    expect(jsonOf(ok(home.run(['list', '--json'])))).toHaveLength(1)
  })

  it('refuses an announcement that has expired: what is news now is a new announcement (exit 3)', async () => {
    home = makeCrierHome()
    const sent = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Minor', '--expires', '+1s', '--json'], {input: 'Water off in Conwy for a second.'}))).announcement
    await sleep(Math.max(0, sent.expiresAt - Date.now()) + 50)
    refused(home.run(['update', sent.id, 'Water back on.']), 3, /cannot update \w+ — it expired at .*; send what is news now as a new announcement: crier draft …$/)
    expect(jsonOf(ok(home.run(['list', '--json'])))).toHaveLength(1)
    // Cancelled once expired: no Cancel message is needed, but it is cancelled — listed so, and not twice.
    expect(ok(home.run(['cancel', sent.id])).stdout).toMatch(/nothing of it is in force anywhere, so no Cancel message is needed\.$/m)
    expect((jsonOf(ok(home.run(['list', '--status', 'cancelled', '--json']))) as Array<{id: string}>).map((a) => a.id)).toEqual([sent.id])
    // It keeps its sent state (it went out), and says it was cancelled since: in list, show and --json.
    expect(ok(home.run(['list'])).stdout).toMatch(/ sent +Minor .* \[CANCELLED after it expired\] Water off in Conwy for a second\.$/m)
    expect(ok(home.run(['show', sent.id])).stdout).toMatch(/^Cancelled: by officer\.author, .*, after it had expired — no Cancel message was needed: nothing of it was in force$/m)
    const [listed] = jsonOf(ok(home.run(['list', '--json']))) as Array<{state: string; cancelledWithoutMessage?: {by: string; at: number; expired: boolean}}>
    expect(listed).toMatchObject({state: 'sent', cancelledWithoutMessage: {by: 'officer.author', expired: true}})
    expect(listed!.cancelledWithoutMessage!.at).toBeGreaterThanOrEqual(sent.expiresAt)
    refused(home.run(['cancel', sent.id]), 3, /cannot cancel \w+ — officer\.author cancelled it already \(no Cancel message was needed: nothing of it was in force\)/)
  })
})

describe('a delivery being sent as its announcement is cancelled or updated', () => {
  let fake: ProviderFake | undefined
  afterEach(async () => {
    await fake?.close()
    fake = undefined
  })

  /** The partners' endpoint holds the original's first try until it times out (`timeout`); anything else is answered at once. */
  async function homeWithStallingPartner(timeout = '1500ms'): Promise<CrierHome> {
    fake = await startProviderFake({plan: (request) => (JSON.parse(request.body).msgType === 'Alert' ? {stallMs: Infinity} : {status: 200, body: '{}'})})
    const h = makeCrierHome()
    h.writeConfig(`${base}channels:
  partners: {type: webhook, url: "${fake.url}/hooks", timeout: ${timeout}, retryBase: 50ms, retryCap: 100ms, maxAttempts: 5, concurrency: 1}
`)
    return h
  }

  function delivery(h: CrierHome, id: string): {state: string; lastError: string | null} {
    const db = h.db()
    try {
      return db.prepare('SELECT state, last_error AS lastError FROM delivery WHERE announcement_id = ?').get(id) as {state: string; lastError: string | null}
    } finally {
      db.close()
    }
  }

  const msgTypes = () => fake!.requests.map((request) => JSON.parse(request.body).msgType as string)

  it.each(['cancel', 'update'])('%s: its send in flight finishes, but is not tried again after the follow-up went out', async (followUp) => {
    // The officer's commands must land while the original is on the wire: 6 s leaves room for
    // two commands to start on a loaded machine (at 1.5 s, CI saw the original time out and go again first).
    home = await homeWithStallingPartner('6s')
    const id = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Moderate', '--channel', 'partners', '--no-wait', '--json'], {input: 'The A55 is closed at J11.'}))).announcement.id as string
    const run = home.runAsync(['run', '--max-time', '20s'])
    await waitFor('the original to be in flight', () => fake!.requests.length === 1, 15_000)
    // runAsync: the fake answers from this process, which a synchronous spawn would block.
    if (followUp === 'cancel') expect(ok(await home.runAsync(['cancel', id])).stdout).toContain('1 delivery held by a sender: any already on the wire finish, the rest are let go unsent')
    else {
      const update = jsonOf(ok(await home.runAsync(['update', id, 'The A55 has reopened at J11.', '--json']))).id as string
      ok(await home.runAsync(['broadcast', update]))
    }
    expect(msgTypes()).toEqual(['Alert', followUp === 'cancel' ? 'Cancel' : 'Update'])
    const finished = await run
    expect(finished.status, explain(finished)).toBe(0)
    // Timed out, it would have been retried (retryBase 50 ms): the old words after the new.
    expect(msgTypes()).toEqual(['Alert', followUp === 'cancel' ? 'Cancel' : 'Update'])
    const by = followUp === 'cancel' ? /^cancelled by \S+/ : /^superseded by Update \w{12}/
    expect(delivery(home, id)).toEqual({state: 'cancelled', lastError: expect.stringMatching(new RegExp(`${by.source} while a sender held it; not sent again \\(timed out after 6000 ms\\)$`))})
  })

  it('cancel: what a run holds claimed and has not started goes back, cancelled, and is never sent', async () => {
    home = await homeWithStallingPartner()
    // Only the very first try stalls (it times out, and its retry goes through).
    fake!.respondWith((request) => (request.index === 0 ? {stallMs: Infinity} : {status: 200, body: '{}'}))
    const first = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Moderate', '--channel', 'partners', '--no-wait', '--json'], {input: 'The A55 is closed at J11.'}))).announcement.id as string
    const second = jsonOf(ok(home.run(['broadcast', '-', '--severity', 'Moderate', '--channel', 'partners', '--no-wait', '--json'], {input: 'The A5 is closed at Bethesda.'}))).announcement.id as string
    const run = home.runAsync(['run', '--max-time', '20s'])
    // Concurrency 1: the first is in flight (held by the partner), the second claimed behind it.
    await waitFor('the first to be in flight', () => fake!.requests.length === 1, 15_000)
    expect(delivery(home, second).state).toBe('sending')
    ok(await home.runAsync(['cancel', second]))
    const finished = await run
    expect(finished.status, explain(finished)).toBe(0)
    const sentIds = fake!.requests.map((request) => JSON.parse(request.body).id as string)
    expect(sentIds.filter((sent) => sent === second)).toEqual([])
    expect(sentIds.filter((sent) => sent === first).length).toBeGreaterThanOrEqual(2)
    expect(delivery(home, second)).toEqual({state: 'cancelled', lastError: expect.stringMatching(/^cancelled by \S+ while a sender held it; not sent again$/)})
  })
  it('cancel: a partner that never answered (timed out after the request went) gets the Cancel, even once the original gave up', async () => {
    home = await homeWithStallingPartner()
    home.writeConfig(`${base}channels:
  partners: {type: webhook, url: "${fake!.url}/hooks", timeout: 500ms, retryBase: 50ms, retryCap: 100ms, maxAttempts: 2}
`)
    const sent = await home.runAsync(['broadcast', '-', '--severity', 'Moderate', '--channel', 'partners', '--json'], {input: 'The A55 is closed at J11.'})
    expect(sent.status, explain(sent)).toBe(4)
    const id = jsonOf(sent).announcement.id as string
    expect(delivery(home, id)).toEqual({state: 'dead', lastError: 'gave up after 2 attempts: timed out after 500 ms'})
    const cancelled = jsonOf(ok(await home.runAsync(['cancel', id, '--json'])))
    expect(cancelled.followUp.announcement.channels).toEqual(['partners'])
    expect(msgTypes()).toEqual(['Alert', 'Alert', 'Cancel'])
    // It keeps the state it ended in, but is among the cancelled for a script that asks.
    expect(cancelled.announcement.state).toBe('sent_with_failures')
    const listed = jsonOf(ok(home.run(['list', '--status', 'cancelled', '--json']))) as Array<{id: string; cancelledBy?: string}>
    expect(listed.map((a) => [a.id, a.cancelledBy])).toEqual([[id, cancelled.followUp.announcement.id]])
  })
})
