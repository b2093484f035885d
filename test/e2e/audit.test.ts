import {createHash} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {startProviderFake} from '../fakes/provider-server.js'
import {twilioPlan} from '../fakes/twilio-plan.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {draft, explain, ok} from '../helpers/cli-assertions.js'
import {closedAfterEach} from '../helpers/closed-after-each.js'

// The audit trail through the built CLI: what a two-person flow records (who, when, what, on
// what), that `audit verify` catches a row changed with sqlite3, that `audit export` can be
// checked with nothing but SHA-256 and the documented canonical form, and that no secret from
// the config ever reaches the database. Build first:
//   npx tsc -p tsconfig.build.json && node scripts/write-manifest.js

const twoPersonConfig = `sender: alerts@northwales.example
channels:
  website: {type: feed, dir: ./public, baseUrl: "https://northwales.example/alerts"}
policy:
  approvals: {default: 1, authorMayApprove: false}
`

const author = {CRIER_USER: 'pc.jones'}
const approver = {CRIER_USER: 'sgt.evans'}

interface AuditJson {
  seq: number
  at: number
  actor: string
  action: string
  subject: string | null
  details: Record<string, any>
  prevHash: string
  hash: string
}

const opened = closedAfterEach()

function auditOf(h: CrierHome, args: string[] = []): {events: AuditJson[]; unreviewedOverrides: string[]} {
  return jsonOf(ok(h.run(['audit', '--all', '--json', ...args])))
}

/** Drops the triggers and runs sql on the file, as anyone with sqlite3 and write access could. */
function tamper(h: CrierHome, sql: string): void {
  const db = h.db()
  try {
    for (const name of db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit%'`).pluck().all() as string[]) db.exec(`DROP TRIGGER ${name}`)
    db.exec(sql)
  } finally {
    db.close()
  }
}

describe('crier audit', () => {
  it('records a two-person flow: who drafted, who approved, the edit that withdrew it, the send and its result, with times', () => {
    const home = opened(makeCrierHome())
    home.writeConfig(twoPersonConfig)
    const before = Date.now()
    const created = draft(home, ['Water supply restored in Llandudno.', '--severity', 'Minor'], {env: author})
    ok(home.run(['approve', created.id], {env: approver}))
    ok(home.run(['edit', created.id, '--text', 'Water supply restored in Llandudno and Conwy.'], {env: author}))
    ok(home.run(['approve', created.id], {env: approver}))
    ok(home.run(['broadcast', created.id], {env: author}))
    const after = Date.now()

    const {events} = auditOf(home, ['--id', created.shortId])
    const flow = events.map((event) => [event.actor, event.action, event.action === 'state-changed' ? `${event.details.from}→${event.details.to}` : ''])
    const expected = [
      ['pc.jones', 'created', ''],
      ['sgt.evans', 'approved', ''],
      ['pc.jones', 'approvals-withdrawn', ''],
      ['pc.jones', 'edited', ''],
      ['sgt.evans', 'approved', ''],
      ['pc.jones', 'state-changed', 'approved→sending'],
      ['pc.jones', 'send-result', ''],
    ]
    // In this order (other rows, such as state changes by an approval, may sit between them).
    let from = 0
    for (const step of expected) {
      const at = flow.findIndex((row, index) => index >= from && row[0] === step[0] && row[1] === step[1] && row[2] === step[2])
      expect(at, `${step.join(' ')} after row ${from} in\n${flow.map((row) => row.join(' ')).join('\n')}`).toBeGreaterThanOrEqual(from)
      from = at + 1
    }
    for (const event of events) {
      expect(event.subject).toBe(created.id)
      expect(event.at).toBeGreaterThanOrEqual(before)
      expect(event.at).toBeLessThanOrEqual(after)
    }
    // The approvals name the text they approved; the edit changed it, the second approval matches the new text.
    const [firstApproval, secondApproval] = events.filter((event) => event.action === 'approved')
    const createdRow = events.find((event) => event.action === 'created')!
    const editedRow = events.find((event) => event.action === 'edited')!
    expect(firstApproval!.details.contentHash).toBe(createdRow.details.contentHash)
    expect(editedRow.details.previousContentHash).toBe(createdRow.details.contentHash)
    expect(secondApproval!.details.contentHash).toBe(editedRow.details.contentHash)
    expect(secondApproval!.details.contentHash).not.toBe(firstApproval!.details.contentHash)
    expect(events.at(-1)).toMatchObject({action: 'send-result', details: {from: 'sending', to: 'sent', channels: {website: {sent: 1}}}})

    const text = ok(home.run(['audit', '--id', created.shortId])).stdout
    expect(text).toMatch(new RegExp(`^\\d+ +\\S+Z  sgt\\.evans +approved +${created.shortId}  content [0-9a-f]{12}$`, 'm'))
    expect(text).toMatch(new RegExp(`^\\d+ +\\S+Z  pc\\.jones +send-result +${created.shortId}  sent: website sent 1$`, 'm'))

    const verify = ok(home.run(['audit', 'verify']))
    expect(verify.stdout).toMatch(/^audit verify: \d+ events, chain whole \(last hash [0-9a-f]{64}\)\n$/)
  })

  it('marks a drill in the trail as in every list: an auditor does not read an exercise as a real alert', () => {
    const home = opened(makeCrierHome())
    home.writeConfig(twoPersonConfig)
    const drill = draft(home, ['Flood drill at Conwy.', '--severity', 'Extreme', '--status', 'Exercise'])
    expect(ok(home.run(['audit', '--id', drill.shortId])).stdout).toMatch(new RegExp(`created +${drill.shortId}  .*Extreme \\[EXERCISE\\] "Flood drill at Conwy\\." to`, 'm'))
  })

  it('lists the newest events oldest first (also as audit list), --since and --limit, and refuses an unknown --id (exit 2)', () => {
    const home = opened(makeCrierHome())
    home.writeConfig(twoPersonConfig)
    for (let i = 0; i < 3; i++) draft(home, [`Announcement ${i}.`, '--severity', 'Minor'])
    const all = auditOf(home).events
    expect(all.map((event) => event.seq)).toEqual(all.map((_, index) => index + 1))
    const limited = ok(home.run(['audit', '--limit', '2', '--json']))
    const newest = jsonOf(limited).events as AuditJson[]
    expect(newest.map((event) => event.seq)).toEqual(all.slice(-2).map((event) => event.seq))
    // --json stays one document on stdout; that there is more is said on stderr, for a script too.
    expect(limited.stderr).toBe('(the newest 2; --limit N or --all for more)\n')
    const listed = ok(home.run(['list', '--limit', '2', '--json']))
    expect(jsonOf(listed)).toHaveLength(2)
    expect(listed.stderr).toBe('(the newest 2; --limit N or --all for more)\n')
    expect(jsonOf(ok(home.run(['audit', '--since', '2999-01-01', '--json']))).events).toEqual([])
    // `audit list`, as `channels list` and `subscribers list` are spelt, is the same listing.
    expect(jsonOf(ok(home.run(['audit', 'list', '--limit', '2', '--json']))).events).toEqual(newest)
    const unknown = home.run(['audit', '--id', '01ZZZZZZZZZZ'])
    expect(unknown.status, explain(unknown)).toBe(2)
    expect(unknown.stderr).toMatch(/^Error: no announcement with id 01ZZZZZZZZZZ/)
  })

  it('records a config load only when the config text changed', () => {
    const home = opened(makeCrierHome())
    home.writeConfig(twoPersonConfig)
    ok(home.run(['run']))
    ok(home.run(['run']))
    ok(home.run(['list']))
    const loads = () => auditOf(home).events.filter((event) => event.action === 'config-loaded')
    expect(loads()).toHaveLength(1)
    expect(loads()[0]!.details).toEqual({source: join(home.home, 'config.yaml'), sha256: createHash('sha256').update(twoPersonConfig).digest('hex')})
    home.writeConfig(twoPersonConfig + 'languages: [en-GB, cy-GB]\n')
    ok(home.run(['run']))
    ok(home.run(['run']))
    expect(loads()).toHaveLength(2)
  })

  it('audit verify names a row changed with sqlite3 (exit 1, one line), and a truncated tail; --json says the same', () => {
    const home = opened(makeCrierHome())
    home.writeConfig(twoPersonConfig)
    for (let i = 0; i < 4; i++) draft(home, [`Announcement ${i}.`, '--severity', 'Minor'])
    const count = auditOf(home).events.length
    tamper(home, `UPDATE audit_event SET actor = 'someone.else' WHERE seq = 3`)
    const broken = home.run(['audit', 'verify'])
    expect(broken.status, explain(broken)).toBe(1)
    expect(broken.stdout).toBe('')
    // The triggers sqlite3 had to drop are named too: they are gone still.
    const dropped = 'the triggers that keep it append-only were tampered with outside crier (audit_event_no_update, audit_event_no_delete, audit_event_follows_head, audit_event_moves_head, audit_head_only_forward, audit_head_no_delete, audit_head_no_insert, audit_event_no_replace were dropped)'
    expect(broken.stderr).toBe(`Error: audit verify: row 3 does not match its hash (changed after it was written); and ${dropped} — keep a copy of crier.db as it is, and compare it with an earlier crier audit export\n`)
    const json = home.run(['audit', 'verify', '--json'])
    expect(json.status).toBe(1)
    expect(jsonOf(json)).toEqual({ok: false, events: 2, row: 3, problem: `row 3 does not match its hash (changed after it was written); and ${dropped}`})

    tamper(home, `UPDATE audit_event SET actor = (SELECT actor FROM audit_event WHERE seq = 2) WHERE seq = 3; DELETE FROM audit_event WHERE seq >= ${count - 1}`)
    const truncated = home.run(['audit', 'verify'])
    expect(truncated.status, explain(truncated)).toBe(1)
    expect(truncated.stderr).toMatch(new RegExp(`^Error: audit verify: the chain ends at row ${count - 2} but ${count} events were written: rows ${count - 1}–${count} are missing \\(truncated\\)`))
  })

  it('audit export writes JSON lines (0600) that check out with SHA-256 and the documented canonical form alone', () => {
    const home = opened(makeCrierHome())
    home.writeConfig(twoPersonConfig)
    draft(home, ['Llanfairpwllgwyngyll: "quotes", \\backslash, Dŵr 🌊', '--severity', 'Minor'], {env: {CRIER_USER: 'sgt.ÿ "quoted"'}})
    draft(home, ['Second.', '--severity', 'Minor'])
    const file = join(home.home, 'audit.jsonl')
    const written = jsonOf(ok(home.run(['audit', 'export', '--output', file, '--json'])))
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
    expect(written).toEqual({events: lines.length, headHash: JSON.parse(lines.at(-1)!).hash, file})

    // An independent checker: sha256(prev_hash + JSON.stringify([seq, at, actor, action, subject]) + "\n" + details).
    let prev = '0'.repeat(64)
    lines.forEach((line, index) => {
      const row = JSON.parse(line)
      expect(Object.keys(row)).toEqual(['seq', 'at', 'actor', 'action', 'subject', 'details', 'prevHash', 'hash'])
      expect(row.seq).toBe(index + 1)
      expect(row.prevHash).toBe(prev)
      const canonical = JSON.stringify([row.seq, row.at, row.actor, row.action, row.subject]) + '\n' + row.details
      expect(createHash('sha256').update(prev + canonical, 'utf8').digest('hex')).toBe(row.hash)
      prev = row.hash
    })
    expect(JSON.parse(lines[1]!).actor).toBe('sgt.ÿ "quoted"')
    // To stdout, the same lines.
    expect(ok(home.run(['audit', 'export'])).stdout).toBe(readFileSync(file, 'utf8'))
    // --json without --output would mix the lines with the summary.
    const mixed = home.run(['audit', 'export', '--json'])
    expect(mixed.status).toBe(2)
    expect(mixed.stderr).toMatch(/^Error: audit export writes its JSON lines to stdout — give --output FILE to use --json\n$/)
  })

  it('audit export --output refuses a path that is there and is not a regular file, and leaves it as it was', () => {
    const home = opened(makeCrierHome())
    home.writeConfig(twoPersonConfig)
    draft(home, ['Second.', '--severity', 'Minor'])
    const fifo = join(home.home, 'audit.fifo')
    execFileSync('mkfifo', [fifo])
    const target = join(home.home, 'kept.jsonl')
    writeFileSync(target, 'kept\n')
    const link = join(home.home, 'audit-link.jsonl')
    symlinkSync(target, link)
    const dir = join(home.home, 'exports')
    mkdirSync(dir)
    for (const [path, kind] of [[fifo, 'a FIFO'], [link, 'a symlink']] as const) {
      const refused = home.run(['audit', 'export', '--output', path])
      expect(refused.status, explain(refused)).toBe(2)
      expect(refused.stderr).toBe(`Error: --output ${path} is not a regular file (${kind}) — name a file, or leave out --output to write to stdout\n`)
    }
    const intoDir = home.run(['audit', 'export', '--output', dir])
    expect(intoDir.status, explain(intoDir)).toBe(2)
    expect(intoDir.stderr).toBe(`Error: --output ${dir} is a directory — give a file name in it, e.g. ${dir}/audit.jsonl\n`)
    const empty = home.run(['audit', 'export', '--output', ''])
    expect(empty.status, explain(empty)).toBe(2)
    expect(empty.stderr).toBe('Error: --output is empty — give a file name, or leave out --output to write to stdout\n')
    expect(lstatSync(fifo).isFIFO()).toBe(true)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(readFileSync(target, 'utf8')).toBe('kept\n')
    expect(readdirSync(home.home).filter((name) => name.includes('.partial'))).toEqual([])
    // A regular file is replaced whole.
    ok(home.run(['audit', 'export', '--output', target]))
    expect(readFileSync(target, 'utf8')).toMatch(/^\{"seq":1,/)
  })

  it('never stores a secret from the config: not in any audit row, not anywhere in the database files', async () => {
    const hmacSecret = 'whsec-audit-test-6f1d0c9e'
    const authToken = 'twilio-token-audit-test-2b7a'
    const accountSid = 'AC' + '1'.repeat(32)
    const hooks = opened(await startProviderFake())
    const twilio = opened(await startProviderFake({plan: twilioPlan({accountSid, authToken})}))
    const home = opened(makeCrierHome())
    Object.assign(home.env, {PARTNERS_HMAC: hmacSecret, TWILIO_AUTH_TOKEN: authToken})
    home.writeConfig(`defaultRegion: GB
channels:
  partners: {type: webhook, url: "${hooks.url}/hooks/alerts", secret: "\${PARTNERS_HMAC}"}
  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${twilio.url}", audience: residents}
policy:
  approvals: {default: 0, bySeverity: {Extreme: 2}}
  emergencyOverride: {allowed: true}
`)
    const csv = join(home.home, 'residents.csv')
    writeFileSync(csv, 'name,phone\nCeri,07700 900111\nDai,07700 900222\n')
    ok(home.run(['subscribers', 'import', csv, '--list', 'residents']))
    ok(home.run(['subscribers', 'optout', '+447700900222']))
    const routine = draft(home, ['Water supply restored.', '--severity', 'Minor', '--channel', 'partners,residents-sms'])
    ok(await home.runAsync(['broadcast', routine.id]))
    // An officer who pastes a secret into a reason: redacted before it is stored.
    const urgent = draft(home, ['Evacuate Towyn now.', '--severity', 'Extreme', '--channel', 'partners'])
    ok(await home.runAsync(['broadcast', urgent.id, '--override', '--reason', `token ${authToken} leaked, sending anyway`]))
    expect(hooks.requests).toHaveLength(2)
    expect(twilio.requests.length).toBeGreaterThan(0)

    const {events} = auditOf(home)
    expect(new Set(events.map((event) => event.action))).toEqual(
      new Set(['config-loaded', 'subscribers-imported', 'subscriber-opted-out', 'created', 'state-changed', 'send-result', 'override']),
    )
    expect(events.find((event) => event.action === 'subscribers-imported')!.details).toEqual({list: 'residents', inserted: 2, updated: 0, rejected: 0, file: 'residents.csv'})
    expect(events.find((event) => event.action === 'override')!.details.reason).toBe('token *** leaked, sending anyway')
    expect(events.find((event) => event.action === 'send-result' && event.subject === routine.id)!.details.channels).toEqual({partners: {sent: 1}, 'residents-sms': {sent: 1}})
    expect(ok(home.run(['audit', 'verify'])).stdout).toMatch(/chain whole/)

    const exported = ok(home.run(['audit', 'export'])).stdout
    for (const secret of [hmacSecret, authToken]) {
      expect(exported).not.toContain(secret)
      // The database and its -wal and -shm (crier.db-sending/ holds only delivery ids and attempts).
      for (const name of readdirSync(home.home).filter((file) => file.startsWith('crier.db') && statSync(join(home.home, file)).isFile())) {
        const bytes = readFileSync(join(home.home, name))
        expect(bytes.includes(Buffer.from(secret, 'utf8')), `${secret} in ${name}`).toBe(false)
        expect(bytes.includes(Buffer.from(secret, 'utf16le')), `${secret} (UTF-16) in ${name}`).toBe(false)
      }
    }
  })
})
