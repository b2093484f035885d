import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ConfigError, loadConfig, type Config} from '../../src/config/load.js'
import {resolvePaths} from '../../src/config/paths.js'
import {UsageError} from '../../src/core/errors.js'
import {fillTemplate, fillTemplateAndTyped} from '../../src/core/templates.js'
import {tempDirsAfterEach} from '../helpers/closed-after-each.js'

// Templates: checked when the config loads, filled with --var at draft time.

// A test may load several configs: every home it made is removed after it.
const tempDir = tempDirsAfterEach()

function load(yaml: string): Config {
  const home = tempDir('crier-templates-')
  writeFileSync(join(home, 'config.yaml'), yaml)
  return loadConfig(resolvePaths({CRIER_HOME: home}))
}

const config = `channels:
  website: {type: feed, dir: ./public}
  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}
templates:
  road-closure:
    headline: "{road} closed {direction}"
    text: "The {road} is closed {direction} between {junctions}. Expect delays until {until}. Literal {{braces}} stay."
    instruction: Avoid the {road}.
    severity: Moderate
    urgency: Expected
    category: Transport
    event: Road closure
    area: "{area}"
    expires: +6h
    channels: [website]
  bins:
    text: Bins are collected on Tuesday this week.
    severity: Minor
`

function refusal(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as Error).message
  }
  throw new Error('accepted')
}

describe('templates', () => {
  it("fills every placeholder in every field, keeps {{ }} as braces, and gives the template's channels", () => {
    const filled = fillTemplate(load(config), 'road-closure', ['road=A55', 'direction=westbound', 'junctions=J11 and J12', 'until=18:00', 'area=Bangor, Gwynedd'])
    expect(filled).toEqual({
      headline: 'A55 closed westbound',
      text: 'The A55 is closed westbound between J11 and J12. Expect delays until 18:00. Literal {braces} stay.',
      instruction: 'Avoid the A55.',
      severity: 'Moderate',
      urgency: 'Expected',
      category: 'Transport',
      event: 'Road closure',
      area: 'Bangor, Gwynedd',
      expires: '+6h',
      channels: ['website'],
    })
    expect(fillTemplate(load(config), 'bins', [])).toEqual({text: 'Bins are collected on Tuesday this week.', severity: 'Minor'})
  })

  it('fills placeholders the officer types beside the template too, so a typed "{road} shut" is never published as typed', () => {
    const vars = ['road=A55', 'direction=westbound', 'junctions=J11 and J12', 'until=18:00', 'area=Bangor, Gwynedd']
    const {typed} = fillTemplateAndTyped(load(config), 'road-closure', vars, {headline: '{road} shut', text: 'Avoid the {road} today; {{braces}} stay.', severity: undefined})
    expect(typed).toEqual({headline: 'A55 shut', text: 'Avoid the A55 today; {braces} stay.', severity: undefined})
    // A --var used only in typed text is used.
    expect(fillTemplateAndTyped(load(config), 'bins', ['day=Friday'], {text: 'Bins on {day}.'}).typed).toEqual({text: 'Bins on Friday.'})
    // A typed placeholder nothing fills is refused, never published.
    expect(refusal(() => fillTemplateAndTyped(load(config), 'bins', [], {headline: '{road} shut'}))).toBe('{road} is typed with --template bins, which has no such placeholder and no --var gives it — give --var road=…, or write {{road}} for the braces')
  })

  it("asks no --var for a placeholder only in a field the officer typed over, and takes one given for it", () => {
    const c = load(config)
    // The template's text (with {junctions} and {until}) is replaced by the typed one.
    const {typed, template} = fillTemplateAndTyped(c, 'road-closure', ['road=A55', 'direction=westbound', 'area=Bangor'], {text: 'The {road} is shut.'})
    expect(typed).toEqual({text: 'The A55 is shut.'})
    expect(template.headline).toBe('A55 closed westbound')
    expect(fillTemplateAndTyped(c, 'road-closure', ['road=A55', 'direction=westbound', 'area=Bangor', 'until=18:00'], {text: 'Shut.'}).typed).toEqual({text: 'Shut.'})
    // Still needed where the template's own field is published.
    expect(refusal(() => fillTemplateAndTyped(c, 'road-closure', ['road=A55', 'area=Bangor'], {text: 'Shut.'}))).toBe('template road-closure needs --var direction=…')
  })

  it('refuses a missing placeholder, an unused or repeated --var, and an unknown template — naming what to do', () => {
    const c = load(config)
    expect(refusal(() => fillTemplate(c, 'road-closure', ['road=A55']))).toBe('template road-closure needs --var direction=…, --var junctions=…, --var until=…, --var area=…')
    expect(refusal(() => fillTemplate(c, 'bins', ['day=Tuesday']))).toBe('--var day: template bins has no {day} — its placeholders: none')
    expect(refusal(() => fillTemplate(c, 'road-closure', ['road=A55', 'road=A5']))).toBe('--var road is given twice — give it once')
    expect(refusal(() => fillTemplate(c, 'road-closure', ['road']))).toBe('--var "road" is not NAME=VALUE — e.g. --var road=A55')
    expect(refusal(() => fillTemplate(c, 'flood', []))).toBe('no template "flood" — configured: road-closure, bins')
  })

  it('refuses at load a template with a word CAP does not know, an unknown field or a channel that is not configured', () => {
    let error: unknown
    try {
      load(`channels:\n  website: {type: feed, dir: ./public}\ntemplates:\n  t1: {severity: Severeish, channels: [website, sms]}\n  t2: {txt: hello}\n`)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems.join('\n')
    expect(problems).toContain('templates.t1.severity: "Severeish" is not a severity — expected one of')
    expect(problems).toContain('templates.t1.channels.1: no channel "sms" is configured — expected one of website')
    expect(problems).toContain("templates.t2.txt: unknown key")
  })

  it('carries a drill status (Exercise, Test), and refuses one not for the public', () => {
    const drill = load(`channels:\n  website: {type: feed, dir: ./public}\ntemplates:\n  drill: {text: This is an exercise., severity: Minor, status: Exercise}\n`)
    expect(fillTemplate(drill, 'drill', [])).toEqual({text: 'This is an exercise.', severity: 'Minor', status: 'Exercise'})
    let error: unknown
    try {
      load(`channels:\n  website: {type: feed, dir: ./public}\ntemplates:\n  sys: {text: x, status: System}\n`)
    } catch (caught) {
      error = caught
    }
    expect((error as ConfigError).problems.join('\n')).toContain('templates.sys.status: "System" is not a status for the public — expected one of Actual, Exercise, Test')
  })
})
