import {z} from 'zod'
import {severities} from '../core/announcement.js'
import {parseDuration, parseRate} from '../core/duration.js'

const duration = z.string().refine((text) => parseDuration(text) !== undefined, 'expected a duration such as 500ms, 10s, 2m')
const rate = z.string().refine((text) => parseRate(text) !== undefined, 'expected a rate such as 10/s or 600/m')
const severity = z.enum(severities)

/** Settings every channel has, whatever its driver: how the engine treats it. */
export const channelCommonSchema = z.object({
  type: z.string(),
  /** Sends in flight at once on this channel. */
  concurrency: z.number().int().min(1).max(256).optional(),
  maxAttempts: z.number().int().min(1).max(100).default(8),
  rate: rate.optional(),
  timeout: duration.default('10s'),
  retryBase: duration.default('1s'),
  retryCap: duration.default('5m'),
  /** Exercise and Test announcements may go only to channels that allow them. */
  allowTest: z.boolean().default(false),
})
export type ChannelCommon = z.infer<typeof channelCommonSchema>

export const policySchema = z
  .object({
    approvals: z
      .object({
        default: z.number().int().min(0).max(10).default(0),
        bySeverity: z.partialRecord(severity, z.number().int().min(0).max(10)).default({}),
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
        bannedWords: z.array(z.string()).default([]),
        personalData: z.enum(['block', 'warn', 'off']).default('warn'),
      })
      .strict()
      .default({requireFields: [], bannedWords: [], personalData: 'warn'}),
    quietHours: z
      .object({
        from: z.string().regex(/^\d{2}:\d{2}$/, 'expected HH:MM'),
        to: z.string().regex(/^\d{2}:\d{2}$/, 'expected HH:MM'),
        except: z.array(severity).default([]),
      })
      .strict()
      .optional(),
  })
  .strict()
export type Policy = z.infer<typeof policySchema>

export const configFileSchema = z
  .object({
    sender: z.string().min(1).optional(),
    senderName: z.string().optional(),
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
    defaultRegion: z.string().length(2).optional(),
    languages: z.array(z.string().min(2)).min(1).optional(),
    channels: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'channel names are letters, digits, - and _'), z.record(z.string(), z.unknown())).default({}),
    policy: policySchema.default(policySchema.parse({})),
    scheduling: z.object({grace: duration.default('15m')}).strict().optional(),
  })
  .strict()
