import {createRequire} from 'node:module'
import {z} from 'zod'
import {categories, certainties, severities, urgencies, type Severity} from '../core/announcement.js'
import {parseDuration, parseRate} from '../core/duration.js'
import {foldText} from '../core/policy/words.js'

/** Text crier publishes as it is written (sender, names, a feed's title): no control characters, no unpaired surrogates or non-characters an XML writer would drop unseen. */
export const publishedSetting = z.string().refine((text) => !/[\p{Cc}\p{Cs}\uFFFE\uFFFF\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u.test(text), 'no control characters (escape sequences, tabs, line breaks) or invisible ones (bidi overrides, zero-width) — it is published as written')

const duration = z.string().refine((text) => parseDuration(text) !== undefined, 'expected a duration such as 500ms, 10s, 2m')
const rate = z
  .string()
  .refine((text) => parseRate(text) !== undefined, 'expected a rate such as 10/s or 600/m')
  .refine((text) => (parseRate(text) ?? 1) > 0, 'a rate of 0 would send nothing — remove rate for no limit, or give one such as 1/s')
/** A channel's timeout: under 100 ms every send would give up before any provider could answer. */
const timeout = duration.refine((text) => (parseDuration(text) ?? 100) >= 100, 'expected at least 100ms — every send would give up before the provider could answer')

/**
 * How late an occurrence may still fire. Under 2 minutes, one fired on time would be missed:
 * `crier run` from cron each minute sees an occurrence up to a minute after it is due, and its
 * own start takes a second or more.
 */
const grace = duration.refine((text) => (parseDuration(text) ?? 120_000) >= 120_000, 'expected at least 2m — crier run from cron each minute fires an occurrence up to a minute after it is due, so less would miss ones fired on time')

/** Settings every channel has, whatever its driver: how the engine treats it. */
export const channelCommonSchema = z.object({
  type: z.string(),
  /** Sends in flight at once on this channel. */
  concurrency: z.number().int().min(1).max(256).optional(),
  maxAttempts: z.number().int().min(1).max(100).default(8),
  rate: rate.optional(),
  timeout: timeout.default('10s'),
  retryBase: duration.default('1s'),
  retryCap: duration.default('5m'),
  /** Exercise and Test announcements may go only to channels that allow them. */
  allowTest: z.boolean().default(false),
  /**
   * The language a channel that posts to everyone posts in (a Welsh-language account: cy-GB):
   * the announcement's text in that language, where it has one. Default: its first language.
   */
  language: z
    .string()
    .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'expected a language tag such as en-GB or cy')
    .optional(),
})
export type ChannelCommon = z.infer<typeof channelCommonSchema>

// Policy: what an announcement must pass before it may go (DESIGN.md "Policy, approval, audit").
// Contradictions are refused at load, one line per key, rather than resolved by guessing.

const severityList = severities.join(', ')
/** Approvals needed: a whole number of people, 0 (none) to 10. */
const approvalCount = z
  .number()
  .min(0, 'must be 0 or more (0 means no approval is needed)')
  .max(10, 'must be at most 10')
  .refine(Number.isInteger, 'expected a whole number of approvals')

/** bySeverity: keys are CAP severities; an unknown one is named, with the known ones. */
const approvalsBySeverity = z
  .record(z.string(), approvalCount)
  .superRefine((counts, context) => {
    for (const key of Object.keys(counts)) {
      if (!(severities as readonly string[]).includes(key)) context.addIssue({code: 'custom', path: [key], message: `"${key}" is not a severity — expected one of ${severityList}`})
    }
  })
  .transform((counts) => counts as Partial<Record<Severity, number>>)

const severityName = z.string().refine((name) => (severities as readonly string[]).includes(name), {
  error: (issue) => `"${String(issue.input)}" is not a severity — expected one of ${severityList}`,
}) as unknown as z.ZodType<Severity>

/** "22:00": a time of day, 00:00–23:59. "10pm" and "25:00" are refused, each with its own reason. */
const timeOfDay = z.string().superRefine((text, context) => {
  const match = /^(\d{2}):(\d{2})$/.exec(text)
  if (!match) context.addIssue({code: 'custom', message: 'expected HH:MM'})
  else if (Number(match[1]) > 23 || Number(match[2]) > 59) context.addIssue({code: 'custom', message: `${text} is not a time of day — expected HH:MM from 00:00 to 23:59`})
})

/** A banned or warned word or phrase: at least one letter or digit, so it can match a whole word. */
const policyWord = z.string().refine((word) => /[\p{L}\p{N}]/u.test(word), 'must contain a letter or digit — remove the empty entry')

/**
 * A phone number someone may publish (the service's own hotline). Written in quotes: YAML reads
 * a bare 0300… as the number 300… and the leading zero is lost.
 */
const allowedNumber = z.unknown().superRefine((value, context) => {
  if (typeof value !== 'string') {
    context.addIssue({code: 'custom', message: 'write the number in quotes, e.g. "0300 123 4567" — YAML drops the leading zero of a bare number'})
  } else if (!/^\+?[\d\s().-]+$/.test(value.trim()) || !/^\d{3,15}$/.test(value.replace(/\D/g, ''))) {
    context.addIssue({code: 'custom', message: `"${value}" is not a phone number — expected digits, optionally +country, e.g. "+44 300 123 4567"`})
  }
}) as unknown as z.ZodType<string>

/** An e-mail address the service publishes itself, or "@domain" for every address at that domain. */
const allowedEmail = z
  .string()
  .refine((text) => /^[^\s@]*@[^\s@]+\.[^\s@]+$/.test(text.trim()), 'expected an e-mail address (alerts@example.org) or a domain written @example.org')

/** What happens when a rule finds something: block (an error), warn (a warning) or off. */
const findingLevel = z.enum(['block', 'warn'])
const detectorLevel = z.enum(['block', 'warn', 'off'])
export const personalDataDetectors = ['phone', 'email', 'nationalInsurance', 'vehicleRegistration'] as const
export type PersonalDataDetector = (typeof personalDataDetectors)[number]

export const policySchema = z
  .object({
    approvals: z
      .object({
        default: approvalCount.default(0),
        bySeverity: approvalsBySeverity.default({}),
        authorMayApprove: z.boolean().default(false),
      })
      .strict()
      .default({default: 0, bySeverity: {Severe: 1, Extreme: 1}, authorMayApprove: false}),
    emergencyOverride: z
      .object({allowed: z.boolean().default(false), reasonRequired: z.boolean().default(true)})
      .strict()
      .default({allowed: false, reasonRequired: true}),
    content: z
      .object({
        requireFields: z.array(z.enum(['headline', 'area', 'expires', 'instruction', 'web', 'event'])).default([]),
        /** Whole words or phrases, case- and accent-insensitive: a finding blocks. */
        bannedWords: z.array(policyWord).default([]),
        /** As bannedWords, but a finding is a warning. */
        warnWords: z.array(policyWord).default([]),
        /** The level for every personal-data detector not set in personalDataDetectors. */
        personalData: detectorLevel.default('warn'),
        personalDataDetectors: z.partialRecord(z.enum(personalDataDetectors), detectorLevel).default({}),
        /** Phone numbers that may be published: the service's own lines. 999, 112, 911, 101, 111 always may. */
        allowedNumbers: z.array(allowedNumber).default([]),
        /** E-mail addresses (or @domains) that may be published; the config's sender always may. */
        allowedEmails: z.array(allowedEmail).default([]),
        /** An expiry further out than this many days is a warning. */
        maxExpiryDays: z.number({error: 'expected a number of days'}).positive('must be more than 0').max(3660, 'must be at most 3660 (ten years)').default(7),
      })
      .strict()
      .superRefine((content, context) => {
        const banned = new Set(content.bannedWords.map((word) => foldText(word).trim()))
        content.warnWords.forEach((word, index) => {
          if (banned.has(foldText(word).trim())) context.addIssue({code: 'custom', path: ['warnWords', index], message: `"${word}" is also in bannedWords — keep it in one list`})
        })
      })
      .prefault({}),
    quietHours: z
      .object({
        from: timeOfDay,
        to: timeOfDay,
        /** Severities that may go out in quiet hours. */
        except: z.array(severityName).default([]),
        /** block: sending in quiet hours is an error; warn: a warning. */
        level: findingLevel.default('block'),
        /** Only these channels keep quiet hours (default: every channel). */
        channels: z.array(z.string().min(1)).min(1, 'list at least one channel, or leave channels out for all').optional(),
      })
      .strict()
      .superRefine((quiet, context) => {
        if (quiet.from === quiet.to) context.addIssue({code: 'custom', path: ['to'], message: `is the same as from (${quiet.from}) — quiet hours need a start and a different end`})
      })
      .optional(),
  })
  .strict()
export type Policy = z.infer<typeof policySchema>

/** One of a CAP enumeration, spelt as CAP spells it. */
function capWord<T extends string>(words: readonly T[], what: string) {
  return z.string().refine((word) => (words as readonly string[]).includes(word), {
    error: (issue) => `"${String(issue.input)}" is not ${what} — expected one of ${words.join(', ')}`,
  }) as unknown as z.ZodType<T>
}

/**
 * A prepared announcement (crier draft --template NAME --var k=v): every field optional, text
 * fields may hold {placeholders}; what the officer types on the command line wins.
 */
export const templateSchema = z
  .object({
    text: z.string().min(1).optional(),
    headline: z.string().min(1).optional(),
    instruction: z.string().optional(),
    severity: capWord(severities, 'a severity').optional(),
    urgency: capWord(urgencies, 'an urgency').optional(),
    certainty: capWord(certainties, 'a certainty').optional(),
    category: capWord(categories, 'a category').optional(),
    event: z.string().optional(),
    area: z.string().optional(),
    expires: z.string().optional(),
    web: z.string().optional(),
    lang: z.string().optional(),
    /** A drill's template: Exercise or Test (CAP's System and Draft are not for the public). */
    status: capWord(['Actual', 'Exercise', 'Test'] as const, 'a status for the public').optional(),
    channels: z.array(z.string()).min(1).optional(),
  })
  .strict()
export type Template = z.infer<typeof templateSchema>

/**
 * The country of phone numbers written without +country: a code libphonenumber-js has a
 * numbering plan for ("gb" is read as GB). Checked here, because an unknown one would pass and
 * then reject every national number of an import, one row at a time.
 */
const defaultRegion = z
  .string()
  .refine((code) => isPhoneRegion(code.trim().toUpperCase()), {
    error: (issue) => `"${String(issue.input)}" is not a country code libphonenumber knows — use an ISO 3166 code such as GB or US`,
  })
  .transform((code) => code.trim().toUpperCase())

/**
 * A region libphonenumber-js has a numbering plan for, looked up in its metadata alone: loading
 * the library costs ~25 ms, which every command's start-up (config load) would pay.
 */
function isPhoneRegion(code: string): boolean {
  const metadata = createRequire(import.meta.url)('libphonenumber-js/metadata.min.json') as {countries: Record<string, unknown>}
  return Object.hasOwn(metadata.countries, code)
}

export const configFileSchema = z
  .object({
    // CAP 1.2: the sender "MUST NOT include spaces, commas or restricted characters (< and &)";
    // it is also what <references> lists, comma-separated.
    sender: z.string().regex(/^[^\s,<&\p{Cc}\p{Cs}\uFFFE\uFFFF]+$/u, 'a CAP sender has no spaces, commas, < or & (nor control characters) — e.g. alerts@northwales.example').optional(),
    senderName: publishedSetting.optional(),
    timezone: z
      .string()
      .refine((zone) => {
        try {
          new Intl.DateTimeFormat('en', {timeZone: zone})
          return true
        } catch {
          return false
        }
      }, 'expected an IANA time zone such as Europe/London')
      .optional(),
    defaultRegion: defaultRegion.optional(),
    languages: z.array(z.string().min(2)).min(1).optional(),
    channels: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'channel names are letters, digits, - and _'), z.record(z.string(), z.unknown())).default({}),
    policy: policySchema.default(policySchema.parse({})),
    scheduling: z.object({grace: grace.default('15m')}).strict().optional(),
    templates: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'template names are letters, digits, - and _'), templateSchema).default({}),
  })
  .strict()
  .superRefine((file, context) => {
    // A template naming a channel that does not exist would fail only when an officer needs it.
    for (const [name, template] of Object.entries(file.templates)) {
      template.channels?.forEach((channel, index) => {
        if (!(channel in file.channels)) {
          context.addIssue({code: 'custom', path: ['templates', name, 'channels', index], message: `no channel "${channel}" is configured — expected one of ${Object.keys(file.channels).join(', ') || '(none)'}`})
        }
      })
    }
    // Quiet hours kept by a channel that does not exist would silently never apply.
    file.policy.quietHours?.channels?.forEach((name, index) => {
      if (!(name in file.channels)) {
        const known = Object.keys(file.channels)
        context.addIssue({code: 'custom', path: ['policy', 'quietHours', 'channels', index], message: `no channel "${name}" is configured — expected one of ${known.join(', ') || '(none)'}`})
      }
    })
  })
