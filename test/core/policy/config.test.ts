import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ConfigError, loadConfig, type Config} from '../../../src/config/load.js'
import {resolvePaths} from '../../../src/config/paths.js'
import {ExitCode} from '../../../src/core/errors.js'

// The policy block of config.yaml: what it accepts, its defaults, and policy that contradicts
// itself, refused at load as one line per key (exit 2).

let home: string
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'crier-policy-config-'))
})
afterEach(() => rmSync(home, {recursive: true, force: true}))

const channels = 'channels:\n  website: { type: feed, dir: ./public }\n  residents-sms: { type: sms, accountSid: AC1, authToken: t, from: "+447700900999", audience: residents }\n'

function load(yaml: string): Config {
  writeFileSync(join(home, 'config.yaml'), channels + yaml)
  return loadConfig(resolvePaths({CRIER_HOME: home}), {})
}

function problemsOf(yaml: string): string[] {
  try {
    load(yaml)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).exitCode).toBe(ExitCode.usage)
    return (error as ConfigError).problems
  }
  throw new Error('the config loaded, but it should have been refused')
}

describe('policy config', () => {
  it('has defaults for every content rule when policy is left out', () => {
    const {content, quietHours} = load('').policy
    expect(content).toEqual({
      requireFields: [],
      bannedWords: [],
      warnWords: [],
      personalData: 'warn',
      personalDataDetectors: {},
      allowedNumbers: [],
      allowedEmails: [],
      maxExpiryDays: 7,
    })
    expect(quietHours).toBeUndefined()
  })

  it('reads every option', () => {
    const {policy} = load(`policy:
  approvals: { default: 1, bySeverity: { Extreme: 2, Severe: 2, Minor: 0 }, authorMayApprove: false }
  emergencyOverride: { allowed: true, reasonRequired: true }
  content:
    requireFields: [headline, area, expires]
    bannedWords: [idiot, "bloody hell"]
    warnWords: [allegedly]
    personalData: block
    personalDataDetectors: { vehicleRegistration: warn, email: off }
    allowedNumbers: ["101", "0300 123 4567"]
    allowedEmails: [alerts@northwales.example, "@northwales.example"]
    maxExpiryDays: 14
  quietHours: { from: "22:00", to: "07:00", except: [Extreme, Severe], level: warn, channels: [residents-sms] }
`)
    expect(policy.approvals).toEqual({default: 1, bySeverity: {Extreme: 2, Severe: 2, Minor: 0}, authorMayApprove: false})
    expect(policy.emergencyOverride).toEqual({allowed: true, reasonRequired: true})
    expect(policy.content).toMatchObject({bannedWords: ['idiot', 'bloody hell'], warnWords: ['allegedly'], personalData: 'block', personalDataDetectors: {vehicleRegistration: 'warn', email: 'off'}, allowedNumbers: ['101', '0300 123 4567'], maxExpiryDays: 14})
    expect(policy.quietHours).toEqual({from: '22:00', to: '07:00', except: ['Extreme', 'Severe'], level: 'warn', channels: ['residents-sms']})
  })

  it('quiet hours block unless told to warn', () => {
    expect(load('policy:\n  quietHours: { from: "22:00", to: "07:00" }\n').policy.quietHours).toEqual({from: '22:00', to: '07:00', except: [], level: 'block'})
  })

  const refused: Array<[string, string, RegExp]> = [
    ['a negative default approval count', 'policy:\n  approvals: { default: -1 }\n', /^config\.yaml: policy\.approvals\.default: must be 0 or more/],
    ['a negative approval count for a severity', 'policy:\n  approvals: { bySeverity: { Severe: -2 } }\n', /^config\.yaml: policy\.approvals\.bySeverity\.Severe: must be 0 or more/],
    ['a fractional approval count', 'policy:\n  approvals: { default: 1.5 }\n', /^config\.yaml: policy\.approvals\.default: expected a whole number of approvals$/],
    ['an unknown severity in bySeverity', 'policy:\n  approvals: { bySeverity: { Critical: 2 } }\n', /^config\.yaml: policy\.approvals\.bySeverity\.Critical: "Critical" is not a severity — expected one of Extreme, Severe, Moderate, Minor, Unknown$/],
    ['an unknown severity in except', 'policy:\n  quietHours: { from: "22:00", to: "07:00", except: [Extreme, severe] }\n', /^config\.yaml: policy\.quietHours\.except\.1: "severe" is not a severity — expected one of Extreme, Severe/],
    ['quiet hours at 25:00', 'policy:\n  quietHours: { from: "25:00", to: "07:00" }\n', /^config\.yaml: policy\.quietHours\.from: 25:00 is not a time of day — expected HH:MM from 00:00 to 23:59$/],
    ['quiet hours at 07:60', 'policy:\n  quietHours: { from: "22:00", to: "07:60" }\n', /^config\.yaml: policy\.quietHours\.to: 07:60 is not a time of day/],
    ['quiet hours written 10pm', 'policy:\n  quietHours: { from: "10pm", to: "07:00" }\n', /^config\.yaml: policy\.quietHours\.from: expected HH:MM$/],
    ['quiet hours that start and end together', 'policy:\n  quietHours: { from: "22:00", to: "22:00" }\n', /^config\.yaml: policy\.quietHours\.to: is the same as from \(22:00\) — quiet hours need a start and a different end$/],
    ['quiet hours without an end', 'policy:\n  quietHours: { from: "22:00" }\n', /^config\.yaml: policy\.quietHours\.to: expected a string$/],
    ['quiet hours for a channel that does not exist', 'policy:\n  quietHours: { from: "22:00", to: "07:00", channels: [sms] }\n', /^config\.yaml: policy\.quietHours\.channels\.0: no channel "sms" is configured — expected one of website, residents-sms$/],
    ['quiet hours with an unknown level', 'policy:\n  quietHours: { from: "22:00", to: "07:00", level: loud }\n', /^config\.yaml: policy\.quietHours\.level: expected one of block, warn$/],
    ['an empty banned word', 'policy:\n  content: { bannedWords: [idiot, ""] }\n', /^config\.yaml: policy\.content\.bannedWords\.1: must contain a letter or digit — remove the empty entry$/],
    ['a banned word of spaces', 'policy:\n  content: { bannedWords: ["   "] }\n', /^config\.yaml: policy\.content\.bannedWords\.0: must contain a letter or digit/],
    ['a word both banned and warned', 'policy:\n  content: { bannedWords: [Idiot], warnWords: [idiot] }\n', /^config\.yaml: policy\.content\.warnWords\.0: "idiot" is also in bannedWords — keep it in one list$/],
    ['an unknown required field', 'policy:\n  content: { requireFields: [headline, summary] }\n', /^config\.yaml: policy\.content\.requireFields\.1: expected one of headline, area, expires, instruction, web, event$/],
    ['an unknown personal-data level', 'policy:\n  content: { personalData: maybe }\n', /^config\.yaml: policy\.content\.personalData: expected one of block, warn, off$/],
    ['an unknown personal-data detector', 'policy:\n  content: { personalDataDetectors: { passport: block } }\n', /^config\.yaml: policy\.content\.personalDataDetectors\.passport: /],
    ['an allowed number written bare (YAML drops its leading zero)', 'policy:\n  content: { allowedNumbers: [0300123456] }\n', /^config\.yaml: policy\.content\.allowedNumbers\.0: write the number in quotes/],
    ['an allowed number that is not one', 'policy:\n  content: { allowedNumbers: ["call us"] }\n', /^config\.yaml: policy\.content\.allowedNumbers\.0: "call us" is not a phone number/],
    ['an allowed e-mail that is not one', 'policy:\n  content: { allowedEmails: [northwales.example] }\n', /^config\.yaml: policy\.content\.allowedEmails\.0: expected an e-mail address/],
    ['a maximum expiry of 0 days', 'policy:\n  content: { maxExpiryDays: 0 }\n', /^config\.yaml: policy\.content\.maxExpiryDays: must be more than 0$/],
    ['an unknown content key', 'policy:\n  content: { bannedWord: [idiot] }\n', /^config\.yaml: policy\.content\.bannedWord: unknown key$/],
  ]
  for (const [what, yaml, line] of refused) {
    it(`refuses ${what}: one line naming the key`, () => {
      const problems = problemsOf(yaml)
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(line)
      expect(problems[0]).not.toContain('\n')
    })
  }

  it('reports every policy problem at once', () => {
    const problems = problemsOf('policy:\n  approvals: { default: -1, bySeverity: { Apocalyptic: 3 } }\n  quietHours: { from: "25:00", to: "07:00", except: [Bad] }\n')
    expect(problems).toHaveLength(4)
    expect(problems.map((problem) => problem.split(':').slice(0, 2).join(':'))).toEqual(
      expect.arrayContaining(['config.yaml: policy.approvals.default', 'config.yaml: policy.approvals.bySeverity.Apocalyptic', 'config.yaml: policy.quietHours.from', 'config.yaml: policy.quietHours.except.0']),
    )
  })
})
