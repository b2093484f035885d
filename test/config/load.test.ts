import {mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ConfigError, channelLimits, loadConfig} from '../../src/config/load.js'
import {missingSecretsOf, requireSecretsFor} from '../../src/config/missing-secrets.js'
import {resolvePaths, type CrierPaths} from '../../src/config/paths.js'
import {redact} from '../../src/config/secrets.js'
import {CrierError, ExitCode, UsageError} from '../../src/core/errors.js'

let root: string
let home: string

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'crier-config-'))
  home = join(root, 'home')
  mkdirSync(home)
})

afterEach(() => {
  rmSync(root, {recursive: true, force: true})
})

/** Writes a config file into `folder` (default: CRIER_HOME) and returns the paths that read it. */
function withConfig(yaml: string, folder = home, explicit = false): CrierPaths {
  mkdirSync(folder, {recursive: true})
  const file = join(folder, 'config.yaml')
  writeFileSync(file, yaml)
  return explicit ? resolvePaths({CRIER_HOME: home}, file) : resolvePaths({CRIER_HOME: home})
}

/** The problems a config is refused with; fails the test when it loads. */
function problemsOf(paths: CrierPaths, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig(paths, env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as CrierError).exitCode).toBe(ExitCode.usage)
    return (error as ConfigError).problems
  }
  throw new Error('the config loaded, but it should have been refused')
}

describe('loadConfig: the embedded default', () => {
  it('is used when CRIER_HOME has no config.yaml: one feed channel writing into CRIER_HOME/public', () => {
    const config = loadConfig(resolvePaths({CRIER_HOME: home}), {})
    expect(config.source).toBe('embedded default')
    expect(Object.keys(config.channels)).toEqual(['website'])
    const website = config.channels.website!
    expect(website.type).toBe('feed')
    expect(website.name).toBe('website')
    expect(website.dir).toBe(join(home, 'public'))
    expect(website.maxAttempts).toBe(8)
    expect(website.timeout).toBe('10s')
    // sender user@host, with no character CAP forbids in sender
    expect(config.sender).toMatch(/^[^\s,<&]+@[^\s,<&]+$/)
    expect(config.languages.length).toBeGreaterThan(0)
  })

  it('has a policy: Minor, Moderate and Unknown need no approval; Severe and Extreme need one by someone other than the author', () => {
    const {policy} = loadConfig(resolvePaths({CRIER_HOME: home}), {})
    const required = (severity: 'Minor' | 'Moderate' | 'Unknown' | 'Severe' | 'Extreme') => policy.approvals.bySeverity[severity] ?? policy.approvals.default
    expect(required('Minor')).toBe(0)
    expect(required('Moderate')).toBe(0)
    expect(required('Unknown')).toBe(0)
    expect(required('Severe')).toBe(1)
    expect(required('Extreme')).toBe(1)
    expect(policy.approvals.authorMayApprove).toBe(false)
  })

  it('refuses an explicitly named config file that does not exist (exit 2), instead of falling back', () => {
    const missing = join(root, 'nowhere', 'crier.yaml')
    const paths = resolvePaths({CRIER_HOME: home}, missing)
    expect(paths.configExplicit).toBe(true)
    let caught: unknown
    try {
      loadConfig(paths, {})
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(UsageError)
    expect((caught as UsageError).exitCode).toBe(2)
    expect((caught as Error).message).toContain(missing)
  })

  it('refuses a config path that is a directory, saying so', () => {
    const folder = join(root, 'a-folder')
    mkdirSync(folder, {recursive: true})
    expect(() => loadConfig(resolvePaths({CRIER_HOME: home}, folder), {})).toThrow(`${folder} is a directory — give the config file (--config DIR/config.yaml)`)
  })

  it('refuses a sender CAP would not take (a space, a comma, < or &): it names every message, and <references> lists it comma-separated', () => {
    for (const sender of ['North Wales Police', 'alerts,police@example.org', 'a&b@example.org']) {
      expect(problemsOf(withConfig(`sender: "${sender}"\nchannels:\n  website: {type: feed, dir: ./public}\n`))).toEqual(['config.yaml: sender: a CAP sender has no spaces, commas, < or & (nor control characters) — e.g. alerts@northwales.example'])
    }
  })

  it('refuses two feed channels writing one folder: each would drop the other\'s entries from the feed', () => {
    const problems = problemsOf(withConfig('channels:\n  website: {type: feed, dir: ./public}\n  website-cy: {type: feed, dir: public/, language: cy-GB}\n  other: {type: feed, dir: ./other}\n'))
    expect(problems).toEqual([`config.yaml: channels.website-cy.dir: website writes its feeds in ${join(home, 'public')} too — give each feed channel its own dir`])
    // The same folder through a symlink is the same folder.
    mkdirSync(join(home, 'real'))
    symlinkSync(join(home, 'real'), join(home, 'link'))
    expect(problemsOf(withConfig('channels:\n  a: {type: feed, dir: real}\n  b: {type: feed, dir: link}\n'))).toEqual([`config.yaml: channels.b.dir: a writes its feeds in ${realpathSync(join(home, 'real'))} too — give each feed channel its own dir`])
  })

  it('refuses control characters in what is published as written: sender, senderName, a feed title', () => {
    const yaml = 'sender: "al\\x01erts@ex.org"\nsenderName: "Police \\e[31m"\nchannels:\n  website: {type: feed, dir: ./public, title: "Feed \\uFFFE"}\n'
    expect(problemsOf(withConfig(yaml))).toEqual([
      'config.yaml: sender: a CAP sender has no spaces, commas, < or & (nor control characters) — e.g. alerts@northwales.example',
      'config.yaml: senderName: no control characters (escape sequences, tabs, line breaks) or invisible ones (bidi overrides, zero-width) — it is published as written',
      'config.yaml: channels.website.title: no control characters (escape sequences, tabs, line breaks) or invisible ones (bidi overrides, zero-width) — it is published as written',
    ])
  })

  it('refuses an empty file, or one whose every line is a comment: that is not "no channels", and no file is the default', () => {
    for (const text of ['', '\n\n', '# channels:\n#   website: {type: feed, dir: ./public}\n']) {
      expect(problemsOf(withConfig(text))).toEqual(["config.yaml: the file is empty — write its settings (see the README's config example), or remove it to use the embedded default"])
    }
  })

  it('also refuses a missing file named by CRIER_CONFIG', () => {
    const missing = join(root, 'gone.yaml')
    const paths = resolvePaths({CRIER_HOME: home, CRIER_CONFIG: missing})
    expect(paths.configFile).toBe(missing)
    expect(() => loadConfig(paths, {})).toThrow(UsageError)
  })
})

describe('loadConfig: a config file', () => {
  it('loads a valid file with the values it gives', () => {
    const config = loadConfig(
      withConfig(`
sender: alerts@northwales.example
senderName: North Wales Police
timezone: Europe/London
languages: [en-GB, cy-GB]
channels:
  website: { type: feed, dir: /srv/alerts, baseUrl: https://northwales.example/alerts }
policy:
  approvals: { default: 0, bySeverity: { Extreme: 2, Severe: 2 }, authorMayApprove: false }
`),
      {},
    )
    expect(config.source).toBe(join(home, 'config.yaml'))
    expect(config.sender).toBe('alerts@northwales.example')
    expect(config.senderName).toBe('North Wales Police')
    expect(config.timezone).toBe('Europe/London')
    expect(config.languages).toEqual(['en-GB', 'cy-GB'])
    expect(config.channels.website!.dir).toBe('/srv/alerts')
    expect(config.channels.website!.baseUrl).toBe('https://northwales.example/alerts')
    expect(config.policy.approvals.bySeverity).toEqual({Extreme: 2, Severe: 2})
  })

  it("defaults each channel's common settings: maxAttempts 8, timeout 10s, retryBase 1s, retryCap 5m, allowTest false", () => {
    const config = loadConfig(withConfig('channels:\n  website: { type: feed, dir: /srv/alerts }\n  partners: { type: webhook, url: "https://partners.example/hook" }\n'), {})
    for (const channel of Object.values(config.channels)) {
      expect(channel.maxAttempts).toBe(8)
      expect(channel.timeout).toBe('10s')
      expect(channel.retryBase).toBe('1s')
      expect(channel.retryCap).toBe('5m')
      expect(channel.allowTest).toBe(false)
      expect(channelLimits(channel)).toMatchObject({timeoutMs: 10_000, retryBaseMs: 1000, retryCapMs: 300_000, maxAttempts: 8, concurrency: 8})
    }
  })

  it("reads a secret written bare inside a { } mapping, as DESIGN.md's example does", () => {
    const config = loadConfig(
      withConfig('channels:\n  partners: { type: webhook, url: https://partners.example/hooks/alerts, secret: ${PARTNERS_HMAC}, concurrency: 8 }\n  x: {type: webhook, url: "https://x.example/${PATH_PART}"}\n'),
      {PARTNERS_HMAC: 'hmac-secret-1', PATH_PART: 'hook'},
    )
    expect(config.channels.partners).toMatchObject({secret: 'hmac-secret-1', concurrency: 8})
    expect(config.channels.x).toMatchObject({url: 'https://x.example/hook'})
  })

  it('for delivery, sets a channel with wrong settings aside with its problem; any other problem still refuses the file', () => {
    const paths = withConfig('channels:\n  website: {type: feed, dir: ./public}\n  partners: {type: webhook, url: "ftp://x.example/"}\n  hook: {type: webhook, url: "https://h.example/", secret: "${HOOK_SECRET}"}\n')
    const config = loadConfig(paths, {}, {brokenChannelsAside: true})
    expect(Object.keys(config.channels)).toEqual(['website'])
    expect(config.brokenChannels).toEqual({
      partners: expect.stringMatching(/^config\.yaml: channels\.partners\.url: /),
      hook: 'config.yaml: channels.hook.secret: environment variable HOOK_SECRET is not set — export it before running crier',
    })
    expect(problemsOf(withConfig('timezone: Mars/Olympus\nchannels:\n  website: {type: feed, dir: ./public}\n'))).toEqual([expect.stringMatching(/^config\.yaml: timezone: /)])
    expect(() => loadConfig(withConfig('timezone: Mars/Olympus\nchannels:\n  website: {type: feed, dir: ./public}\n'), {}, {brokenChannelsAside: true})).toThrow(ConfigError)
  })

  it('for what sends nothing itself, keeps a channel whose only problem is a missing secret, marked; other problems still count', () => {
    const yaml = [
      'channels:',
      '  website: {type: feed, dir: ./public}',
      '  hook: {type: webhook, url: "https://h.example/?t=${HOOK_TOKEN}", secret: "${HOOK_SECRET}"}',
      '  broken: {type: webhook, url: "ftp://x.example/", secret: "${BROKEN_SECRET}"}',
      '',
    ].join('\n')
    const config = loadConfig(withConfig(yaml), {}, {missingSecretsAside: true, brokenChannelsAside: true})
    expect(Object.keys(config.channels)).toEqual(['website', 'hook'])
    expect(config.missingSecrets).toEqual({
      hook: [
        'config.yaml: channels.hook.url: environment variable HOOK_TOKEN is not set — export it before running crier',
        'config.yaml: channels.hook.secret: environment variable HOOK_SECRET is not set — export it before running crier',
      ],
    })
    expect(Object.keys(config.brokenChannels ?? {})).toEqual(['broken'])
    expect(() => requireSecretsFor(config, ['website'])).not.toThrow()
    expect(() => requireSecretsFor(config, ['website', 'hook'])).toThrow(/channels\.hook\.url: environment variable HOOK_TOKEN is not set[^]*channels\.hook\.secret: environment variable HOOK_SECRET/)
    expect(missingSecretsOf(config, 'hook')).toBe('config.yaml: channels.hook.url: environment variable HOOK_TOKEN is not set; config.yaml: channels.hook.secret: environment variable HOOK_SECRET is not set')
    // Without brokenChannelsAside the wrong URL refuses the file, as it would anyway.
    expect(() => loadConfig(withConfig(yaml), {}, {missingSecretsAside: true})).toThrow(/channels\.broken\.url: /)
    // Once the variables are there, nothing is marked.
    expect(loadConfig(withConfig(yaml.replace(/ {2}broken.*\n/, '')), {HOOK_TOKEN: 'tok-1234', HOOK_SECRET: 'sec-5678'}, {missingSecretsAside: true}).missingSecrets).toBeUndefined()
  })

  it('sets aside every social channel whose only problem is a missing secret, Telegram\'s token included', () => {
    const yaml = [
      'channels:',
      '  website: {type: feed, dir: ./public}',
      '  telegram: {type: telegram, botToken: "${TELEGRAM_BOT_TOKEN}", chatId: "@nwpolice"}',
      '  x: {type: x, apiKey: "${X_API_KEY}", apiSecret: "${X_API_SECRET}", accessToken: "${X_ACCESS_TOKEN}", accessSecret: "${X_ACCESS_SECRET}"}',
      '  mastodon: {type: mastodon, baseUrl: "https://mastodon.example", accessToken: "${MASTODON_TOKEN}"}',
      '  bluesky: {type: bluesky, handle: police.bsky.social, appPassword: "${BLUESKY_APP_PASSWORD}"}',
      '  facebook: {type: facebook, pageId: "1234567890", pageAccessToken: "${FACEBOOK_PAGE_TOKEN}"}',
      '',
    ].join('\n')
    const config = loadConfig(withConfig(yaml), {}, {missingSecretsAside: true})
    expect(Object.keys(config.channels)).toEqual(['website', 'telegram', 'x', 'mastodon', 'bluesky', 'facebook'])
    expect(Object.keys(config.missingSecrets ?? {})).toEqual(['telegram', 'x', 'mastodon', 'bluesky', 'facebook'])
    expect(config.missingSecrets?.telegram).toEqual(['config.yaml: channels.telegram.botToken: environment variable TELEGRAM_BOT_TOKEN is not set — export it before running crier'])
    // Given, a token is still checked for its shape.
    expect(problemsOf(withConfig(yaml), {TELEGRAM_BOT_TOKEN: 'not-a-token'})).toContainEqual(expect.stringMatching(/channels\.telegram\.botToken: expected a bot token/))
  })

  it('keeps common settings a channel gives', () => {
    const config = loadConfig(withConfig('channels:\n  partners: { type: webhook, url: "https://partners.example/hook", maxAttempts: 3, timeout: 2s, concurrency: 4, rate: 10/s, allowTest: true }\n'), {})
    const partners = config.channels.partners!
    expect(partners.maxAttempts).toBe(3)
    expect(partners.timeout).toBe('2s')
    expect(partners.allowTest).toBe(true)
    expect(channelLimits(partners)).toMatchObject({timeoutMs: 2000, concurrency: 4, ratePerSecond: 10, maxAttempts: 3})
  })

  it("resolves a relative feed dir against the config file's folder, not the working directory", () => {
    const elsewhere = join(root, 'etc', 'crier')
    const config = loadConfig(withConfig('channels:\n  website: { type: feed, dir: ./public/alerts }\n', elsewhere, true), {})
    expect(config.channels.website!.dir).toBe(join(elsewhere, 'public', 'alerts'))
  })

  it('resolves ${ENV} from the environment, in whole values and inside strings', () => {
    const config = loadConfig(
      withConfig('channels:\n  partners: { type: webhook, url: "https://partners.example/hook?team=${TEAM}", secret: "${PARTNERS_HMAC}" }\n'),
      {PARTNERS_HMAC: 'hmac-from-env-8f3a', TEAM: 'north'},
    )
    expect(config.channels.partners!.secret).toBe('hmac-from-env-8f3a')
    expect(config.channels.partners!.url).toBe('https://partners.example/hook?team=north')
    // what was read from the environment is remembered as a secret, so output can be scrubbed of it
    expect(redact('the key is hmac-from-env-8f3a')).toBe('the key is ***')
  })

  it("refuses a secret that would move where a URL points (@, /, # in a password), never sending elsewhere; a percent-encoded one is fine", () => {
    const yaml = 'channels:\n  partners: { type: webhook, url: "https://alerts:${PARTNER_PASS}@partner.example/hooks/crier" }\n'
    for (const secret of ['pw@127.0.0.1:18102/evil#', 'p@ss#1word', 'a/b', 'Xk9@mail.secretpart/rest']) {
      const problems = problemsOf(withConfig(yaml), {PARTNER_PASS: secret})
      expect(problems[0]).toMatch(/^config\.yaml: channels\.partners\.url: environment variable PARTNER_PASS holds @, \/, \?, # or : and would send (somewhere other than|nowhere \(it breaks the URL\), not to) partner\.example — percent-encode them/)
      // Once, as the variable's problem: not again as a URL the channel cannot use.
      expect(problems, secret).toHaveLength(1)
      expect(problems.join('\n')).not.toContain(secret)
      // nor any piece of it: the host it would send to is made of the secret
      for (const piece of secret.split(/[@/?#:]/).filter((part) => part.length >= 4)) expect(problems.join('\n')).not.toContain(piece)
    }
    const config = loadConfig(resolvePaths({CRIER_HOME: home}), {PARTNER_PASS: 'p%40ss%231word'})
    expect(new URL(config.channels.partners!.url as string).host).toBe('partner.example')
  })

  it('says once that an SMTP password would move the server it is filled into', () => {
    const yaml = 'channels:\n  residents-email: { type: email, smtp: "smtp://alerts:${SMTP_PASSWORD}@127.0.0.1:2525", from: alerts@northwales.example, audience: residents }\n'
    const problems = problemsOf(withConfig(yaml), {SMTP_PASSWORD: 'Pa@ss#Word9'})
    expect(problems).toEqual([expect.stringMatching(/^config\.yaml: channels\.residents-email\.smtp: environment variable SMTP_PASSWORD holds @, \/, \?, # or : and would send .* 127\.0\.0\.1:2525 — percent-encode them/)])
  })

  it('refuses a missing ${ENV}, naming the variable and the key and never a value', () => {
    const problems = problemsOf(withConfig('channels:\n  partners: { type: webhook, url: "https://partners.example/hook", secret: "${PARTNERS_HMAC_MISSING}" }\n'), {
      OTHER: 'unrelated-value-77',
    })
    expect(problems).toEqual(['config.yaml: channels.partners.secret: environment variable PARTNERS_HMAC_MISSING is not set — export it before running crier'])
    expect(problems.join('\n')).not.toContain('unrelated-value-77')
  })

  it('treats an empty environment variable as missing', () => {
    const problems = problemsOf(withConfig('channels:\n  partners: { type: webhook, url: "https://partners.example/hook", secret: "${EMPTY_SECRET}" }\n'), {EMPTY_SECRET: ''})
    expect(problems.some((p) => p.includes('EMPTY_SECRET') && p.includes('channels.partners.secret'))).toBe(true)
  })

  it('reports malformed YAML naming the file, the line and the column (exit 2)', () => {
    const problems = problemsOf(withConfig('sender: a@example.org\nchannels:\n  website: {type: feed, dir: [\n'))
    expect(problems.length).toBeGreaterThan(0)
    for (const problem of problems) expect(problem).toMatch(/^config\.yaml: line \d+, column \d+: .* — fix the YAML$/)
    expect(problemsOf(withConfig('sender: a@example.org\n\tbad: tab\n'))[0]).toMatch(/^config\.yaml: line 2, column \d+: /)
  })

  it('a secret written in place that starts with * (a YAML alias) is refused without repeating it', () => {
    const problems = problemsOf(withConfig('channels:\n  partners: { type: webhook, url: "https://partners.example/hook", secret: *Pa55w0rd }\n'))
    expect(problems).toEqual([`config.yaml: a value starting with * reads as a YAML alias that is not defined — put it in quotes ('*…') — fix the YAML`])
  })

  it('refuses duplicate keys', () => {
    const problems = problemsOf(withConfig('sender: a@example.org\nsender: b@example.org\n'))
    expect(problems.length).toBeGreaterThan(0)
    expect(problems[0]).toMatch(/^config\.yaml: /)
  })

  const oneProblem: Array<[string, string, RegExp]> = [
    ['an unknown top-level key', 'sender: a@example.org\nsendr: typo\n', /^config\.yaml: sendr: unknown key$/],
    ['an unknown channel key', 'channels:\n  website: { type: feed, dir: /srv/a, colour: red }\n', /^config\.yaml: channels\.website\.colour: unknown key$/],
    ['an unknown policy key', 'policy:\n  approvals: { default: 0, sometimes: true }\n', /^config\.yaml: policy\.approvals\.sometimes: unknown key$/],
    ['a feed dir that is not a string', 'channels:\n  website: { type: feed, dir: 5 }\n', /^config\.yaml: channels\.website\.dir: expected a string$/],
    ['a feed without its dir', 'channels:\n  website: { type: feed }\n', /^config\.yaml: channels\.website\.dir: /],
    ['a channel without a type', 'channels:\n  website: { dir: /srv/a }\n', /^config\.yaml: channels\.website\.type: expected one of .*feed.*webhook/],
    ['an unknown driver type', 'channels:\n  website: { type: pigeon, dir: /srv/a }\n', /^config\.yaml: channels\.website\.type: unknown driver "pigeon" — expected one of .*feed/],
    ['a webhook url that is not http(s)', 'channels:\n  partners: { type: webhook, url: "ftp://x.example/" }\n', /^config\.yaml: channels\.partners\.url: /],
    ['a bad duration', 'channels:\n  website: { type: feed, dir: /srv/a, timeout: soon }\n', /^config\.yaml: channels\.website\.timeout: expected a duration/],
    ['a bad rate', 'channels:\n  website: { type: feed, dir: /srv/a, rate: fast }\n', /^config\.yaml: channels\.website\.rate: expected a rate/],
    ['a rate of nothing', 'channels:\n  website: { type: feed, dir: /srv/a, rate: 0/s }\n', /^config\.yaml: channels\.website\.rate: a rate of 0 would send nothing — remove rate for no limit/],
    ['a timeout no provider could meet', 'channels:\n  website: { type: feed, dir: /srv/a, timeout: 0s }\n', /^config\.yaml: channels\.website\.timeout: expected at least 100ms/],
    ['a grace that would miss occurrences fired on time', 'scheduling: { grace: 1s }\n', /^config\.yaml: scheduling\.grace: expected at least 2m — crier run from cron each minute fires an occurrence up to a minute after it is due/],
    ['maxAttempts that is not a number', 'channels:\n  website: { type: feed, dir: /srv/a, maxAttempts: many }\n', /^config\.yaml: channels\.website\.maxAttempts: expected a number$/],
    ['an unknown time zone', 'timezone: Mars/Olympus\n', /^config\.yaml: timezone: expected an IANA time zone/],
    ['an unknown severity in policy', 'policy:\n  approvals: { bySeverity: { Apocalyptic: 3 } }\n', /^config\.yaml: policy\.approvals\.bySeverity/],
    ['a required field crier does not know', 'policy:\n  content: { requireFields: [headline, mood] }\n', /^config\.yaml: policy\.content\.requireFields\.1: expected one of headline, area, expires/],
    ['channels that are not a mapping', 'channels: [website]\n', /^config\.yaml: channels: expected /],
    ['quiet hours that are not HH:MM', 'policy:\n  quietHours: { from: "10pm", to: "07:00" }\n', /^config\.yaml: policy\.quietHours\.from: expected HH:MM$/],
  ]
  for (const [what, yaml, line] of oneProblem) {
    it(`refuses ${what}: one line naming the file and the key`, () => {
      const problems = problemsOf(withConfig(yaml))
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(line)
      expect(problems[0]).not.toContain('\n')
    })
  }

  it('reports several top-level problems together, one line each', () => {
    const problems = problemsOf(withConfig('sendr: typo\ntimezone: Mars/Olympus\nlanguages: english\n'))
    expect(problems).toHaveLength(3)
    expect(problems.some((p) => /^config\.yaml: sendr: unknown key$/.test(p))).toBe(true)
    expect(problems.some((p) => /^config\.yaml: timezone: /.test(p))).toBe(true)
    expect(problems.some((p) => /^config\.yaml: languages: expected a list$/.test(p))).toBe(true)
    // and the error message is those lines
    expect(() => loadConfig(withConfig('sendr: typo\ntimezone: Mars/Olympus\nlanguages: english\n'), {})).toThrow(problems.join('\n'))
  })

  it('reports the problems of several channels together, one line each', () => {
    const problems = problemsOf(
      withConfig(`
channels:
  website: { type: feed, dir: 5 }
  intranet: { type: feed, dir: /srv/b, colour: red }
  partners: { type: webhook, url: "https://p.example/h", secret: "\${NOT_SET_ANYWHERE}" }
  pigeons: { type: pigeon }
`),
    )
    expect(problems.some((p) => /^config\.yaml: channels\.website\.dir: expected a string$/.test(p))).toBe(true)
    expect(problems.some((p) => /^config\.yaml: channels\.intranet\.colour: unknown key$/.test(p))).toBe(true)
    expect(problems.some((p) => /^config\.yaml: channels\.partners\.secret: .*NOT_SET_ANYWHERE/.test(p))).toBe(true)
    expect(problems.some((p) => /^config\.yaml: channels\.pigeons\.type: unknown driver "pigeon"/.test(p))).toBe(true)
  })

  it('names the file it read in each problem, whatever it is called', () => {
    const file = join(root, 'north-wales.yaml')
    writeFileSync(file, 'bogus: 1\n')
    const problems = problemsOf(resolvePaths({CRIER_HOME: home}, file))
    expect(problems).toEqual(['north-wales.yaml: bogus: unknown key'])
  })

  it('does not repeat back the lines of a file that is not a crier config (a shadow or netrc given by mistake)', () => {
    const file = join(root, 'shadow')
    writeFileSync(file, 'root:*:20228:0:99999:7:::\ndaemon:$6$salt$hash:20228:0:99999:7:::\n')
    const problems = problemsOf(resolvePaths({CRIER_HOME: home}, file))
    expect(problems).toEqual(['shadow: this is not a crier config — it has none of sender, senderName, timezone, defaultRegion, languages, channels, policy, scheduling, templates at the top level; give the right file'])
    writeFileSync(file, 'channels: {}\nuser:hunter2:x: 1\n')
    expect(problemsOf(resolvePaths({CRIER_HOME: home}, file))).toEqual(['shadow: (top level): a line that is not a setting — is it the right file?'])
  })

  it('refuses a device or an oversized file as the config, before reading it', () => {
    expect(problemsOf(resolvePaths({CRIER_HOME: home}, '/dev/zero'))).toEqual(['/dev/zero is not a regular file — give the config file (--config DIR/config.yaml)'])
    const big = join(root, 'big.yaml')
    writeFileSync(big, `# ${'x'.repeat(2_000_000)}\n`)
    expect(problemsOf(resolvePaths({CRIER_HOME: home}, big))).toEqual([`${big} is 1.9 MB; a crier config is a few KB — is it the right file?`])
  })
})
