import {existsSync, readFileSync, realpathSync, statSync} from 'node:fs'
import {hostname} from 'node:os'
import {basename, dirname, isAbsolute, join, resolve} from 'node:path'
import {parseDocument} from 'yaml'
import type {z} from 'zod'
import {UsageError} from '../core/errors.js'
import {parseDuration, parseRate} from '../core/duration.js'
import {machineTimeZone} from '../core/time-zone.js'
import type {ChannelConfig} from '../channels/driver.js'
import {driverFor, driverTypes} from '../channels/registry.js'
import {channelTimeoutMs} from '../channels/timeout.js'
import {channelCommonSchema, configFileSchema, type Policy, type Template} from './schema.js'
import {readChannelFacts} from './channel-facts.js'
import {resolveSecrets, type SecretProblem} from './secrets.js'
import {osUserName} from './user.js'
import {refuseMissingNamedConfig, type CrierPaths} from './paths.js'

/** The loaded, validated configuration, secrets resolved. Never print it whole. */
export interface Config {
  /** The config file read, or "embedded default". */
  source: string
  sender: string
  senderName?: string
  timezone: string
  /** The file names the zone (timezone:), rather than crier taking this machine's. */
  timezoneNamed?: boolean
  defaultRegion?: string
  languages: string[]
  channels: Record<string, ChannelConfig>
  policy: Policy
  scheduling?: {grace: string}
  /** Prepared announcements for crier draft --template. */
  templates?: Record<string, Template>
  /**
   * Loaded with brokenChannelsAside: channels whose own settings are wrong (a secret's variable
   * unset, a bad value), left out, each with its first problem.
   */
  brokenChannels?: Record<string, string>
  /**
   * Loaded with missingSecretsAside: channels whose only problem is a `${VAR}` this environment
   * lacks, kept for what needs no secret (draft, preview, approve, fan-out), each with those
   * problems. Nothing may send on them: they hold the `${VAR}` text where the secret goes.
   */
  missingSecrets?: Record<string, string[]>
}

export interface LoadOptions {
  /**
   * For delivery (crier run, worker): a problem confined to one channel leaves that channel out
   * instead of refusing the whole file — a secret missing from cron's environment for the SMS
   * channel must not hold back a flood warning on the website. Anything else still refuses.
   */
  brokenChannelsAside?: boolean
  /**
   * For what sends nothing itself (drafting, approving, queueing for a worker): a channel whose
   * only problem is a secret this shell lacks stays usable for all but sending (missingSecrets)
   * — an approver at 3 a.m. needs no SMS token — and sending on it names the variable.
   */
  missingSecretsAside?: boolean
}

/** Engine settings of a channel in the units the engine uses. */
export function channelLimits(channel: ChannelConfig) {
  return {
    // An SMTP pool sends on at most maxConnections at once: more in flight would only queue.
    concurrency: channel.concurrency ?? (typeof channel.maxConnections === 'number' ? channel.maxConnections : 8),
    timeoutMs: channelTimeoutMs(channel),
    retryBaseMs: parseDuration(channel.retryBase) ?? 1000,
    retryCapMs: parseDuration(channel.retryCap) ?? 300_000,
    ratePerSecond: channel.rate ? parseRate(channel.rate) : undefined,
    maxAttempts: channel.maxAttempts,
  }
}

/** Several config problems at once, one per line, each naming the file and the key. */
export class ConfigError extends UsageError {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
  }
}

const maxConfigBytes = 1_048_576

/**
 * Two feed channels writing one folder would each rewrite alerts.atom and cap/index.atom without
 * the other's entries (a Welsh feed beside the English one needs its own dir).
 */
function sharedFeedFolders(channels: Record<string, ChannelConfig>): string[] {
  const byFolder = new Map<string, string>()
  const problems: string[] = []
  for (const [name, channel] of Object.entries(channels)) {
    if (channel.type !== 'feed' || typeof channel.dir !== 'string') continue
    // The same folder through a symlink is the same folder.
    const folder = existsSync(channel.dir) ? realpathSync(channel.dir) : resolve(channel.dir)
    const first = byFolder.get(folder)
    if (first) problems.push(`channels.${name}.dir: ${first} writes its feeds in ${folder} too — give each feed channel its own dir`)
    else byFolder.set(folder, name)
  }
  return problems
}

/** A key someone could have meant as a setting (a typo such as `polcy`), not a line of another file: those are not repeated back. */
function looksLikeKey(key: string): boolean {
  return /^[A-Za-z][\w-]{0,39}$/.test(key)
}

export function loadConfig(paths: CrierPaths, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  refuseMissingNamedConfig(paths)
  if (!existsSync(paths.configFile)) return embeddedDefault(paths)
  const label = basename(paths.configFile)
  let text: string
  try {
    // A device, a FIFO or a log named by mistake would hang or fill memory: a config is a file of a few KB.
    const file = statSync(paths.configFile)
    if (file.isFile() && file.size > maxConfigBytes) throw new ConfigError([`${paths.configFile} is ${(file.size / 1_048_576).toFixed(1)} MB; a crier config is a few KB — is it the right file?`])
    if (!file.isFile() && !file.isDirectory()) throw new ConfigError([`${paths.configFile} is not a regular file — give the config file (--config DIR/config.yaml)`])
    text = readFileSync(paths.configFile, 'utf8')
  } catch (error) {
    if (error instanceof UsageError) throw error
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EISDIR') throw new UsageError(`${paths.configFile} is a directory — give the config file (--config DIR/config.yaml)`)
    throw new UsageError(`${label}: cannot be read (${code}) — check its permissions`)
  }
  const document = parseDocument(quoteBareSecrets(text), {prettyErrors: true, uniqueKeys: true})
  if (document.errors.length) {
    throw new ConfigError(
      document.errors.slice(0, 1).map((e) => `${label}: ${e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : ''}${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')} — fix the YAML`),
    )
  }
  let raw: unknown
  try {
    raw = document.toJS() ?? {}
  } catch {
    // An unquoted value starting with * is a YAML alias: the error would repeat the value, which
    // may be a secret written in place — so it is not repeated.
    throw new ConfigError([`${label}: a value starting with * reads as a YAML alias that is not defined — put it in quotes ('*…') — fix the YAML`])
  }
  // An empty file (a truncated save, everything commented out) is not "no channels": every cron
  // run would then fail channel by channel. No file at all is the embedded default.
  if (raw === null || (typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0)) {
    throw new ConfigError([`${label}: the file is empty — write its settings (see the README's config example), or remove it to use the embedded default`])
  }
  // Another file given by mistake (/etc/shadow, a .netrc): its lines are not repeated back as keys.
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && !Object.keys(raw).some((key) => key in configFileSchema.shape || looksLikeKey(key))) {
    throw new ConfigError([`${label}: this is not a crier config — it has none of ${Object.keys(configFileSchema.shape).join(', ')} at the top level; give the right file`])
  }
  const {value, problems: resolved} = resolveSecrets(raw, env)
  const secretProblems = resolved.filter((p) => !p.unusable)
  const problems = secretProblems.map((p) => `${label}: ${p.path}: environment variable ${p.variable} is not set — export it before running crier`)
  // A key whose variable is missing or unusable is reported once, saying so, not again as invalid.
  const secretPaths = new Set(secretProblems.map((p) => p.path))
  const report = (problem: string) => {
    if (![...secretPaths].some((path) => problem.startsWith(`${path}:`))) problems.push(`${label}: ${problem}`)
  }

  // Set, but unusable where it stands: a wrong setting of its channel, not a secret this shell lacks.
  for (const p of resolved) {
    if (!p.unusable) continue
    report(`${p.path}: environment variable ${p.variable} ${p.unusable}`)
    secretPaths.add(p.path)
  }
  const parsed = configFileSchema.safeParse(value)
  if (!parsed.success) for (const issue of parsed.error.issues) report(describeIssue(issue))
  // Channels are checked even when the top level has problems, so all are reported at once.
  const rawChannels = parsed.success ? parsed.data.channels : (value as {channels?: unknown} | null)?.channels
  const channels: Record<string, ChannelConfig> = {}
  const facts = readChannelFacts(paths.home)
  if (rawChannels && typeof rawChannels === 'object' && !Array.isArray(rawChannels)) {
    for (const [name, settings] of Object.entries(rawChannels as Record<string, unknown>)) {
      if (!settings || typeof settings !== 'object' || Array.isArray(settings)) continue // reported by the top-level schema
      const result = validateChannel(name, {...learnedFacts(facts[name], settings as Record<string, unknown>), ...(settings as Record<string, unknown>)}, dirname(paths.configFile))
      if (typeof result === 'string') report(result)
      else if (Array.isArray(result)) result.forEach(report)
      else channels[name] = result
    }
  }
  for (const problem of sharedFeedFolders(channels)) report(problem)
  const missingSecrets = options.missingSecretsAside ? setMissingSecretsAside(problems, label, secretProblems, channels) : {}
  const brokenChannels = options.brokenChannelsAside ? setBrokenChannelsAside(problems, label, rawChannels, channels) : {}
  if (problems.length || !parsed.success) throw new ConfigError(problems)
  const file = parsed.data
  return {
    source: paths.configFile,
    sender: file.sender ?? defaultSender(),
    senderName: file.senderName,
    timezone: file.timezone ?? machineTimeZone(),
    ...(file.timezone ? {timezoneNamed: true} : {}),
    defaultRegion: file.defaultRegion,
    languages: file.languages ?? ['en'],
    channels,
    policy: file.policy,
    scheduling: file.scheduling,
    templates: file.templates,
    ...(Object.keys(brokenChannels).length ? {brokenChannels} : {}),
    ...(Object.keys(missingSecrets).length ? {missingSecrets} : {}),
  }
}

/**
 * Takes out of `problems` the missing variables of channels that are otherwise valid (they are
 * in `channels`, validated with the `${VAR}` text in place): those channels stay, marked.
 */
function setMissingSecretsAside(problems: string[], label: string, secretProblems: SecretProblem[], channels: Record<string, ChannelConfig>): Record<string, string[]> {
  const missing: Record<string, string[]> = {}
  for (const name of Object.keys(channels)) {
    const own = `${label}: channels.${name}.`
    const mine = problems.filter((problem) => problem.startsWith(own))
    const secretsOnly = secretProblems.filter((p) => p.path.startsWith(`channels.${name}.`)).length === mine.length
    if (mine.length === 0 || !secretsOnly) continue
    missing[name] = mine
    for (const problem of mine) problems.splice(problems.indexOf(problem), 1)
  }
  return missing
}

/** Takes the problems that belong to one channel out of `problems`, and that channel out of `channels`. */
function setBrokenChannelsAside(problems: string[], label: string, rawChannels: unknown, channels: Record<string, ChannelConfig>): Record<string, string> {
  const broken: Record<string, string> = {}
  if (!rawChannels || typeof rawChannels !== 'object') return broken
  for (const name of Object.keys(rawChannels)) {
    const own = `${label}: channels.${name}.`
    const mine = problems.filter((problem) => problem.startsWith(own))
    if (mine.length === 0) continue
    broken[name] = mine[0]!
    delete channels[name]
    for (const problem of mine) problems.splice(problems.indexOf(problem), 1)
  }
  return broken
}

/** Only facts the channel's driver declares as settings: a stale cache must not break config. */
function learnedFacts(facts: Record<string, unknown> | undefined, settings: Record<string, unknown>): Record<string, unknown> {
  if (!facts || typeof settings.type !== 'string') return {}
  const shape = driverFor(settings.type)?.config.shape ?? {}
  return Object.fromEntries(Object.entries(facts).filter(([key]) => key in shape))
}

function validateChannel(name: string, settings: Record<string, unknown>, baseDir: string): ChannelConfig | string | string[] {
  const type = settings.type
  if (typeof type !== 'string') return `channels.${name}.type: expected one of ${driverTypes().join(', ')}`
  const driver = driverFor(type)
  if (!driver) return `channels.${name}.type: unknown driver "${type}" — expected one of ${driverTypes().join(', ')}`
  // safeExtend keeps the driver's own whole-object checks (e.g. fields required per provider).
  const schema = driver.config.safeExtend(channelCommonSchema.shape).strict()
  const result = schema.safeParse(settings)
  if (!result.success) return result.error.issues.map((issue) => describeIssue(issue, ['channels', name]))
  const channel = {...result.data, name} as ChannelConfig
  // Each subscriber gets their own language (the list's language column): a channel-wide one would be ignored.
  if (channel.language && driver.kind === 'per-recipient') {
    return `channels.${name}.language: ${type} sends each subscriber the text in their own language (the language column of their list) — leave language out`
  }
  for (const key of driver.pathSettings ?? []) {
    const value = channel[key]
    if (typeof value === 'string' && !isAbsolute(value)) channel[key] = resolve(baseDir, value)
  }
  return channel
}

/** One line per zod issue, in the words of the issue: "channels.website.dir: expected a string". */
export function describeIssue(issue: z.core.$ZodIssue, prefix: string[] = []): string {
  const path = [...prefix, ...issue.path.map(String)].join('.') || '(top level)'
  switch (issue.code) {
    case 'invalid_type':
      return `${path}: expected ${article(issue.expected)}`
    case 'unrecognized_keys': {
      const named = issue.keys.filter(looksLikeKey).map((key) => `${path === '(top level)' ? key : `${path}.${key}`}: unknown key`)
      const unnamed = issue.keys.length - named.length
      return [...named, ...(unnamed ? [`${path}: ${unnamed === 1 ? 'a line that is' : `${unnamed} lines that are`} not a setting — is it the right file?`] : [])].join('; ')
    }
    case 'invalid_value':
      return `${path}: expected one of ${issue.values.map(String).join(', ')}`
    default:
      return `${path}: ${issue.message}`
  }
}

function article(type: string): string {
  const words: Record<string, string> = {string: 'a string', number: 'a number', boolean: 'true or false', object: 'a mapping', record: 'a mapping', map: 'a mapping', array: 'a list'}
  return words[type] ?? type
}

function defaultSender(): string {
  // CAP forbids spaces, commas and < & in sender.
  const user = osUserName().replace(/[\s,<&]/g, '')
  return `${user}@${hostname().replace(/[\s,<&]/g, '')}`
}



/** No config file: one feed channel writing into CRIER_HOME/public, and the default policy. */
function embeddedDefault(paths: CrierPaths): Config {
  const website = validateChannel('website', {type: 'feed', dir: join(paths.home, 'public')}, paths.home)
  if (typeof website === 'string' || Array.isArray(website)) throw new Error(`embedded default is invalid: ${String(website)}`)
  return {
    source: 'embedded default',
    sender: defaultSender(),
    timezone: machineTimeZone(),
    languages: ['en'],
    channels: {website},
    policy: configFileSchema.shape.policy.parse(undefined),
  }
}

/**
 * `secret: ${PARTNERS_HMAC}` written bare inside a `{ … }` mapping (as DESIGN.md's example
 * does) is a YAML syntax error: the `{` opens another mapping. A bare reference — a whole value
 * after `key:` — is quoted before parsing, which changes nothing else (lines and columns stay).
 */
export function quoteBareSecrets(text: string): string {
  return text.replace(/(:[ \t]+)\$\{([A-Za-z_][A-Za-z0-9_]*)\}(?=[ \t]*(?:[,}\]]|#|$))/gm, '$1"${$2}"')
}
