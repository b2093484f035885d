import {afterAll, describe, expect, it} from 'vitest'
import {jsonOf, makeCrierHome, storeFacts} from '../helpers/cli.js'
import {draft, exited, explain, ok, refused, show} from '../helpers/cli-assertions.js'

// The one policy check through the built CLI: preview, approve, schedule and broadcast report
// the same findings for the same announcement, and refuse on the same errors (exit 3). Build
// first: npx tsc -p tsconfig.build.json && node scripts/write-manifest.js

const channels = 'timezone: UTC\nchannels:\n  website: { type: feed, dir: ./public }\n'

describe('the same findings everywhere', () => {
  const home = makeCrierHome()
  home.writeConfig(`${channels}policy:
  approvals: { default: 0 }
  content: { warnWords: [allegedly], personalData: warn }
`)
  afterAll(() => home.cleanup())

  it('warnings: preview, broadcast --dry-run, approve and schedule give the same list and go ahead', () => {
    const headline = `${'Allegedly '.repeat(17)}closed`
    const created = draft(home, ['The road was allegedly blocked. Witnesses call 07911 123456.', '--headline', headline, '--severity', 'Minor', '--expires', '+12h'])
    const preview = jsonOf(ok(home.run(['preview', created.id, '--json']))).findings
    expect(preview.map((f: {level: string; rule: string}) => `${f.level} ${f.rule}`)).toEqual(['warning headline-length', 'warning banned-word', 'warning personal-data'])
    expect(preview[2].message).toBe('personal data: a phone number (+44 79** ***456) in the description (en) — check that it may be published')

    const dryRun = home.run(['broadcast', created.id, '--dry-run', '--json'])
    expect(dryRun.status, explain(dryRun)).toBe(0)
    expect(jsonOf(dryRun).findings).toEqual(preview)
    const dryRunText = ok(home.run(['broadcast', created.id, '--dry-run']))
    expect(dryRunText.stderr).toContain('Policy warning: personal data: a phone number (+44 79** ***456) in the description (en) — check that it may be published\n')
    expect(dryRunText.stderr).toContain('Policy warning: "allegedly" in the headline and description (en) is on policy.content.warnWords — check the wording\n')

    const approved = ok(home.run(['approve', created.id, '--json'], {env: {CRIER_USER: 'sgt.jones'}}))
    expect(jsonOf(approved).findings).toEqual(preview)

    const scheduled = ok(home.run(['schedule', created.id, '--at', 'in 2 hours', '--json']))
    expect(jsonOf(scheduled).findings).toEqual(preview)
    // no finding carries the number itself (the announcement's own text in --json does, of course)
    for (const output of [JSON.stringify(preview), dryRunText.stderr]) expect(output).not.toContain('123456')
  })

  it('an expiry far out is a warning in preview', () => {
    const created = draft(home, ['Library closed for refurbishment.', '--severity', 'Minor', '--expires', '+30d'])
    const findings = jsonOf(ok(home.run(['preview', created.id, '--json']))).findings
    expect(findings).toEqual([{level: 'warning', rule: 'expires-far', message: expect.stringMatching(/days after it goes out \(policy\.content\.maxExpiryDays is 7\) — check the date/)}])
    expect(ok(home.run(['preview', created.id])).stdout).toMatch(/^Policy warning: expires \d{4}-\d\d-\d\d \d\d:\d\d \S+, (29\.9|30) days after it goes out/m)
  })
})

describe('errors refuse everywhere (exit 3) and change nothing', () => {
  const home = makeCrierHome()
  home.writeConfig(`${channels}policy:
  approvals: { default: 0 }
  content: { bannedWords: [idiot], personalData: block, allowedNumbers: ["0300 123 4567"] }
`)
  afterAll(() => home.cleanup())

  it('a banned word and a phone number: preview shows the errors; approve, schedule and broadcast refuse', () => {
    const created = draft(home, ['Some IDIOT left a van on the A55. Call Dave on 07911 123456 or our line 0300 123 4567.', '--severity', 'Minor', '--expires', '+6h'])
    const findings = jsonOf(exited(home.run(['preview', created.id, '--json']), 3)).findings
    expect(findings).toEqual([
      {level: 'error', rule: 'banned-word', message: 'banned word "idiot" in the headline and description (en) — reword it (policy.content.bannedWords)'},
      {level: 'error', rule: 'personal-data', message: 'personal data: a phone number (+44 79** ***456) in the description (en) — remove it, or add it to policy.content.allowedNumbers if it is a public number'},
    ])
    const before = storeFacts(home)
    const both = /banned word "idiot" in the headline and description \(en\) — reword it \(policy\.content\.bannedWords\); personal data: a phone number \(\+44 79\*\* \*\*\*456\)/
    refused(home.run(['approve', created.id], {env: {CRIER_USER: 'sgt.jones'}}), 3, new RegExp(`^Error: cannot approve — ${both.source}`))
    refused(home.run(['schedule', created.id, '--at', 'in 2 hours']), 3, new RegExp(`^Error: refused by policy — ${both.source}`))
    refused(home.run(['broadcast', created.id]), 3, new RegExp(`^Error: refused by policy — ${both.source}`))
    refused(home.run(['broadcast', created.id, '--dry-run']), 3, /^Error: refused by policy — banned word/)
    expect(storeFacts(home)).toEqual(before)
    expect(show(home, created.id).state).toBe('draft')

    // fixed, it goes
    ok(home.run(['edit', created.id, '--text', 'A van is blocking the A55. Call our line 0300 123 4567.', '--headline', 'Van blocking the A55']))
    expect(jsonOf(ok(home.run(['preview', created.id, '--json']))).findings).toEqual([])
    ok(home.run(['broadcast', created.id]))
  })

  it('broadcast - refuses too, and saves nothing', () => {
    const before = storeFacts(home)
    const result = home.run(['broadcast', '-', '--severity', 'Minor', '--expires', '+6h'], {input: 'Email dave.witness@example.org with footage.'})
    expect(result.status, explain(result)).toBe(3)
    expect(result.stderr).toMatch(/^Error: refused by policy — personal data: an e-mail address \(d\*\*\*@example\.org\) in the headline and description \(en\)/)
    expect(result.stderr).not.toContain('dave.witness')
    expect(storeFacts(home)).toEqual(before)
  })
})

describe('quiet hours through the CLI', () => {
  // Quiet hours from the start of the previous hour to three hours after this one began (UTC),
  // wrapping midnight when the clock is near it: while the tests run (well under an hour),
  // "now" and "in 1 hour" are inside, "in 4 hours" is outside.
  const hour = new Date().getUTCHours()
  const at = (h: number) => `${String((h + 24) % 24).padStart(2, '0')}:00`
  const home = makeCrierHome()
  home.writeConfig(`${channels}policy:
  approvals: { default: 0 }
  quietHours: { from: "${at(hour - 1)}", to: "${at(hour + 3)}", except: [Extreme, Severe] }
`)
  afterAll(() => home.cleanup())

  it('a Minor announcement: shown in preview, approvable, refused now and at a quiet time, scheduled after', () => {
    const created = draft(home, ['The library is closed today.', '--severity', 'Minor', '--expires', '+12h'])
    const quiet = new RegExp(`Minor announcements may not go out in quiet hours ${at(hour - 1)}–${at(hour + 3)}, and this one would at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC — send it from ${at(hour + 3)}: crier schedule ${created.shortId} --at \\d{4}-\\d\\d-\\d\\dT${at(hour + 3)}`)
    const preview = jsonOf(exited(home.run(['preview', created.id, '--json']), 3)).findings
    expect(preview).toEqual([{level: 'error', rule: 'quiet-hours', message: expect.stringMatching(quiet)}])

    // approving is not sending: an officer may approve at night what goes in the morning
    const approved = ok(home.run(['approve', created.id], {env: {CRIER_USER: 'sgt.jones'}}))
    expect(approved.stdout).toMatch(new RegExp(`^Policy error if sent now: ${quiet.source}`, 'm'))
    expect(approved.stdout).toMatch(new RegExp(`Next: crier schedule ${created.shortId} --at … \\(after the quiet hours, as above\\)$`, 'm'))
    expect(show(home, created.id).state).toBe('approved')

    const before = storeFacts(home)
    refused(home.run(['broadcast', created.id]), 3, new RegExp(`^Error: refused by policy — ${quiet.source}`))
    refused(home.run(['schedule', created.id, '--at', 'in 1 hour']), 3, /^Error: refused by policy — Minor announcements may not go out in quiet hours/)
    expect(storeFacts(home)).toEqual(before)
    const scheduled = home.run(['schedule', created.id, '--at', 'in 4 hours'])
    expect(scheduled.status, explain(scheduled)).toBe(0)
    expect(scheduled.stderr).toBe('')
    expect(show(home, created.id).state).toBe('scheduled')
  })

  it('broadcast - refused in quiet hours says to draft it and schedule it, not to give a flag broadcast does not take', () => {
    const result = home.run(['broadcast', '-', '--severity', 'Minor', '--expires', '+12h'], {input: 'Bins are collected late tomorrow.'})
    refused(result, 3, new RegExp(`^Error: refused by policy — Minor announcements may not go out in quiet hours .+ — send it from ${at(hour + 3)}: crier schedule ID --at \\S+ — nothing was saved; create it with crier draft \\(the same text and flags\\), then schedule it so$`))
  })

  it('a severity in except goes out in quiet hours', () => {
    const created = draft(home, ['Evacuate the riverside now.', '--severity', 'Severe', '--expires', '+6h'])
    ok(home.run(['broadcast', created.id]))
    expect(show(home, created.id).state).toBe('sent')
  })
})

describe('policy config that contradicts itself', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a negative approval count', 'policy:\n  approvals: { default: -1 }\n', /^Error: config\.yaml: policy\.approvals\.default: must be 0 or more/],
    ['an unknown severity', 'policy:\n  approvals: { bySeverity: { Critical: 2 } }\n', /^Error: config\.yaml: policy\.approvals\.bySeverity\.Critical: "Critical" is not a severity — expected one of Extreme, Severe, Moderate, Minor, Unknown$/],
    ['quiet hours at 25:00', 'policy:\n  quietHours: { from: "25:00", to: "07:00" }\n', /^Error: config\.yaml: policy\.quietHours\.from: 25:00 is not a time of day — expected HH:MM from 00:00 to 23:59$/],
    ['quiet hours from == to', 'policy:\n  quietHours: { from: "07:00", to: "07:00" }\n', /^Error: config\.yaml: policy\.quietHours\.to: is the same as from \(07:00\)/],
    ['an empty banned word', 'policy:\n  content: { bannedWords: [""] }\n', /^Error: config\.yaml: policy\.content\.bannedWords\.0: must contain a letter or digit/],
  ]
  const home = makeCrierHome()
  afterAll(() => home.cleanup())
  for (const [what, policy, line] of cases) {
    it(`${what}: one line, exit 2, for any command that reads the config`, () => {
      home.writeConfig(channels + policy)
      refused(home.run(['draft', 'Road closed.', '--severity', 'Minor']), 2, line)
      refused(home.run(['preview', '01ABC']), 2, line)
    })
  }
})
