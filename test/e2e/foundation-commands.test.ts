import {mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {jsonOf, makeCrierHome, repoRoot, storeFacts, type CrierHome} from '../helpers/cli.js'
import {draft, ok, refused, show, twoChannelConfig} from '../helpers/cli-assertions.js'

// Every foundation command through the built CLI (bin/run.js), as a child process with its own
// CRIER_HOME, the way officers, scripts and cron run it; edit, preview, approve and reject are in
// foundation-review.test.ts (split in two so the files run in parallel). Build first:
//   npx tsc -p tsconfig.build.json && node scripts/write-manifest.js

const hour = 3_600_000
const packageVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {version: string}).version

/**
 * Inserts a copy of an existing announcement row under another id (for ids that share a prefix,
 * or an old creation time, which the CLI cannot make on demand).
 */
function insertCopy(home: CrierHome, fromId: string, changes: {id: string; createdAt?: number; headline?: string}): void {
  const db = home.db()
  try {
    const row = db.prepare('SELECT * FROM announcement WHERE id = ?').get(fromId) as Record<string, unknown>
    const copy: Record<string, unknown> = {...row, id: changes.id, identifier: `crier-${changes.id}`}
    if (changes.createdAt !== undefined) copy.created_at = copy.updated_at = changes.createdAt
    if (changes.headline !== undefined) {
      const variants = JSON.parse(row.variants_json as string) as Array<Record<string, unknown>>
      variants[0]!.headline = changes.headline
      copy.variants_json = JSON.stringify(variants)
    }
    const columns = Object.keys(copy)
    db.prepare(`INSERT INTO announcement (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`).run(copy)
  } finally {
    db.close()
  }
}

describe('crier --version and --help', () => {
  const home = makeCrierHome()
  afterAll(() => home.cleanup())

  it('--version prints crier/<package version>', () => {
    const result = ok(home.run(['--version']))
    expect(result.stdout).toMatch(new RegExp(`^crier/${packageVersion.replace(/\./g, '\\.')} `))
    expect(result.stderr).toBe('')
  })

  it('--help lists every foundation command', () => {
    const result = ok(home.run(['--help']))
    for (const command of ['draft', 'list', 'show', 'edit', 'preview', 'approve', 'reject', 'channels']) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, 'm'))
    }
  })

  it('every command has --help, exit 0, with its usage and the --json flag where it reports', () => {
    for (const command of [['draft'], ['list'], ['show'], ['edit'], ['preview'], ['approve'], ['reject'], ['channels', 'list']]) {
      const result = ok(home.run([...command, '--help']))
      expect(result.stdout).toContain('USAGE')
      expect(result.stdout).toContain(`$ crier ${command.join(' ')}`)
      expect(result.stdout).toContain('--json')
    }
  })

  it('draft --help names all the announcement flags', () => {
    const result = ok(home.run(['draft', '--help']))
    for (const flag of ['--headline', '--channel', '--severity', '--urgency', '--certainty', '--category', '--event', '--area', '--expires', '--lang', '--instruction', '--web', '--file', '--config']) {
      expect(result.stdout).toContain(flag)
    }
  })

  it('loads no plugin from a package.json in its data folder: such a file neither runs nor warns', () => {
    const dataDir = join(home.home, '.local', 'share', 'crier')
    mkdirSync(dataDir, {recursive: true})
    writeFileSync(join(dataDir, 'package.json'), '{not json')
    const result = ok(home.run(['list']))
    expect(result.stderr).toBe('')
  })

  it('--version and --help need no CRIER_HOME: nothing is created', () => {
    const fresh = join(home.home, 'not-created')
    ok(home.run(['--version'], {env: {CRIER_HOME: fresh}}))
    ok(home.run(['--help'], {env: {CRIER_HOME: fresh}}))
    expect(() => statSync(fresh)).toThrow()
  })
})

describe('crier draft', () => {
  const home = makeCrierHome()
  afterAll(() => home.cleanup())

  it('takes the text as an argument and says what to do next', () => {
    const result = ok(home.run(['draft', 'Water supply restored in Llandudno. Thank you for your patience.', '--severity', 'Minor']))
    const match = /^Draft ([0-9A-Z]{12}) created \(Minor\)\. Next: crier preview ([0-9A-Z]{12})\n$/.exec(result.stdout)
    expect(match, result.stdout).not.toBeNull()
    expect(match![1]).toBe(match![2])
    const stored = show(home, match![1]!)
    expect(stored.variants[0].description).toBe('Water supply restored in Llandudno. Thank you for your patience.')
    // the headline defaults to the first sentence
    expect(stored.headline).toBe('Water supply restored in Llandudno.')
    expect(stored.state).toBe('draft')
    expect(stored.author).toBe('officer.author')
    // the embedded default has one channel: nothing to choose
    expect(stored.channels).toEqual(['website'])
  })

  it('--json prints the created announcement, one JSON document and nothing else', () => {
    const result = ok(home.run(['draft', 'Road closed at J11.', '--severity', 'Moderate', '--json']))
    const created = jsonOf(result)
    expect(result.stderr).toBe('')
    expect(created.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(created.shortId).toBe(created.id.slice(0, 12))
    expect(created).toMatchObject({state: 'draft', severity: 'Moderate', headline: 'Road closed at J11.', msgType: 'Alert', status: 'Actual', scope: 'Public'})
    const stored = show(home, created.id)
    for (const key of ['id', 'identifier', 'sender', 'severity', 'urgency', 'certainty', 'category', 'event', 'variants', 'channels', 'state', 'author', 'createdAt']) {
      expect(stored[key], key).toEqual(created[key])
    }
  })

  it('reads the text from --file, normalising line endings and trimming', () => {
    const file = join(home.home, 'announcement.txt')
    writeFileSync(file, '\uFEFF  The A55 is closed westbound.\r\nUse the A5 instead.\r\n\r\n')
    const created = draft(home, ['--file', file, '--severity', 'Minor'])
    expect(show(home, created.id).variants[0].description).toBe('The A55 is closed westbound.\nUse the A5 instead.')
  })

  it('reads the text from stdin with -', () => {
    const created = draft(home, ['-', '--severity', 'Minor'], {input: 'Flood barrier closed on the quay.\n'})
    expect(show(home, created.id).variants[0].description).toBe('Flood barrier closed on the quay.')
  })

  it('keeps UTF-8 text (Welsh, emoji, quotes) exactly', () => {
    const text = 'Rhybudd: mae’r ffordd ar gau ger Llanrwst 🚧 — “dim mynediad”.'
    const created = draft(home, ['-', '--severity', 'Minor', '--lang', 'cy-GB'], {input: text})
    expect(show(home, created.id).variants[0]).toMatchObject({language: 'cy-GB', description: text})
  })

  it('accepts exactly 1 MiB of text', () => {
    // not --json: the announcement itself would be over a megabyte of output
    const result = ok(home.run(['draft', '-', '--severity', 'Minor'], {input: 'a'.repeat(1024 * 1024)}))
    const shortId = /^Draft ([0-9A-Z]{12}) created/.exec(result.stdout)![1]!
    const db = home.db()
    try {
      const variants = db.prepare('SELECT variants_json FROM announcement WHERE id LIKE ?').pluck().get(`${shortId}%`) as string
      expect((JSON.parse(variants) as Array<{description: string}>)[0]!.description).toHaveLength(1024 * 1024)
    } finally {
      db.close()
    }
  })

  it('accepts the enumerations in any case and keeps CAP spelling', () => {
    const created = draft(home, ['Gas leak on High Street.', '--severity', 'severe', '--urgency', 'IMMEDIATE', '--certainty', 'likely', '--category', 'cbrne'])
    expect(created).toMatchObject({severity: 'Severe', urgency: 'Immediate', certainty: 'Likely', category: 'CBRNE'})
  })

  it('defaults urgency and certainty to Unknown, category to Other and event from the category', () => {
    const created = draft(home, ['Something happened.', '--severity', 'Minor'])
    expect(created).toMatchObject({urgency: 'Unknown', certainty: 'Unknown', category: 'Other', event: 'Announcement'})
    expect(draft(home, ['Storm.', '--severity', 'Minor', '--category', 'Met']).event).toBe('Weather')
  })
})

describe('crier draft with every flag', () => {
  const home = makeCrierHome()
  beforeAll(() => home.writeConfig(twoChannelConfig))
  afterAll(() => home.cleanup())

  it('stores every flag; show --json reads them back', () => {
    const expires = '2099-01-02T03:04:05Z'
    const created = draft(home, [
      '-',
      '--headline', 'A55 closed westbound J11–J12',
      '--channel', 'website',
      '--channel', 'intranet',
      '--severity', 'Moderate',
      '--urgency', 'Expected',
      '--certainty', 'Observed',
      '--category', 'Transport',
      '--event', 'Road closure',
      '--area', 'Bangor, Gwynedd',
      '--expires', expires,
      '--lang', 'en-GB',
      '--instruction', 'Use the A5 instead.',
      '--web', 'https://northwales.example/roads/a55',
    ], {input: 'The A55 is closed westbound between J11 and J12 after a collision.'})
    const stored = show(home, created.id)
    expect(stored).toMatchObject({
      severity: 'Moderate',
      urgency: 'Expected',
      certainty: 'Observed',
      category: 'Transport',
      event: 'Road closure',
      area: {description: 'Bangor, Gwynedd', polygons: [], circles: [], geocodes: []},
      expiresAt: Date.parse(expires),
      web: 'https://northwales.example/roads/a55',
      channels: ['website', 'intranet'],
      sender: 'alerts@northwales.example',
      senderName: 'North Wales Police',
      headline: 'A55 closed westbound J11–J12',
      state: 'draft',
      author: 'officer.author',
    })
    expect(stored.variants).toEqual([
      {language: 'en-GB', headline: 'A55 closed westbound J11–J12', description: 'The A55 is closed westbound between J11 and J12 after a collision.', instruction: 'Use the A5 instead.'},
    ])
  })

  it('takes --channel as a comma list, and -c, ignoring repeats', () => {
    expect(draft(home, ['One.', '--severity', 'Minor', '--channel', 'intranet,website']).channels).toEqual(['intranet', 'website'])
    expect(draft(home, ['Two.', '--severity', 'Minor', '-c', 'intranet', '-c', 'intranet']).channels).toEqual(['intranet'])
  })

  it('folds a line break typed into a headline, area or event into a space: each is one line', () => {
    const drafted = draft(home, ['Body.', '--severity', 'Minor', '--channel', 'website', '--headline', 'Two\nlines', '--area', 'Bangor,\r\n Gwynedd', '--event', 'Road\nclosure'])
    expect(drafted.variants[0].headline).toBe('Two lines')
    expect(drafted.area.description).toBe('Bangor, Gwynedd')
    expect(drafted.event).toBe('Road closure')
    const listed = home.run(['list']).stdout.split('\n')
    expect(listed.filter((line) => line.endsWith(' Two lines'))).toHaveLength(1)
    expect(listed).not.toContain('lines')
  })

  it('refuses a text that is only a channel name (--channel website intranet): exit 2, saying how to give two', () => {
    const before = storeFacts(home)
    const result = home.run(['draft', '--channel', 'website', 'intranet', '--severity', 'Minor'], {input: 'Road closed.'})
    expect(result.status).toBe(2)
    expect(result.stderr).toBe('Error: the text "intranet" is the name of a channel — give several as --channel website --channel intranet, or --channel website,intranet\n')
    expect(storeFacts(home)).toEqual(before)
  })

  it('takes one channel per --channel: the text may follow it, as an officer types it', () => {
    const drafted = draft(home, ['--channel', 'website', 'Road closed at Junction 11.', '--severity', 'Minor'])
    expect(drafted.channels).toEqual(['website'])
    expect(drafted.variants[0].description).toBe('Road closed at Junction 11.')
    const both = draft(home, ['--channel', 'website', '-c', 'intranet', 'Both.', '--severity', 'Minor'])
    expect(both.channels).toEqual(['website', 'intranet'])
  })

  it('uses the first configured language when --lang is not given', () => {
    expect(draft(home, ['Three.', '--severity', 'Minor', '--channel', 'website']).variants[0].language).toBe('en-GB')
  })

  it('resolves a relative expiry against now', () => {
    const before = Date.now()
    const created = draft(home, ['Four.', '--severity', 'Minor', '--channel', 'website', '--expires', '+6h'])
    const after = Date.now()
    expect(created.expiresAt).toBeGreaterThanOrEqual(before + 6 * hour)
    expect(created.expiresAt).toBeLessThanOrEqual(after + 6 * hour)
  })

  it('needs --channel when several are configured, naming them (exit 2)', () => {
    refused(home.run(['draft', 'Five.', '--severity', 'Minor']), 2, /--channel is required — one or more of website, intranet/)
  })
})

describe('crier list', () => {
  const home = makeCrierHome()
  afterAll(() => home.cleanup())

  it('says so when there is nothing, and --json is an empty list', () => {
    expect(ok(home.run(['list'])).stdout).toBe('No announcements.\n')
    expect(jsonOf(ok(home.run(['list', '--json'])))).toEqual([])
  })

  it('lists newest first, as text and as --json, with the filters', () => {
    const first = draft(home, ['First announcement.', '--severity', 'Minor'])
    const second = draft(home, ['Second announcement.', '--severity', 'Severe'])
    const third = draft(home, ['Third announcement.', '--severity', 'Moderate'])
    // one from three days ago, inserted directly: the CLI only creates announcements now
    const oldId = '01HZZZZZZZ0000000000000000'
    insertCopy(home, first.id, {id: oldId, createdAt: Date.now() - 72 * hour, headline: 'Old announcement.'})

    const listed = jsonOf(ok(home.run(['list', '--json'])))
    expect(listed.map((a: any) => a.id)).toEqual([third.id, second.id, first.id, oldId])
    expect(listed[0]).toMatchObject({shortId: third.id.slice(0, 12), headline: 'Third announcement.', state: 'draft', severity: 'Moderate'})

    const lines = ok(home.run(['list'])).stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(new RegExp(`^${third.shortId}\\s+draft\\s+Moderate\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\S+\\s+Third announcement\\.$`))
    expect(lines[3]).toContain('Old announcement.')

    // --since: a duration back from now, or an ISO date
    expect(jsonOf(ok(home.run(['list', '--since', '24h', '--json']))).map((a: any) => a.id)).toEqual([third.id, second.id, first.id])
    expect(jsonOf(ok(home.run(['list', '--since', '2020-01-01', '--json']))).map((a: any) => a.id)).toEqual([third.id, second.id, first.id, oldId])
    expect(ok(home.run(['list', '--since', '24h'])).stdout).not.toContain('Old announcement.')

    // --status: approve the Severe one, then filter
    ok(home.run(['approve', second.id], {env: {CRIER_USER: 'sgt.jones'}}))
    expect(jsonOf(ok(home.run(['list', '--status', 'approved', '--json']))).map((a: any) => a.id)).toEqual([second.id])
    expect(jsonOf(ok(home.run(['list', '--status', 'draft', '--json']))).map((a: any) => a.id)).toEqual([third.id, first.id, oldId])
    expect(jsonOf(ok(home.run(['list', '--status', 'draft,approved', '--since', '24h', '--json']))).map((a: any) => a.id)).toEqual([third.id, second.id, first.id])
    expect(jsonOf(ok(home.run(['list', '--status', 'draft', '--status', 'approved', '--json']))).length).toBe(4)
    expect(jsonOf(ok(home.run(['list', '--status', 'sent', '--json'])))).toEqual([])
    expect(ok(home.run(['list', '--status', 'approved'])).stdout).toMatch(new RegExp(`^${second.shortId}\\s+approved\\s+Severe`))
  })

  it('refuses an unknown --status or an unparseable --since (exit 2)', () => {
    refused(home.run(['list', '--status', 'published']), 2, /--status "published" is not a state — use one of draft, pending_approval, approved/)
    refused(home.run(['list', '--since', 'last week']), 2, /--since "last week" is not a time/)
  })
})

describe('crier show', () => {
  const home = makeCrierHome()
  afterAll(() => home.cleanup())

  it('shows one announcement with its fields, approvals and channels', () => {
    const created = draft(home, ['-', '--headline', 'Evacuate Riverside Road', '--severity', 'Severe', '--urgency', 'Immediate', '--certainty', 'Observed', '--category', 'Safety', '--event', 'Flooding', '--area', 'Riverside Road, Conwy', '--expires', '2099-06-01T12:00:00Z', '--instruction', 'Leave now by the high road.', '--web', 'https://example.org/flood'], {
      input: 'The river has breached its banks.',
    })
    const text = ok(home.run(['show', created.shortId])).stdout
    expect(text).toContain(`${created.id}  pending_approval`)
    expect(text).toContain('Severe / Immediate / Observed  Safety: Flooding  (Actual Alert)')
    expect(text).toContain('Evacuate Riverside Road')
    expect(text).toContain('The river has breached its banks.')
    expect(text).toContain('Instruction: Leave now by the high road.')
    expect(text).toMatch(/Area: +Riverside Road, Conwy/)
    expect(text).toMatch(/Web: +https:\/\/example\.org\/flood/)
    // No timezone: in the config: the machine's (the CLI helper runs the child with TZ=UTC).
    expect(text).toMatch(/Expires: +2099-06-01 12:00 UTC$/m)
    expect(text).toMatch(/Author: +officer\.author, created \d{4}-/)
    expect(text).toMatch(/Approvals: +0\/1/)
    expect(text).toMatch(/Channels: +website/)

    const json = show(home, created.id)
    expect(json.approvals).toEqual({required: 1, valid: 0, satisfied: false, by: []})
    expect(json.deliveries).toEqual([])
  })

  it('keeps terminal control sequences out of what it stores and publishes, so nothing shows them', () => {
    const created = draft(home, ['-', '--severity', 'Minor'], {input: 'Safe text \u001b[2J\u001b]0;owned\u0007here.'})
    const text = ok(home.run(['show', created.id])).stdout
    expect(text).not.toContain('\u001b')
    expect(text).not.toContain('\u0007')
    // --json carries the text as stored: what the preview showed is what goes out.
    expect(show(home, created.id).variants[0].description).toBe('Safe text here.')
  })

  it('prints file names it was given without their control sequences (a config, a CSV, an export)', () => {
    const dir = join(home.home, 'odd\u001b]0;PWN\u0007dir')
    mkdirSync(dir, {recursive: true})
    const config = join(dir, 'c.yaml')
    writeFileSync(config, 'channels:\n  website: {type: feed, dir: ./public}\n')
    writeFileSync(join(dir, 's.csv'), 'name,email\nx,bad\n')
    const outputs = [
      ok(home.run(['channels', 'list', '--config', config])).stdout,
      ok(home.run(['subscribers', 'import', join(dir, 's.csv'), '--list', 'q'])).stdout,
      ok(home.run(['audit', 'export', '--output', join(dir, 'a.jsonl')])).stdout,
    ]
    for (const out of outputs) {
      expect(out).toContain('odddir')
      expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/)
    }
  })
})

describe('short ids', () => {
  const home = makeCrierHome()
  let real: any
  // Three ids that share prefixes, inserted directly (no real ULID starts with 7ZZZ before the year 10889).
  const a1 = '7ZZZAAAA000000000000000001'
  const a2 = '7ZZZAAAA000000000000000002'
  const b = '7ZZZBBBB000000000000000003'

  beforeAll(() => {
    real = draft(home, ['Prefix test.', '--severity', 'Minor'])
    for (const id of [a1, a2, b]) insertCopy(home, real.id, {id})
  })
  afterAll(() => home.cleanup())

  it('accepts the full id, the 12-character short id, any unique prefix of 4 or more, in any case', () => {
    expect(show(home, real.id).id).toBe(real.id)
    expect(show(home, real.shortId).id).toBe(real.id)
    expect(show(home, real.id.slice(0, 10).toLowerCase()).id).toBe(real.id)
    expect(show(home, '7ZZZB').id).toBe(b)
    expect(show(home, '7zzzaaaa000000000000000002').id).toBe(a2)
  })

  it('accepts a short id in every command that takes one', () => {
    ok(home.run(['preview', '7ZZZB']))
    ok(home.run(['edit', '7ZZZB', '--headline', 'Edited by prefix']))
    expect(show(home, b).headline).toBe('Edited by prefix')
  })

  it('refuses an ambiguous prefix, listing the candidates (exit 2)', () => {
    refused(home.run(['show', '7ZZZAAAA']), 2, /id 7ZZZAAAA is ambiguous \(7ZZZAAAA0000, 7ZZZAAAA0000\) — type more characters/)
    refused(home.run(['show', '7ZZZ']), 2, /is ambiguous/)
    for (const command of [['preview'], ['approve'], ['edit', '--headline', 'x'], ['reject', '--reason', 'x']]) {
      const [name, ...rest] = command
      refused(home.run([name!, '7ZZZ', ...rest]), 2, /ambiguous/)
    }
  })

  it('refuses an unknown id (exit 2)', () => {
    refused(home.run(['show', '7ZZZCCCC']), 2, /no announcement with id 7ZZZCCCC — see crier list/)
    refused(home.run(['approve', '7YYY']), 2, /no announcement with id 7YYY/)
  })

  it('refuses a prefix shorter than 4 characters (exit 2)', () => {
    refused(home.run(['show', '7ZZ']), 2, /at least 4 characters/)
  })

  it('changes nothing while refusing', () => {
    expect(storeFacts(home)).toMatchObject({integrity: 'ok', announcements: 4})
    expect(show(home, a1).state).toBe('draft')
  })
})

describe('crier channels list', () => {
  it('lists the embedded default: one website feed channel', () => {
    const home = makeCrierHome()
    try {
      const text = ok(home.run(['channels', 'list'])).stdout
      expect(text).toContain('Config: embedded default')
      expect(text).toMatch(/^website\s+feed\s+broadcast\s+idempotent$/m)
      expect(jsonOf(ok(home.run(['channels', 'list', '--json'])))).toEqual({
        source: 'embedded default',
        channels: [{name: 'website', type: 'feed', kind: 'broadcast', idempotent: true, concurrency: 8, maxAttempts: 8, rate: null, cannotSendHere: null}],
      })
    } finally {
      home.cleanup()
    }
  })

  it('lists the channels of a config file, with their engine settings', () => {
    const home = makeCrierHome()
    try {
      const file = home.writeConfig(`${twoChannelConfig}  partners: { type: webhook, url: "https://partners.example/hook", maxAttempts: 3, concurrency: 2, rate: 5/s }\n`)
      const json = jsonOf(ok(home.run(['channels', 'list', '--json'])))
      expect(json.source).toBe(file)
      expect(json.channels).toEqual([
        {name: 'website', type: 'feed', kind: 'broadcast', idempotent: true, concurrency: 8, maxAttempts: 8, rate: null, cannotSendHere: null},
        {name: 'intranet', type: 'feed', kind: 'broadcast', idempotent: true, concurrency: 8, maxAttempts: 8, rate: null, cannotSendHere: null},
        {name: 'partners', type: 'webhook', kind: 'broadcast', idempotent: true, concurrency: 2, maxAttempts: 3, rate: '5/s', cannotSendHere: null},
      ])
      expect(ok(home.run(['channels', 'list'])).stdout).toContain(`Config: ${file}`)
    } finally {
      home.cleanup()
    }
  })

  it('reads --config and CRIER_CONFIG instead of CRIER_HOME/config.yaml', () => {
    const home = makeCrierHome()
    try {
      const other = join(home.home, 'elsewhere.yaml')
      writeFileSync(other, 'channels:\n  noticeboard: { type: feed, dir: ./board }\n')
      expect(jsonOf(ok(home.run(['channels', 'list', '--json', '--config', other]))).channels.map((c: any) => c.name)).toEqual(['noticeboard'])
      expect(jsonOf(ok(home.run(['channels', 'list', `--config=${other}`, '--json']))).channels.map((c: any) => c.name)).toEqual(['noticeboard'])
      expect(jsonOf(ok(home.run(['channels', 'list', '--json'], {env: {CRIER_CONFIG: other}}))).source).toBe(other)
    } finally {
      home.cleanup()
    }
  })
})

describe('file modes', () => {
  const home = makeCrierHome()
  afterAll(() => home.cleanup())

  it('creates CRIER_HOME (and its missing parents) 0700 and crier.db 0600', () => {
    const fresh = join(home.home, 'new', 'crier-home')
    const created = draft(home, ['Mode test.', '--severity', 'Minor'], {env: {CRIER_HOME: fresh}})
    expect(statSync(fresh).mode & 0o777).toBe(0o700)
    expect(statSync(join(home.home, 'new')).mode & 0o777).toBe(0o700)
    expect(statSync(join(fresh, 'crier.db')).mode & 0o777).toBe(0o600)
    for (const suffix of ['-wal', '-shm']) {
      try {
        expect(statSync(join(fresh, 'crier.db' + suffix)).mode & 0o777).toBe(0o600)
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOENT')
      }
    }
    // the feed writes its folders 0700 and files 0600 by default
    ok(home.run(['broadcast', created.id], {env: {CRIER_HOME: fresh}}))
    expect(statSync(join(fresh, 'public')).mode & 0o777).toBe(0o700)
    expect(statSync(join(fresh, 'public', 'cap')).mode & 0o777).toBe(0o700)
    for (const file of ['alerts.atom', 'cap/index.atom', `cap/${created.id}.xml`]) expect(statSync(join(fresh, 'public', file)).mode & 0o777, file).toBe(0o600)
  })

  it('keeps crier.db 0600 even under a permissive umask', () => {
    const fresh = join(home.home, 'umask-home')
    mkdirSync(fresh, {mode: 0o700})
    const previous = process.umask(0o000)
    try {
      draft(home, ['Umask test.', '--severity', 'Minor'], {env: {CRIER_HOME: fresh}})
    } finally {
      process.umask(previous)
    }
    expect(statSync(join(fresh, 'crier.db')).mode & 0o777).toBe(0o600)
  })
})
