import {Args} from '@oclif/core'
import type {CoreContext} from '../core/context.js'
import {resolveIdPrefix} from '../core/ids.js'

export const idArg = Args.string({description: 'Announcement id (any unique prefix).', required: true})

export function resolveAnnouncementId(ctx: CoreContext, typed: string): string {
  return resolveIdPrefix(typed, (prefix) => ctx.store.announcements.idsWithPrefix(prefix))
}
