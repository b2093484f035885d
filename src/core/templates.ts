import type {Config} from '../config/load.js'
import type {Template} from '../config/schema.js'
import type {DraftInput} from './drafting.js'
import {UsageError} from './errors.js'

// Templates: announcements prepared in config for what happens again and again (a road
// closure, a boil-water notice), with {placeholders} the officer fills with --var NAME=VALUE.
// Every placeholder must be given and every --var used, so a typo cannot publish "{road}".
// {{ and }} stand for literal braces.

const placeholder = /\{\{|\}\}|\{([A-Za-z][\w-]*)\}/g

/** The template's fields as draft input, placeholders filled; the officer's own flags go over them. */
export function fillTemplate(config: Config, name: string, vars: string[]): Partial<DraftInput> & {text?: string} {
  return fillTemplateAndTyped(config, name, vars, {}).template
}

/** The named template, or exit 2 naming those configured. */
export function templateNamed(config: Config, name: string): Template {
  const template = config.templates?.[name]
  if (template) return template
  const known = Object.keys(config.templates ?? {})
  throw new UsageError(`no template "${name}" — ${known.length ? `configured: ${known.join(', ')}` : 'none are configured (templates: in config.yaml)'}`)
}

/**
 * The template's fields and the officer's typed ones, placeholders filled in both: with
 * --template, "{road} shut" typed as the headline means the road, as it would in the template —
 * never a published "{road}". Every placeholder of either must be given, every --var used.
 */
export function fillTemplateAndTyped<Typed extends Record<string, unknown>>(config: Config, name: string, vars: string[], typed: Typed): {template: Partial<DraftInput> & {text?: string}; typed: Typed} {
  const template = templateNamed(config, name)
  const values = parseVars(vars)
  // A template field the officer typed over is not published: its placeholders need no --var
  // (though one given for it is no typo).
  const kept = Object.fromEntries(Object.entries(template).filter(([field]) => typed[field] === undefined))
  const wanted = placeholdersOf(kept)
  const typedWanted = placeholdersOf(typed).filter((key) => !wanted.includes(key))
  const missing = wanted.filter((key) => !values.has(key))
  if (missing.length) throw new UsageError(`template ${name} needs ${missing.map((key) => `--var ${key}=…`).join(', ')}`)
  const unknown = typedWanted.find((key) => !values.has(key))
  if (unknown) throw new UsageError(`{${unknown}} is typed with --template ${name}, which has no such placeholder and no --var gives it — give --var ${unknown}=…, or write {{${unknown}}} for the braces`)
  const all = placeholdersOf(template)
  const unused = [...values.keys()].filter((key) => !all.includes(key) && !typedWanted.includes(key))
  if (unused.length) {
    throw new UsageError(`--var ${unused[0]}: template ${name} has no {${unused[0]}} — its placeholders: ${all.join(', ') || 'none'}`)
  }
  const fill = (text: string) => text.replace(placeholder, (whole, key: string | undefined) => (key === undefined ? whole[0]! : (values.get(key) ?? whole)))
  const {channels, ...fields} = template
  const filled: Partial<DraftInput> = {}
  for (const [field, value] of Object.entries(fields)) if (value !== undefined) (filled as Record<string, string>)[field] = fill(value)
  if (channels) filled.channels = channels
  const typedFilled = Object.fromEntries(Object.entries(typed).map(([field, value]) => [field, typeof value === 'string' ? fill(value) : value])) as Typed
  return {template: filled, typed: typedFilled}
}

/** What the officer typed over what the template gives: every field typed wins; the template's channels only when none were typed. */
export function overTemplate(template: Partial<DraftInput>, typed: Partial<DraftInput> & {channels: string[]}): Partial<DraftInput> & {channels: string[]} {
  const given = Object.fromEntries(Object.entries(typed).filter(([, value]) => value !== undefined))
  return {...template, ...given, channels: typed.channels.length ? typed.channels : (template.channels ?? [])}
}

const namesByConfig = new WeakMap<Config, Set<string>>()

/** The placeholder names of every configured template (policy: none may be published unfilled). */
export function templatePlaceholderNames(config: Config): Set<string> {
  let names = namesByConfig.get(config)
  if (!names) namesByConfig.set(config, (names = new Set(Object.values(config.templates ?? {}).flatMap((template) => placeholdersOf(template)))))
  return names
}

/** NAME=VALUE pairs; a name given twice is refused rather than one silently winning. */
function parseVars(vars: string[]): Map<string, string> {
  const values = new Map<string, string>()
  for (const pair of vars) {
    const match = /^([A-Za-z][\w-]*)=([\s\S]*)$/.exec(pair)
    if (!match) throw new UsageError(`--var "${pair}" is not NAME=VALUE — e.g. --var road=A55`)
    if (values.has(match[1]!)) throw new UsageError(`--var ${match[1]} is given twice — give it once`)
    values.set(match[1]!, match[2]!)
  }
  return values
}

/** The placeholders of every text field, in order of first appearance. */
function placeholdersOf(template: Record<string, unknown>): string[] {
  const names = new Set<string>()
  for (const value of Object.values(template)) {
    if (typeof value !== 'string') continue
    for (const match of value.matchAll(placeholder)) if (match[1]) names.add(match[1])
  }
  return [...names]
}
