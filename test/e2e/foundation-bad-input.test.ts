import {existsSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync} from 'node:fs'
import Database from 'better-sqlite3'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {jsonOf, makeCrierHome, storeFacts, type CliResult, type CrierHome} from '../helpers/cli.js'

// The bad-input list, through the built CLI: each is one `Error: …` line on stderr
// (no stack trace), the documented exit code (1 runtime failure, 2 bad input, 3 refused),
// nothing on stdout that pretends success, and afterwards the store is intact
// (PRAGMA integrity_check ok) with the announcement count unchanged.

function explain(result: CliResult): string {
  return `exit ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
}

function ok(result: CliResult): CliResult {
  expect(result.status, explain(result)).toBe(0)
  return result
}

/** The stderr lines of a refusal: each one `Error: …`, no stack trace, nothing on stdout. */
function errorLines(result: CliResult, exitCode: number): string[] {
  expect(result.status, explain(result)).toBe(exitCode)
  expect(result.stdout, explain(result)).toBe('')
  expect(result.stderr, explain(result)).not.toMatch(/^ {4}at /m)
  const lines = result.stderr.split('\n').filter((line) => line !== '')
  expect(lines.length, explain(result)).toBeGreaterThan(0)
  for (const line of lines) expect(line).toMatch(/^Error: \S/)
  return lines
}

/** Exactly one `Error: …` line matching `message`. */
function refusedWith(result: CliResult, exitCode: number, message: RegExp): string {
  const lines = errorLines(result, exitCode)
  expect(lines, explain(result)).toHaveLength(1)
  expect(lines[0]).toMatch(message)
  return lines[0]!
}

/** The store after a refusal: intact, and exactly as many announcements and deliveries as before. */
function expectUnchanged(home: CrierHome, before: ReturnType<typeof storeFacts>): void {
  expect(storeFacts(home)).toEqual({...before, integrity: 'ok'})
}

describe('bad input: one Error line, exit 2, nothing written', () => {
  const home = makeCrierHome()
  let existing: any
  let facts: ReturnType<typeof storeFacts>

  beforeAll(() => {
    existing = jsonOf(ok(home.run(['draft', 'The existing announcement.', '--severity', 'Minor', '--expires', '+6h', '--json'])))
    facts = storeFacts(home)
    expect(facts).toEqual({integrity: 'ok', announcements: 1, deliveries: 0})
  })
  afterAll(() => home.cleanup())

  /** Runs a command that must be refused, then checks the store did not change. */
  function refused(args: string[], exitCode: number, message: RegExp, options?: {input?: string | Buffer; env?: NodeJS.ProcessEnv}): string {
    const line = refusedWith(home.run(args, options), exitCode, message)
    expectUnchanged(home, facts)
    return line
  }

  it('empty text: as an argument, on stdin, in a file', () => {
    refused(['draft', '', '--severity', 'Minor'], 2, /the text is empty — give the announcement text/)
    refused(['draft', '-', '--severity', 'Minor'], 2, /stdin is empty/, {input: ''})
    const file = join(home.home, 'empty.txt')
    writeFileSync(file, '')
    refused(['draft', '--file', file, '--severity', 'Minor'], 2, /--file .*empty\.txt is empty/)
  })

  it('text that is only whitespace', () => {
    refused(['draft', ' \t \n ', '--severity', 'Minor'], 2, /the text is empty/)
    refused(['draft', '-', '--severity', 'Minor'], 2, /stdin is empty/, {input: '\n\r\n \t\u00a0\n'})
    refused(['draft', '-', '--severity', 'Minor'], 2, /stdin is empty/, {input: '\uFEFF  \n'})
  })

  it('text with nothing to read once escape sequences and invisible characters are dropped', () => {
    // A coloured program's empty output piped in: it would have gone out as an alert with no words.
    refused(['broadcast', '-', '--severity', 'Minor'], 2, /^Error: the text holds nothing to read once its escape sequences and invisible characters are dropped — give the announcement text$/m, {input: '\u001b[31m\u001b[0m\n'})
    refused(['draft', '-', '--severity', 'Minor'], 2, /the text holds nothing to read/, {input: '\u200b\u200b'})
    // Joiners and variation selectors on their own, a combining grapheme joiner, tag characters, the braille blank.
    refused(['draft', '-', '--severity', 'Minor'], 2, /the text holds nothing to read/, {input: '\ufe0f\u200d\u034f\n'})
    refused(['draft', '\u{e0041}\u{e0042}', '--severity', 'Minor'], 2, /the text holds nothing to read/)
    refused(['draft', '-', '--severity', 'Minor'], 2, /the text holds nothing to read/, {input: '\u2800'})
    refused(['draft', '\u001b[1m', '--severity', 'Minor'], 2, /the text holds nothing to read/)
    refused(['edit', existing.id, '--text', '\u001b[0m\u001b[K\n'], 2, /the text holds nothing to read/)
  })

  it('an argument that was not UTF-8 (Node reads its bytes as U+FFFD)', () => {
    refused(['draft', 'Caf\ufffd on High St closed.', '--severity', 'Minor'], 2, /^Error: the text holds "\ufffd" where its bytes were not UTF-8 — give the text in UTF-8$/m)
    refused(['draft', 'Road closed.', '--headline', 'Caf\ufffd closed', '--severity', 'Minor'], 2, /--headline holds "\ufffd"/)
    refused(['edit', existing.id, '--area', 'Caf\ufffd'], 2, /--area holds "\ufffd"/)
    refused(['edit', existing.id, '--zone', 'Caf\ufffd'], 2, /--zone holds "\ufffd"/)
    refused(['edit', existing.id, '--web', 'https://example.org/caf\ufffd'], 2, /--web holds "\ufffd"/)
  })

  it('stdin that is not valid UTF-8', () => {
    refused(['draft', '-', '--severity', 'Minor'], 2, /stdin is not valid UTF-8 — save the text as UTF-8/, {input: Buffer.from([0x52, 0x6f, 0x61, 0x64, 0x20, 0xff, 0xfe, 0x20, 0x63, 0x6c, 0x6f, 0x73, 0x65, 0x64])})
    // Latin-1 "café", as an old Windows tool would write it
    refused(['draft', '-', '--severity', 'Minor'], 2, /not valid UTF-8/, {input: Buffer.from('caf\xe9 closed', 'latin1')})
    // a truncated multi-byte sequence at the end
    refused(['draft', '-', '--severity', 'Minor'], 2, /not valid UTF-8/, {input: Buffer.concat([Buffer.from('Road closed '), Buffer.from('€').subarray(0, 2)])})
    const file = join(home.home, 'latin1.txt')
    writeFileSync(file, Buffer.from('Ffordd ar gau \xe2 \xff', 'latin1'))
    refused(['draft', '--file', file, '--severity', 'Minor'], 2, /--file .*latin1\.txt is not valid UTF-8/)
  })

  it('stdin containing NUL', () => {
    refused(['draft', '-', '--severity', 'Minor'], 2, /stdin contains a NUL byte — is it a binary file\?/, {input: Buffer.from('Road\0closed')})
    refused(['draft', '-', '--severity', 'Minor'], 2, /contains a NUL byte/, {input: Buffer.from('Road closed\n\0')})
  })

  it('stdin larger than 1 MiB', () => {
    refused(['draft', '-', '--severity', 'Minor'], 2, /stdin is larger than 1 MiB — shorten the text$/, {input: Buffer.alloc(1024 * 1024 + 1, 'a')})
    refused(['draft', '-', '--severity', 'Minor'], 2, /larger than 1 MiB/, {input: Buffer.alloc(3 * 1024 * 1024, 'b')})
    const file = join(home.home, 'big.txt')
    writeFileSync(file, Buffer.alloc(1024 * 1024 + 10, 'c'))
    refused(['draft', '--file', file, '--severity', 'Minor'], 2, /--file .*big\.txt is larger than 1 MiB/)
  })

  it('unknown severity, urgency, certainty and category, listing the valid values', () => {
    refused(['draft', 'Text.', '--severity', 'Catastrophic'], 2, /--severity "Catastrophic" is not valid — use one of Extreme, Severe, Moderate, Minor, Unknown$/)
    refused(['draft', 'Text.', '--severity', 'Minor', '--urgency', 'ASAP'], 2, /--urgency "ASAP" is not valid — use one of Immediate, Expected, Future, Past, Unknown$/)
    refused(['draft', 'Text.', '--severity', 'Minor', '--certainty', 'Definite'], 2, /--certainty "Definite" is not valid — use one of Observed, Likely, Possible, Unlikely, Unknown$/)
    refused(['draft', 'Text.', '--severity', 'Minor', '--category', 'Traffic'], 2, /--category "Traffic" is not valid — use one of Geo, Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other$/)
    // a missing --severity says which values it takes
    refused(['draft', 'Text.'], 2, /--severity is required — one of Extreme, Severe, Moderate, Minor, Unknown/)
  })

  it('unknown enumeration values in edit change nothing', () => {
    const before = jsonOf(ok(home.run(['show', existing.id, '--json'])))
    refused(['edit', existing.id, '--severity', 'Huge'], 2, /--severity "Huge" is not valid — use one of Extreme, Severe/)
    refused(['edit', existing.id, '--headline', 'Changed', '--category', 'Roads'], 2, /--category "Roads" is not valid — use one of Geo/)
    expect(jsonOf(ok(home.run(['show', existing.id, '--json'])))).toEqual(before)
  })

  it('an unknown channel, listing the configured ones', () => {
    refused(['draft', 'Text.', '--severity', 'Minor', '--channel', 'twitter'], 2, /channel "twitter" is not configured — configured: website \(see crier channels list\)/)
    refused(['draft', 'Text.', '--severity', 'Minor', '--channel', 'website,twitter'], 2, /channel "twitter" is not configured — configured: website/)
    refused(['edit', existing.id, '--channel', 'sms'], 2, /channel "sms" is not configured — configured: website/)
    // a script's empty "$CHANNELS" is refused, not taken as the default channels
    refused(['edit', existing.id, '--channel', ''], 2, /--channel names nothing — give the channels it goes to/)
    refused(['edit', existing.id, '--channel', ' , '], 2, /--channel names nothing/)
    refused(['draft', 'Text.', '--severity', 'Minor', '--channel', ''], 2, /--channel names nothing/)
  })

  it('an unknown id, in every command that takes one', () => {
    for (const command of [['show'], ['preview'], ['approve'], ['edit', '--headline', 'x'], ['reject', '--reason', 'x']]) {
      const [name, ...rest] = command
      refused([name!, '7ZZZZZZZZZZZ', ...rest], 2, /no announcement with id 7ZZZZZZZZZZZ — see crier list/)
    }
    refused(['show', 'not-an-id'], 2, /"not-an-id" is not a\w* announcement id — ids are letters and digits/)
  })

  it('an ambiguous id', () => {
    // two rows sharing a prefix, inserted directly (the CLI cannot make ids on demand)
    const db = home.db()
    try {
      const row = db.prepare('SELECT * FROM announcement WHERE id = ?').get(existing.id) as Record<string, unknown>
      for (const id of ['7YYYAAAA000000000000000001', '7YYYAAAA000000000000000002']) {
        const copy = {...row, id, identifier: `crier-${id}`}
        const columns = Object.keys(copy)
        db.prepare(`INSERT INTO announcement (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`).run(copy)
      }
    } finally {
      db.close()
    }
    facts = storeFacts(home)
    for (const command of [['show'], ['preview'], ['approve'], ['edit', '--headline', 'x'], ['reject', '--reason', 'x']]) {
      const [name, ...rest] = command
      refused([name!, '7YYYAAAA', ...rest], 2, /id 7YYYAAAA is ambiguous \(7YYYAAAA0000, 7YYYAAAA0000\) — type more characters/)
    }
  })

  it('an expiry in the past', () => {
    refused(['draft', 'Text.', '--severity', 'Minor', '--expires', '2020-01-01T00:00:00Z'], 2, /--expires 2020-01-01T00:00:00\.000Z is in the past — give a later time/)
    refused(['draft', 'Text.', '--severity', 'Minor', '--expires', '2001-09-09'], 2, /is in the past/)
    refused(['edit', existing.id, '--expires', '2020-01-01T00:00:00Z'], 2, /is in the past/)
  })

  it('an unparseable expiry', () => {
    for (const expires of ['tomorrow-ish', '6 hours', '-6h', '+6y', '2026-02-30T25:00Z', '31/12/2099']) {
      refused(['draft', 'Text.', '--severity', 'Minor', '--expires', expires], 2, /--expires ".*" is not a time — use ISO 8601 \(2026-11-25T18:00Z\) or a relative time \(\+6h, \+2d\)/)
    }
    refused(['edit', existing.id, '--expires', 'soon'], 2, /--expires "soon" is not a time/)
  })

  it('other bad values: a web link that is not http(s), a missing --file, text twice', () => {
    refused(['draft', 'Text.', '--severity', 'Minor', '--web', 'javascript:alert(1)'], 2, /--web "javascript:alert\(1\)" is not an http\(s\) address/)
    refused(['draft', '--file', join(home.home, 'no-such-file.txt'), '--severity', 'Minor'], 2, /cannot read --file .*no-such-file\.txt \(ENOENT\) — check the path/)
    const file = join(home.home, 'text.txt')
    writeFileSync(file, 'From a file.')
    refused(['draft', 'From an argument.', '--file', file, '--severity', 'Minor'], 2, /give the text as an argument or with --file, not both/)
    // Mistakes, not faults in crier: exit 2 and what to do, never "unexpected … report it".
    refused(['draft', '--file', home.home, '--severity', 'Minor'], 2, /^Error: --file .* is a directory — give the file with the text$/)
    refused(['audit', 'export', '--output', home.home], 2, /^Error: --output .* is a directory — give a file name in it, e\.g\. .*\/audit\.jsonl$/)
    refused(['list', '--limit', '99999999999999999999'], 2, /^Error: --limit: expected an integer less than or equal to 1000000000/)
    refused(['audit', '--limit', '99999999999999999999'], 2, /^Error: --limit: expected an integer less than or equal to 1000000000/)
  })

  it('the same refusals with --json: still nothing on stdout', () => {
    refused(['draft', '', '--severity', 'Minor', '--json'], 2, /the text is empty/)
    refused(['draft', 'Text.', '--severity', 'Nope', '--json'], 2, /--severity "Nope" is not valid/)
    refused(['show', '7ZZZZZZZZZZZ', '--json'], 2, /no announcement with id/)
  })

  it('a stack trace only with CRIER_DEBUG=1', () => {
    const result = home.run(['draft', 'Text.', '--severity', 'Nope'], {env: {CRIER_DEBUG: '1'}})
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.split('\n')[0]).toMatch(/^Error: --severity "Nope" is not valid/)
    expect(result.stderr).toMatch(/^ {4}at /m)
    expectUnchanged(home, facts)
  })
})

describe('bad configuration: exit 2, each problem one line naming the file and key', () => {
  const home = makeCrierHome()
  let facts: ReturnType<typeof storeFacts>

  beforeAll(() => {
    ok(home.run(['draft', 'Before the config broke.', '--severity', 'Minor']))
    facts = storeFacts(home)
  })
  afterAll(() => home.cleanup())

  /** Writes a config file beside CRIER_HOME's and runs with --config pointing at it. */
  function withConfig(name: string, yaml: string, args: string[], env?: NodeJS.ProcessEnv): CliResult {
    const file = join(home.home, name)
    writeFileSync(file, yaml)
    return home.run([...args, '--config', file], {env})
  }

  it('malformed YAML', () => {
    for (const args of [['channels', 'list'], ['draft', 'Text.', '--severity', 'Minor'], ['channels', 'list', '--json']]) {
      const lines = errorLines(withConfig('broken.yaml', 'channels:\n  website: {type: feed, dir: [\n', args), 2)
      for (const line of lines) expect(line).toMatch(/^Error: broken\.yaml: line 3, column \d+: .* — fix the YAML$/)
      expectUnchanged(home, facts)
    }
    const tabs = errorLines(withConfig('tabs.yaml', 'channels:\n\twebsite: { type: feed }\n', ['channels', 'list']), 2)
    expect(tabs[0]).toMatch(/^Error: tabs\.yaml: /)
    expectUnchanged(home, facts)
  })

  it('an unknown config key, named', () => {
    refusedWith(withConfig('typo.yaml', 'sender: alerts@northwales.example\nsendr: oops\n', ['channels', 'list']), 2, /^Error: typo\.yaml: sendr: unknown key$/)
    refusedWith(withConfig('typo2.yaml', 'channels:\n  website: { type: feed, dir: ./public, colour: blue }\n', ['draft', 'Text.', '--severity', 'Minor']), 2, /^Error: typo2\.yaml: channels\.website\.colour: unknown key$/)
    expectUnchanged(home, facts)
  })

  it('an unknown config key in CRIER_HOME/config.yaml, found without --config', () => {
    home.writeConfig('polcy:\n  approvals: { default: 1 }\n')
    try {
      refusedWith(home.run(['draft', 'Text.', '--severity', 'Minor']), 2, /^Error: config\.yaml: polcy: unknown key$/)
      expectUnchanged(home, facts)
    } finally {
      home.writeConfig('{}\n')
    }
    ok(home.run(['list']))
  })

  it('a value of the wrong type, named with its key', () => {
    refusedWith(withConfig('types.yaml', 'channels:\n  website: { type: feed, dir: 5 }\n', ['channels', 'list']), 2, /^Error: types\.yaml: channels\.website\.dir: expected a string$/)
    expectUnchanged(home, facts)
  })

  it('several problems, one line each', () => {
    const lines = errorLines(withConfig('many.yaml', 'channels:\n  website: { type: feed, dir: 5 }\n  intranet: { type: feed, dir: ./x, colour: red }\n', ['channels', 'list']), 2)
    expect(lines).toContain('Error: many.yaml: channels.website.dir: expected a string')
    expect(lines).toContain('Error: many.yaml: channels.intranet.colour: unknown key')
    expectUnchanged(home, facts)
  })

  it('a missing config file named by --config or CRIER_CONFIG', () => {
    const missing = join(home.home, 'missing.yaml')
    refusedWith(home.run(['channels', 'list', '--config', missing]), 2, /config file .*missing\.yaml does not exist — check --config or CRIER_CONFIG/)
    refusedWith(home.run(['channels', 'list'], {env: {CRIER_CONFIG: missing}}), 2, /config file .*missing\.yaml does not exist/)
    // Commands that read only the store say so too, rather than quietly ignoring it.
    for (const command of [['list'], ['status'], ['audit']]) refusedWith(home.run([...command, '--config', missing]), 2, /config file .*missing\.yaml does not exist/)
    // A folder where CRIER_HOME's config.yaml would be, whichever command reads it (or not).
    const folderHome = makeCrierHome()
    try {
      mkdirSync(join(folderHome.home, 'config.yaml'))
      for (const command of [['list'], ['audit', 'verify'], ['status']]) refusedWith(folderHome.run(command), 2, /config\.yaml is a directory — give the config file/)
    } finally {
      folderHome.cleanup()
    }
    // A directory named as the config, by every kind of command.
    for (const command of [['list'], ['audit', 'verify'], ['subscribers', 'list'], ['channels', 'list']]) refusedWith(home.run([...command, '--config', home.home]), 2, /is a directory — give the config file \(--config DIR\/config\.yaml\)$/)
    expectUnchanged(home, facts)
  })

  it('a CRIER_HOME that is not there (mistyped, or not mounted): refused by what only reads or sends, never a new empty crier that exits 0', () => {
    const missing = join(home.home, 'typo', 'a')
    for (const command of [['run'], ['list'], ['status'], ['worker']]) {
      refusedWith(home.run(command, {env: {CRIER_HOME: missing}}), 2, /^Error: CRIER_HOME .*typo\/a does not exist — check it \(mistyped, or not mounted\?\); crier draft or crier broadcast starts a new crier there$/)
    }
    expect(existsSync(join(home.home, 'typo'))).toBe(false)
    // Saving something new starts a crier there, as on a fresh machine.
    const started = home.run(['draft', 'Road closed at Betws-y-Coed.', '--severity', 'Minor'], {env: {CRIER_HOME: missing}})
    expect(started.status, explain(started)).toBe(0)
    expect(existsSync(join(missing, 'crier.db'))).toBe(true)
    expectUnchanged(home, facts)
  })

  it('a config.yaml that links to a file no longer there: refused, never the embedded default in its place (which would send without the local policy)', () => {
    const linked = makeCrierHome()
    try {
      const kept = join(linked.home, 'etc')
      mkdirSync(kept)
      writeFileSync(join(kept, 'config.yaml'), `channels:\n  website: {type: feed, dir: ./public}\npolicy:\n  content: {bannedWords: [idiot]}\n`)
      symlinkSync(join(kept, 'config.yaml'), join(linked.home, 'config.yaml'))
      refusedWith(linked.run(['broadcast', '-', '--severity', 'Minor'], {input: 'Some idiot closed the road.'}), 3, /banned/)
      renameSync(kept, join(linked.home, 'etc.moved'))
      for (const command of [['broadcast', '-', '--severity', 'Minor'], ['list'], ['run']]) {
        refusedWith(linked.run(command, {input: 'Some idiot closed the road.'}), 2, /config\.yaml is a link to .*etc\/config\.yaml, which is not there — mount or restore it, or remove the link to use the embedded default$/)
      }
      expect(existsSync(join(linked.home, 'public'))).toBe(false)
    } finally {
      linked.cleanup()
    }
  })

  it('a ${ENV} secret whose variable is missing: sending on its channel is refused naming the variable and the key, never a value', () => {
    const yaml = [
      'channels:',
      '  website: { type: feed, dir: ./public }',
      '  partners: { type: webhook, url: "https://partners.example/hook?token=${PARTNERS_TOKEN}", secret: "${PARTNERS_HMAC}" }',
      '',
    ].join('\n')
    const env = {PARTNERS_TOKEN: 'tok-SHOULD-NOT-LEAK-4711'}
    // PARTNERS_TOKEN is set (a secret that must not leak into the error); PARTNERS_HMAC is not
    const file = join(home.home, 'secrets.yaml')
    writeFileSync(file, yaml)
    const send = (extra: NodeJS.ProcessEnv) => home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'website,partners', '--config', file], {input: 'Road closed.', env: {...env, ...extra}})
    const refusal = send({})
    expect(errorLines(refusal, 2)).toEqual(['Error: secrets.yaml: channels.partners.secret: environment variable PARTNERS_HMAC is not set — export it before running crier'])
    expect(refusal.stderr).not.toContain('tok-SHOULD-NOT-LEAK-4711')
    expectUnchanged(home, facts)
    // an empty variable is as good as missing
    const empty = send({PARTNERS_HMAC: ''})
    expect(errorLines(empty, 2)[0]).toContain('environment variable PARTNERS_HMAC is not set')
    expectUnchanged(home, facts)
    // A secret outside any channel is needed by every command that reads the config.
    const sender = withConfig('sender.yaml', 'sender: "${CRIER_SENDER_ADDRESS}"\nchannels:\n  website: { type: feed, dir: ./public }\n', ['draft', 'Text.', '--severity', 'Minor'])
    expect(errorLines(sender, 2)).toEqual(['Error: sender.yaml: sender: environment variable CRIER_SENDER_ADDRESS is not set — export it before running crier'])
    expectUnchanged(home, facts)
  })

  it('a ${ENV} secret this shell lacks does not stop what sends nothing on its channel: list, test, draft, preview, queue', () => {
    const h = makeCrierHome()
    try {
      h.writeConfig('channels:\n  website: { type: feed, dir: ./public }\n  partners: { type: webhook, url: "http://127.0.0.1:9/hook?token=${PARTNERS_TOKEN}", secret: "${PARTNERS_HMAC}" }\n')
      const env = {PARTNERS_TOKEN: 'tok-SHOULD-NOT-LEAK-4711'}
      const rows = (sql: string) => {
        const db = h.db()
        try {
          return db.prepare(sql).all()
        } finally {
          db.close()
        }
      }
      const lacks = 'partners cannot send from this shell: config.yaml: channels.partners.secret: environment variable PARTNERS_HMAC is not set'
      const listed = h.run(['channels', 'list', '--json'], {env})
      expect(listed.status, listed.stderr).toBe(0)
      expect(JSON.parse(listed.stdout).channels.map((c: any) => [c.name, c.cannotSendHere])).toEqual([
        ['website', null],
        ['partners', ['config.yaml: channels.partners.secret: environment variable PARTNERS_HMAC is not set — export it before running crier']],
      ])
      expect(h.run(['channels', 'list'], {env}).stderr).toContain(`Note: ${lacks}`)
      // channels test checks nothing with a stand-in for the secret: it says what is missing.
      const tested = h.run(['channels', 'test', 'partners'], {env})
      expect(tested.status).toBe(1)
      expect(tested.stdout).toMatch(/^partners\s+FAILED\s+not checked: this shell lacks its secret: config\.yaml: channels\.partners\.secret: environment variable PARTNERS_HMAC is not set$/m)
      const drafted = h.run(['draft', 'Road closed.', '--severity', 'Minor', '--channel', 'website,partners', '--json'], {env})
      expect(drafted.status, drafted.stderr).toBe(0)
      const id = JSON.parse(drafted.stdout).id as string
      const previewed = h.run(['preview', id], {env})
      expect(previewed.status, previewed.stderr).toBe(0)
      expect(previewed.stderr).toContain(`Note: ${lacks}`)
      expect(previewed.stderr).toContain('crier broadcast --no-wait queues it for one')
      // Sending from here is refused, and nothing is queued; --no-wait queues for a worker that has it.
      const refusedHere = h.run(['broadcast', id], {env})
      expect(refusedHere.status).toBe(2)
      expect(refusedHere.stderr).toContain('environment variable PARTNERS_HMAC is not set')
      expect(rows(`SELECT count(*) AS n FROM delivery`)).toEqual([{n: 0}])
      const queued = h.run(['broadcast', id, '--no-wait'], {env})
      expect(queued.status, queued.stderr).toBe(0)
      expect(queued.stderr).toContain(`Note: ${lacks}`)
      expect(rows(`SELECT channel, state FROM delivery ORDER BY channel`)).toEqual([
        {channel: 'partners', state: 'queued'},
        {channel: 'website', state: 'queued'},
      ])
      for (const args of [['show', id], ['status', id], ['status'], ['subscribers', 'optout', 'someone@example.org']]) {
        const result = h.run(args, {env})
        expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(0)
        // What is about one announcement says why its partners delivery waits.
        expect(result.stderr).toBe(args.length === 2 ? `Note: ${lacks} — a crier run or worker whose environment has it sends it\n` : '')
      }
      expect(h.run(['status', id, '--json']).stdout).toContain('"channel": "partners"')
      for (const output of [listed, tested, previewed, refusedHere, queued]) expect(output.stdout + output.stderr).not.toContain('tok-SHOULD-NOT-LEAK-4711')
    } finally {
      h.cleanup()
    }
  })

  it('a secret that makes its key invalid is not echoed in the error', () => {
    const result = withConfig('bad-secret.yaml', 'channels:\n  partners: { type: "${PARTNER_TYPE}", url: "https://partners.example/hook" }\n', ['channels', 'list'], {PARTNER_TYPE: 'secret-driver-value-9931'})
    const lines = errorLines(result, 2)
    expect(lines.some((line) => line.includes('channels.partners.type'))).toBe(true)
    expect(result.stderr).not.toContain('secret-driver-value-9931')
    expectUnchanged(home, facts)
  })
})

describe('runtime failures: exit 1', () => {
  it('CRIER_HOME that cannot be created (a path under a regular file)', () => {
    const home = makeCrierHome()
    try {
      const file = join(home.home, 'a-file')
      writeFileSync(file, 'not a folder\n')
      refusedWith(home.run(['draft', 'Text.', '--severity', 'Minor'], {env: {CRIER_HOME: join(file, 'crier')}}), 1, /cannot create .*a-file\/crier \(ENOTDIR\) — set CRIER_HOME to a writable directory/)
      // What only reads does not start a crier there: it says the home is not there.
      for (const args of [['list'], ['show', '01ABCDEF']]) refusedWith(home.run(args, {env: {CRIER_HOME: join(file, 'crier')}}), 2, /CRIER_HOME .*a-file\/crier does not exist/)
      // CRIER_HOME that is itself a regular file
      refusedWith(home.run(['list'], {env: {CRIER_HOME: file}}), 1, /a-file.* — set CRIER_HOME to a writable directory/)
      expect(readFileSync(file, 'utf8')).toBe('not a folder\n')
      expect(readdirSync(home.home)).toEqual(['a-file'])
    } finally {
      home.cleanup()
    }
  })

  it('CRIER_HOME where no folder can be made (under /proc): says so at once rather than hanging', () => {
    const home = makeCrierHome()
    try {
      refusedWith(home.run(['draft', 'Text.', '--severity', 'Minor'], {env: {CRIER_HOME: '/proc/crier-home'}}), 1, /^Error: cannot create \/proc\/crier-home \(ENOENT\) — set CRIER_HOME to a writable directory$/m)
    } finally {
      home.cleanup()
    }
  })

  it('a locked database: waits busy_timeout, then says another crier holds it', () => {
    const home = makeCrierHome()
    try {
      const first = jsonOf(ok(home.run(['draft', 'Locked test.', '--severity', 'Severe', '--json'])))
      const facts = storeFacts(home)
      const holder = home.db()
      try {
        holder.prepare('BEGIN EXCLUSIVE').run()
        const env = {CRIER_BUSY_TIMEOUT_MS: '300'}
        for (const [args, extra] of [
          [['draft', 'Second.', '--severity', 'Minor'], {}],
          [['approve', first.id], {CRIER_USER: 'sgt.jones'}],
          [['edit', first.id, '--headline', 'Changed while locked']],
          [['reject', first.id, '--reason', 'x']],
        ] as Array<[string[], NodeJS.ProcessEnv?]>) {
          // It says why it waits (after a quarter of it), then gives up after CRIER_BUSY_TIMEOUT_MS.
          const result = home.run(args, {env: {...env, ...extra}})
          expect(result.status, explain(result)).toBe(1)
          expect(result.stdout).toBe('')
          const lines = result.stderr.trimEnd().split('\n')
          expect(lines, explain(result)).toHaveLength(2)
          expect(lines[0]).toMatch(/^crier: waiting for another crier process to finish with .*crier\.db \(a subscriber import, or a big broadcast being queued or cancelled\?\), up to 300 ms…$/)
          expect(lines[1]).toMatch(/^Error: the database is locked: another crier process holds .*crier\.db — wait for it to finish, then try again \(CRIER_BUSY_TIMEOUT_MS=120000 waits two minutes\)$/)
        }
      } finally {
        holder.prepare('ROLLBACK').run()
        holder.close()
      }
      expectUnchanged(home, facts)
      // once the lock is gone, the same command works
      ok(home.run(['approve', first.id], {env: {CRIER_USER: 'sgt.jones'}}))
    } finally {
      home.cleanup()
    }
  })
})

describe('a database that is not crier\'s', () => {
  it('is refused by every command, and its bytes are unchanged: never taken over with crier\'s tables', () => {
    const home = makeCrierHome()
    try {
      const path = join(home.home, 'crier.db')
      const other = new Database(path)
      other.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (12.5)')
      other.close()
      const before = readFileSync(path)
      for (const args of [['list'], ['draft', 'New.', '--severity', 'Minor'], ['run']]) {
        refusedWith(home.run(args), 1, /crier\.db is a SQLite database, but not crier's \(tables invoices\) — move it aside, or set CRIER_HOME to crier's own folder; it was not touched$/)
        expect(readFileSync(path).equals(before), `crier ${args.join(' ')} changed the file`).toBe(true)
      }
    } finally {
      home.cleanup()
    }
  })
})

describe('a database from a newer crier', () => {
  it('is refused by every command, and its bytes are unchanged', () => {
    const home = makeCrierHome()
    try {
      ok(home.run(['draft', 'Written by this crier.', '--severity', 'Minor']))
      const db = home.db()
      db.pragma('user_version = 99')
      db.close()
      const path = join(home.home, 'crier.db')
      const before = readFileSync(path)
      const filesBefore = readdirSync(home.home).sort()

      for (const args of [['list'], ['list', '--json'], ['draft', 'New.', '--severity', 'Minor'], ['show', '01ABCDEF']]) {
        refusedWith(home.run(args), 1, /crier\.db was written by a newer crier \(schema 99, this one knows \d+\) — upgrade crier; the database was not touched/)
        expect(readFileSync(path).equals(before), `crier ${args.join(' ')} changed the file`).toBe(true)
        expect(readdirSync(home.home).sort()).toEqual(filesBefore)
      }

      const after = home.db()
      try {
        expect(after.pragma('user_version', {simple: true})).toBe(99)
      } finally {
        after.close()
      }
      expect(storeFacts(home)).toMatchObject({integrity: 'ok', announcements: 1})
    } finally {
      home.cleanup()
    }
  })
})

describe('secrets never appear in output', () => {
  const hmac = 'hmac-Zq8vT3-PARTNERS-do-not-print'
  const token = 'tok-77Yx-url-secret'
  const env = {PARTNERS_HMAC: hmac, PARTNERS_TOKEN: token}
  const home = makeCrierHome()
  let id: string

  beforeAll(() => {
    home.writeConfig(
      [
        'sender: alerts@northwales.example',
        'channels:',
        '  website:  { type: feed, dir: ./public, baseUrl: https://northwales.example/alerts }',
        '  partners: { type: webhook, url: "https://partners.example/hooks/alerts?token=${PARTNERS_TOKEN}", secret: "${PARTNERS_HMAC}" }',
        '',
      ].join('\n'),
    )
  })
  afterAll(() => home.cleanup())

  function expectNoSecret(result: CliResult): void {
    for (const secret of [hmac, token, encodeURIComponent(hmac)]) {
      expect(result.stdout, `stdout of a command contains a secret:\n${result.stdout}`).not.toContain(secret)
      expect(result.stderr, `stderr of a command contains a secret:\n${result.stderr}`).not.toContain(secret)
    }
  }

  it('in draft, list, show, preview, channels list, approve, edit, reject and broadcast --dry-run, text and --json', () => {
    const created = home.run(['draft', 'Partners and website.', '--severity', 'Severe', '--channel', 'website,partners', '--area', 'Conwy', '--expires', '+6h', '--json'], {env})
    ok(created)
    expectNoSecret(created)
    id = jsonOf(created).id

    const runs: Array<[string[], NodeJS.ProcessEnv?]> = [
      [['channels', 'list']],
      [['channels', 'list', '--json']],
      [['list']],
      [['list', '--json']],
      [['show', id]],
      [['show', id, '--json']],
      [['preview', id]],
      [['preview', id, '--json']],
      [['preview', id, '--channel', 'partners', '--json']],
      [['edit', id, '--headline', 'Partners and website, edited', '--json']],
      [['approve', id, '--json'], {CRIER_USER: 'sgt.jones'}],
      [['broadcast', id, '--dry-run', '--json']],
      [['broadcast', id, '--dry-run']],
      [['reject', id, '--reason', 'Checking secrets', '--json'], {CRIER_USER: 'sgt.jones'}],
    ]
    for (const [args, extra] of runs) {
      const result = home.run(args, {env: {...env, ...extra}})
      expect(result.status, `crier ${args.join(' ')}\n${explain(result)}`).toBe(0)
      expectNoSecret(result)
    }
  })

  it('the partners preview shows the endpoint without its token', () => {
    const preview = jsonOf(ok(home.run(['preview', id, '--channel', 'partners', '--json'], {env})))
    expect(preview.channels[0].parts[0].label).toMatch(/^POST https:\/\/partners\.example\/hooks\/alerts/)
  })

  it('in errors', () => {
    for (const args of [
      ['draft', 'x', '--severity', 'Minor', '--channel', 'nope'],
      ['preview', id, '--channel', 'nope'],
      ['show', '7ZZZZZZZZZZZ'],
      ['approve', id],
    ]) {
      const result = home.run(args, {env})
      expect(result.status).not.toBe(0)
      expectNoSecret(result)
    }
  })

  it('nor in the database', () => {
    for (const name of readdirSync(home.home).filter((file) => file.startsWith('crier.db'))) {
      const bytes = readFileSync(join(home.home, name))
      expect(bytes.includes(hmac), name).toBe(false)
      expect(bytes.includes(token), name).toBe(false)
    }
  })
})

describe('a command crier does not have', () => {
  it('a typo in a cron line exits 127 (as the README documents), names the word and points to crier help, with nothing written', () => {
    const home = makeCrierHome()
    try {
      const result = home.run(['brodcast', '01JD5X'])
      expect(result.status, explain(result)).toBe(127)
      expect(result.stdout).toBe('')
      expect(result.stderr).toBe('Error: brodcast is not a crier command — did you mean crier broadcast? crier help lists them\n')
      expect(readdirSync(home.home)).not.toContain('crier.db')
      for (const [typo, nearest] of [[['lsit'], 'list'], [['audit', 'verfy'], 'audit verify'], [['subscribers', 'lst', 'extra'], 'subscribers list']] as const) {
        const other = home.run([...typo])
        expect(other.status, explain(other)).toBe(127)
        expect(other.stderr).toBe(`Error: ${typo.slice(0, 2).join(' ')} is not a crier command — did you mean crier ${nearest}? crier help lists them\n`)
      }
      // From a script, the word may carry terminal controls: shown without them.
      const controlled = home.run(['lis\u001b]0;PWNED\u0007\u001b[31mRED\u202e'])
      expect(controlled.status, explain(controlled)).toBe(127)
      expect(controlled.stderr).toMatch(/^Error: lisRED is not a crier command — /)
      expect(controlled.stderr).not.toMatch(/[\u001b\u0007\u202e]/)
      // A flag before the command, as git -C is written: a usage error saying where it goes.
      const flagFirst = home.run(['--config', join(home.home, 'config.yaml'), 'list'])
      expect(flagFirst.status, explain(flagFirst)).toBe(2)
      expect(flagFirst.stderr).toBe('Error: --config goes after the command: crier list --config …, not before it — crier help lists the commands\n')
    } finally {
      home.cleanup()
    }
  })

  it.each([
    ['run 55s', 'run', '55s'],
    ['run 55s --max-time 50s', 'run', '55s'],
    ['worker extra', 'worker', 'extra'],
    ['list extra', 'list', 'extra'],
    ['report extra', 'report', 'extra'],
    ['audit verify extra', 'audit verify', 'extra'],
    ['channels list extra', 'channels list', 'extra'],
  ])('a stray argument to a command that takes none (crier %s) is exit 2, one line naming it, as after a flag', (line, command, stray) => {
    const home = makeCrierHome()
    try {
      const result = home.run(line.split(' '))
      expect(result.status, explain(result)).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr).toBe(`Error: Unexpected argument: ${stray} — see crier ${command} --help\n`)
    } finally {
      home.cleanup()
    }
  })
})
