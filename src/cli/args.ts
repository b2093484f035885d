import {Args} from '@oclif/core'
import type {CoreContext} from '../core/context.js'
import {resolveIdPrefix} from '../core/ids.js'

// ignoreStdin: oclif would otherwise read piped stdin into a missing argument, loosely
// decoded and unbounded; crier reads stdin itself (UTF-8 checked, 1 MiB at most).
export const idArg = Args.string({description: 'Announcement id (any unique prefix).', required: true, ignoreStdin: true})

export function resolveAnnouncementId(ctx: CoreContext, typed: string): string {
  return resolveIdPrefix(typed, (prefix) => ctx.store.announcements.idsWithPrefix(prefix))
}
