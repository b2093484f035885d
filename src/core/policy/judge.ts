import type {Announcement} from '../announcement.js'
import type {CoreContext} from '../context.js'
import {followedUp, renderForAllChannels, type ChannelRendering} from '../render.js'
import {checkPolicy, type CheckOptions, type Finding} from './check.js'

/**
 * What preview, approve, schedule and broadcast all do before deciding: render the announcement
 * for every channel (an Update or Cancel with the message it follows up) and run the one policy
 * check on exactly that.
 */
export function judgeAnnouncement(ctx: CoreContext, announcement: Announcement, now: number, options: Omit<CheckOptions, 'referenced' | 'earlier'> = {}): {findings: Finding[]; renderings: ChannelRendering[]} {
  const thread = followedUp(announcement, ctx.store.announcements.get)
  const renderings = renderForAllChannels(announcement, ctx.config, thread)
  return {findings: checkPolicy(announcement, ctx.config, renderings, now, {...options, referenced: thread.referenced, earlier: thread.earlier}), renderings}
}
