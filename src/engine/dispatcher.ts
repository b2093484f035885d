import {setMaxListeners} from 'node:events'
import {setTimeout as sleepFor} from 'node:timers/promises'
import type {Config} from '../config/load.js'
import {channelLimits} from '../config/load.js'
import {channelsSetAside, missingSecretsOf} from '../config/missing-secrets.js'
import {redact} from '../config/secrets.js'
import type {ChannelConfig, Driver, Recipient, Rendered} from '../channels/driver.js'
import {ChannelUnusableError, InDoubtSendError, NotSentError, PermanentSendError, RateLimitedError, RecipientOptedOutError, TransientSendError} from '../channels/errors.js'
import {createHttpClient, type HttpClient} from '../channels/http.js'
import {driverFor} from '../channels/registry.js'
import {followUpThread, readerVariant, type Announcement} from '../core/announcement.js'
import {capUrlFor, channelVariant, followedUp} from '../core/render.js'
import {RuntimeFailure} from '../core/errors.js'
import {oneLine} from '../core/terminal-text.js'
import type {Store} from '../store/index.js'
import type {AttemptResult, ClaimedDelivery} from '../store/deliveries.js'
import {retryDelayMs} from './backoff.js'
import {finishAnnouncementsIfDone} from './finish.js'
import {DeliveryContext} from './send-context.js'
import {ClaimSize} from './claim-size.js'
import {resolveAbandonedLeases} from './in-doubt.js'
import {newLeaseOwner} from './lease-owner.js'
import {pastPendingEvents} from './past-pending-events.js'
import {GroupCommit} from './group-commit.js'
import {StartedSends, startedSendsDir} from './started-sends.js'
import type {ChannelClaim, Claimed, ClaimRequest} from './queue-writes.js'

// The dispatcher: claims due deliveries under a lease (committed before any network call),
// sends them with per-channel concurrency and rate, classifies what drivers throw, and writes
// results back in small group commits. Several dispatchers (overlapping cron runs, a worker)
// share one queue safely; a crash loses at most the in-flight window, which the next
// dispatcher resolves as "in doubt" — and, for a channel without idempotency, tells apart by
// its record of the sends it started (started-sends.ts) from what it claimed and never began.

/** One delivery's outcome, as progress for whoever is watching (plain lines, the live view). */
export interface DispatchEvent {
  channel: string
  deliveryId: string
  announcementId: string
  outcome: AttemptResult['outcome']
  nextState: AttemptResult['nextState']
  error?: string
}

export interface DispatcherOptions {
  store: Store
  config: Config
  now?: () => number
  random?: () => number
  owner?: string
  http?: HttpClient
  onEvent?: (event: DispatchEvent) => void
  /** A channel became unusable (its credentials refused, its settings incomplete) and stopped until `until` (Infinity: this run). */
  onChannelStopped?: (stop: ChannelStop) => void
}

export interface ChannelStop {
  channel: string
  reason: string
  until: number
}

export interface RunLimits {
  /** Stop claiming at this time (epoch ms), finish what is in flight, return. */
  deadline?: number
  /** Stop claiming (SIGINT/SIGTERM), finish what is in flight, return. */
  stop?: AbortSignal
  /** Abort what is in flight (a second signal). Aborted sends are resolved as in doubt. */
  abort?: AbortSignal
  /** Return as soon as this announcement has nothing pending. */
  announcementId?: string
  /** Called about four times a second (the worker fires due schedules here). */
  tick?: () => void
  /** Another time the loop must be awake for (the next schedule due). */
  nextWake?: () => number | null
  /** Do not return when idle: sleep until there is work (crier worker). */
  keepRunning?: boolean
}

export interface RunSummary {
  sent: number
  retrying: number
  dead: number
  unknown: number
  expired: number
  requeued: number
  stoppedBy: 'idle' | 'deadline' | 'signal' | 'done'
  /** Channels stopped because they cannot send at all, with the provider's reason: their deliveries stay queued. */
  unusableChannels: Record<string, string>
}

interface ChannelState {
  config: ChannelConfig
  driver: Driver
  concurrency: number
  timeoutMs: number
  retryBaseMs: number
  retryCapMs: number
  /** Sends per second from config, shared with every process through the store. */
  ratePerSecond?: number
  leaseMs: number
  /** Claimed, not yet started. */
  waiting: Claimed[]
  inFlight: number
  pausedUntil: number
  /** Why, as the provider said. */
  pauseReason?: string
  /** 429s since the last send that went: each doubles the least pause (see rateLimitPauseMs). */
  rateLimitsInARow: number
  /** Stopped, in this process only, because the channel cannot send at all (ChannelUnusableError). */
  unusableUntil: number
  unusableReason?: string
  /** The last claim came back short: nothing more is due now; look again after this time. */
  drainedUntil: number
  /** How many to hold claimed ahead of the sends (waiting + in flight). */
  claimSize: ClaimSize
  /** Its render of each announcement it broadcasts (per-recipient renders are made per send). */
  renders: Map<string, Rendered>
}

/** A claimed delivery ready to go: rendered, its context made. */
interface ReadySend {
  delivery: Claimed
  payload: Rendered['payload']
  context: DeliveryContext
}

// A claim this full means a big queue: its claims and commits move to a queue thread, where a
// commit's fsync does not stall the sends. 32 is the first claim of any channel whose claims may
// grow (claim-size.ts), however few its connections: e-mail with 5 claims 32 to 40, and there its
// commits took 6% of the event loop.
const threadedFromClaim = 32
// Shared by every send: one listener per request in flight, so no listener limit.
const neverAborted = new AbortController().signal
setMaxListeners(0, neverAborted)
const recheckDrainedMs = 250
// How often a sender looks for what it holds claimed and another process stopped since (a
// cancel, an Update): what it lets go is not sent, so the window after a cancel is this short.
const stoppedCheckEveryMs = 25
/** A pass of the loop's store calls that took longer than this waited for a lock (a commit takes a few ms). */
const slowPassMs = 100

const leaseCheckEveryMs = 5000
const maxIdleSleepMs = 1000
// A provider's Retry-After is obeyed, but a bogus one (days) must not silence a channel.
const maxProviderWaitMs = 3_600_000
// A worker tries an unusable channel again after this long (the provider may have been fixed);
// a run or a broadcast stops it until it exits.
const unusableRetryMs = 5 * 60_000
// A send starts only while its lease will outlast it (the channel's timeout) by this much;
// otherwise the leases are renewed first — or, where another process took them over since, the
// deliveries are left to it. A lease that ran out under a slow send is how two runs send twice.
const leaseMarginMs = 5000
const runWaitsAtMostMs = 10_000
// A Cancel waits this long, again and again, while the copy it cancels is still held by a sender
// (it lets go within a quarter second; a dead one's lease runs out and it is settled in doubt).
const settleWaitMs = 1000

export class Dispatcher {
  readonly owner: string
  private readonly store: Store
  private readonly config: Config
  private readonly now: () => number
  private readonly random: () => number
  private readonly http: HttpClient
  private readonly ownsHttp: boolean
  private readonly onEvent?: (event: DispatchEvent) => void
  private readonly onChannelStopped?: (stop: ChannelStop) => void
  /** This run does not return when idle (a worker). */
  private keepRunning = false
  /** This run sends one announcement's deliveries only (a waiting broadcast or cancel), never the rest of the queue. */
  private only: string | undefined
  private readonly channels = new Map<string, ChannelState>()
  private readonly announcements = new Map<string, Announcement>()
  /** Results on their way to the store, and the claims: inline, or on a queue thread once the queue is big. */
  private readonly writes: GroupCommit
  /** The claim being made (at most one at a time); its rows join `waiting` once it has committed. */
  private claiming: Promise<void> | undefined
  private wakeUp: (() => void) | undefined
  private summary: RunSummary = emptySummary()
  /** Where this dispatcher's record of the sends it started lives (none for a database in memory). */
  private readonly startedSendsDir: string | undefined
  private readonly startedSends: StartedSends
  /** The record of starts could not be written: nothing more may start. */
  private startedSendsFailure: Error | undefined
  /** Drivers whose libraries are loaded (undici, nodemailer): once they have work, not for an idle run. */
  private readonly loadedDrivers = new Set<Driver>()
  private closing: Promise<void> | undefined

  constructor(options: DispatcherOptions) {
    this.store = options.store
    this.config = options.config
    this.now = options.now ?? Date.now
    this.random = options.random ?? Math.random
    this.owner = options.owner ?? newLeaseOwner()
    this.onEvent = options.onEvent
    this.onChannelStopped = options.onChannelStopped
    this.writes = new GroupCommit(options.store, this.now)
    this.startedSendsDir = startedSendsDir(options.store.origin?.path)
    this.startedSends = new StartedSends(this.startedSendsDir, this.owner)
    // Channels on one provider share its pool (two SMS numbers on one gateway): room for all of
    // them at once, or one waits for the other's connections, and a wait past its timeout is a
    // send that never left. Connections open only as they are needed.
    const allConcurrency = Object.values(options.config.channels).reduce((sum, c) => sum + channelLimits(c).concurrency, 0)
    this.ownsHttp = !options.http
    this.http = options.http ?? createHttpClient({connectionsPerOrigin: Math.max(1, allConcurrency)})
    for (const channel of Object.values(options.config.channels)) {
      const driver = driverFor(channel.type)
      // Its secret is missing here: it holds the ${VAR} text where the secret goes, never sent.
      if (!driver || options.config.missingSecrets?.[channel.name]) continue
      const limits = channelLimits(channel)
      this.channels.set(channel.name, {
        config: channel,
        driver,
        concurrency: limits.concurrency,
        timeoutMs: limits.timeoutMs,
        retryBaseMs: limits.retryBaseMs,
        retryCapMs: limits.retryCapMs,
        ratePerSecond: limits.ratePerSecond,
        // Long enough to cover the wait in the local queue, the send and the group commit.
        leaseMs: Math.max(60_000, limits.timeoutMs * 3),
        waiting: [],
        inFlight: 0,
        pausedUntil: 0,
        unusableUntil: 0,
        rateLimitsInARow: 0,
        drainedUntil: 0,
        claimSize: new ClaimSize(limits.concurrency, driver.capabilities.idempotent || this.startedSendsDir !== undefined),
        renders: new Map(),
      })
    }
  }

  /** Delivers due work until idle, the deadline, a stop signal, or the announcement is done. */
  async run(limits: RunLimits = {}): Promise<RunSummary> {
    this.summary = emptySummary()
    this.keepRunning = limits.keepRunning ?? false
    this.only = limits.announcementId
    // Work queued for a channel that has left the config (removed, renamed) waits for it, and
    // says so: otherwise it would sit pending, unsent, with nothing telling anyone.
    const {announcementId} = limits
    // One announcement (broadcast, cancel): its channels this process cannot send on as configured.
    const waitingOn = announcementId ? channelsSetAside(this.config).filter((name) => this.store.deliveries.waitingOn(announcementId, name)) : this.store.deliveries.channelsWithQueue()
    for (const name of waitingOn) {
      if (this.channels.has(name)) continue
      const broken = this.config.brokenChannels?.[name]
      const missing = missingSecretsOf(this.config, name)
      const reason = missing
        ? `this shell lacks its secret: ${missing}`
        : broken
          ? `its settings are wrong, so it was left out: ${broken}`
          : `it is not in ${this.config.source} (removed or renamed?); put it back, or cancel the announcements waiting for it`
      this.summary.unusableChannels[name] = reason
      this.onChannelStopped?.({channel: name, reason, until: Infinity})
    }
    const wake = () => this.wakeUp?.()
    limits.stop?.addEventListener('abort', wake)
    limits.abort?.addEventListener('abort', wake)
    let lastLeaseCheck = -Infinity
    let lastPauseCheck = -Infinity
    let lastStoppedCheck = -Infinity
    try {
      for (;;) {
        this.writes.throwFailure()
        if (this.startedSendsFailure) throw this.startedSendsFailure
        const now = this.now()
        if (limits.stop?.aborted || limits.abort?.aborted) {
          this.summary.stoppedBy = 'signal'
          break
        }
        const passBegan = performance.now()
        if (limits.deadline !== undefined && now >= limits.deadline) {
          this.summary.stoppedBy = 'deadline'
          break
        }
        if (now - lastLeaseCheck >= leaseCheckEveryMs) {
          lastLeaseCheck = now
          await this.resolveInDoubt(limits.abort)
        }
        if (now - lastPauseCheck >= recheckDrainedMs) {
          lastPauseCheck = now
          limits.tick?.()
          this.refreshPauses(now)
          this.expireOverdue(now)
          this.noticeOptOuts()
        }
        if (now - lastStoppedCheck >= stoppedCheckEveryMs) {
          lastStoppedCheck = now
          this.letGoOfStopped()
        }
        this.claim(now)
        // Store calls above that waited for another process's lock held up this thread, and a
        // signal sent meanwhile: it is heard before anything more starts (start nothing new).
        if (performance.now() - passBegan > slowPassMs) {
          await pastPendingEvents()
          if (limits.stop?.aborted || limits.abort?.aborted) {
            this.summary.stoppedBy = 'signal'
            break
          }
        }
        const loading = this.loadSenders()
        if (loading) await loading
        this.startSends(limits.abort)
        if (this.isQuiet()) {
          if (this.claiming) {
            await this.claiming
            continue
          }
          await this.writes.flush()
          this.writes.throwFailure()
          // Nothing held, every result committed: the record of what started has done its job.
          this.startedSends.settled()
          if (limits.announcementId && !this.store.deliveries.hasPending(limits.announcementId)) {
            this.summary.stoppedBy = 'done'
            break
          }
          const wakeAt = earliest(this.nextWakeAt(now), limits.nextWake?.() ?? null, limits.keepRunning ? now + maxIdleSleepMs : null)
          if (wakeAt === null) break
          // A plain run delivers what is due and exits: a retry or a pause further off than this
          // is the next run's (cron's next minute, or a worker's), not a reason to sit idle.
          if (!limits.keepRunning && !limits.announcementId && limits.deadline === undefined && wakeAt - now > runWaitsAtMostMs) break
          if (limits.deadline !== undefined && wakeAt >= limits.deadline) {
            this.summary.stoppedBy = 'deadline'
            break
          }
          this.forgetAnnouncements()
          // A few ms at least, so a due time already reached cannot spin the loop.
          await this.sleep(Math.max(5, Math.min(wakeAt - now, maxIdleSleepMs)), limits.stop)
          // Work may have arrived from another process, a schedule come due, a pause ended: look again now.
          lastPauseCheck = -Infinity
          for (const channel of this.channels.values()) channel.drainedUntil = 0
          continue
        }
        await this.waitForProgress()
      }
    } finally {
      await this.drain()
      limits.stop?.removeEventListener('abort', wake)
      limits.abort?.removeEventListener('abort', wake)
    }
    return this.summary
  }

  /** Where claims and group commits run now: on this thread, or on a queue thread (a big queue). */
  get queueRunsOn(): 'here' | 'queue thread' {
    return this.writes.runsOn
  }

  /** Closes its queue thread, record of starts, pool and drivers; a second call waits on the first. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce()
    return this.closing
  }

  private async closeOnce(): Promise<void> {
    await this.writes.close()
    this.startedSends.close(this.holdsNothing())
    if (this.ownsHttp) await this.http.close()
    const drivers = new Set([...this.channels.values()].map((channel) => channel.driver))
    await Promise.all([...drivers].map((driver) => driver.close?.()))
  }

  /** No delivery is leased to this dispatcher any more (false where the store cannot tell). */
  private holdsNothing(): boolean {
    try {
      return this.store.deliveries.leasedBy(this.owner, 1).length === 0
    } catch {
      return false
    }
  }

  private isQuiet(): boolean {
    for (const channel of this.channels.values()) if (channel.inFlight > 0 || channel.waiting.length > 0) return false
    return true
  }

  /**
   * Claims, per channel, enough to keep its concurrency busy, in one BEGIN IMMEDIATE
   * transaction; in the background, one claim at a time. Its rows join `waiting` (and may be
   * sent) only once it has committed.
   */
  private claim(now: number): void {
    if (this.claiming) return
    const wanted: Array<[ChannelState, ClaimRequest]> = []
    for (const channel of this.channels.values()) {
      if (channel.pausedUntil > now || channel.unusableUntil > now || channel.drainedUntil > now) continue
      // Claim ahead of the sends, in batches: each claim is a committed write. Top up only when
      // half the batch has gone.
      const target = channel.claimSize.target(now)
      const want = target - channel.waiting.length - channel.inFlight
      if (want <= 0 || (channel.waiting.length > 0 && want < target / 2)) continue
      wanted.push([channel, {channel: channel.config.name, limit: want, leaseUntil: now + channel.leaseMs, ratePerSecond: channel.ratePerSecond, announcementId: this.only}])
    }
    if (wanted.length === 0) return
    // Before the claim commits, the record of starts exists: from then on, what it lacks did not start.
    if (wanted.some(([channel]) => !channel.driver.capabilities.idempotent)) this.openStartedSends()
    // Results waiting for their group commit ride along: one commit (one fsync) instead of two.
    const claimed = this.writes.claim(this.owner, now, wanted.map(([, request]) => request))
    this.claiming = claimed.then(
      (claims) => this.took(now, wanted, claims),
      () => {},
    ).finally(() => {
      this.claiming = undefined
      this.wakeUp?.()
    })
  }

  private took(now: number, wanted: Array<[ChannelState, ClaimRequest]>, claims: ChannelClaim[]): void {
    claims.forEach(({claimed, short, tokenWaitMs}, index) => {
      const channel = wanted[index]![0]
      // Paused (a 429) while this claim was being made: its rows go back until the pause ends.
      if (channel.pausedUntil > this.now()) return this.handBack(channel, claimed, 'rate-limited', channel.pausedUntil, channel.pauseReason)
      if (channel.unusableUntil > this.now()) return this.handBack(channel, claimed, 'unusable', this.now(), channel.unusableReason)
      const {leaseUntil} = wanted[index]![1]
      for (const delivery of claimed) delivery.leaseUntil = leaseUntil
      channel.waiting.push(...claimed)
      channel.drainedUntil = short ? now + recheckDrainedMs : tokenWaitMs > 0 ? now + tokenWaitMs : channel.drainedUntil
      if (claimed.length >= threadedFromClaim) this.writes.startThread()
    })
  }

  private startSends(abort?: AbortSignal): void {
    if (this.startedSendsFailure) return
    const now = this.now()
    for (const channel of this.channels.values()) {
      const ready: ReadySend[] = []
      while (channel.waiting.length > 0 && channel.inFlight < channel.concurrency && channel.pausedUntil <= now && channel.unusableUntil <= now) {
        if (channel.waiting[0]!.leaseUntil! < now + channel.timeoutMs + leaseMarginMs) {
          this.renewLeases(channel, now)
          continue
        }
        const delivery = channel.waiting.shift()!
        channel.inFlight++
        const send = this.prepare(channel, delivery, now, abort)
        if (send) ready.push(send)
        else this.finished(channel)
      }
      if (ready.length === 0 || !this.recordStarts(channel, ready)) continue
      for (const send of ready) void this.transmit(channel, send)
    }
  }

  /**
   * A channel without idempotency: its sends are recorded as started before they go, so that a
   * crash leaves in doubt only what was in flight. False where they must not go after all.
   */
  private recordStarts(channel: ChannelState, ready: ReadySend[]): boolean {
    if (channel.driver.capabilities.idempotent) return true
    try {
      this.startedSends.record(ready.map((send) => send.delivery))
    } catch (error) {
      this.startedSendsFailure = new RuntimeFailure(`cannot record the sends it starts (${(error as NodeJS.ErrnoException).code ?? describe(error)}) — free space where the database is, then run again; nothing was sent without a record`)
      this.putBack(channel, ready)
      return false
    }
    // Recorded after its lease could run out (the process stalled in between): another process
    // may take these over and, seeing no record, send them. Not sent here; next time round
    // their leases are renewed, or they are dropped as the other's.
    const late = this.now()
    if (ready.some((send) => send.delivery.leaseUntil! - leaseMarginMs < late)) {
      this.putBack(channel, ready)
      return false
    }
    return true
  }

  /** Prepared sends that will not start now: back to the front of the line. */
  private putBack(channel: ChannelState, ready: ReadySend[]): void {
    channel.waiting.unshift(...ready.map((send) => send.delivery))
    channel.inFlight -= ready.length
  }

  private openStartedSends(): void {
    try {
      this.startedSends.open()
    } catch (error) {
      throw new RuntimeFailure(`cannot create ${this.startedSendsDir} (${(error as NodeJS.ErrnoException).code ?? describe(error)}) — crier records there which sends it started; check the database's directory is writable`)
    }
  }

  /**
   * Loads the libraries the sends need before the first one starts: a send is recorded as
   * started just before it goes, and a crash during a 50–150 ms import would leave it in doubt.
   */
  private loadSenders(): Promise<unknown> | undefined {
    const toLoad = new Set<Driver>()
    for (const channel of this.channels.values()) if (channel.waiting.length > 0 && !this.loadedDrivers.has(channel.driver)) toLoad.add(channel.driver)
    if (toLoad.size === 0) return undefined
    // The first work of all: the HTTP client too, which most drivers share.
    const loads = this.loadedDrivers.size === 0 ? [this.http.load?.()] : []
    for (const driver of toLoad) {
      this.loadedDrivers.add(driver)
      loads.push(driver.load?.())
    }
    // A library that does not load fails the sends that need it, each with its own error.
    return Promise.all(loads).catch(() => {})
  }

  /** A send's slot is free again, whatever happened to it. */
  private finished(channel: ChannelState): void {
    channel.inFlight--
    channel.claimSize.finished()
    this.wakeUp?.()
  }

  /**
   * Readies one claimed delivery: renders it and makes its context; or settles it without a
   * send (expired, opted out, made for another channel, unrenderable) and returns undefined.
   */
  private prepare(channel: ChannelState, delivery: Claimed, startedAt: number, abort?: AbortSignal): ReadySend | undefined {
    if (delivery.expiresAt !== null && delivery.expiresAt <= startedAt) {
      this.notAttempted(channel, delivery, startedAt, 'expired', 'expired', 'announcement expired before it could be sent')
      return undefined
    }
    let announcement: Announcement
    let rendered: Rendered
    let recipient: Recipient | undefined
    try {
      announcement = this.announcementFor(delivery.announcementId)
      const madeForAnother = madeForAnotherChannel(channel, delivery, announcement)
      if (madeForAnother) {
        this.stopChannel(channel, startedAt, `it is now a ${channel.config.type} channel, but ${madeForAnother}; put it back as it was, or cancel the announcements waiting for it`)
        this.handBack(channel, [delivery], 'unusable', startedAt, channel.unusableReason)
        return undefined
      }
      if (delivery.recipient !== null) {
        recipient = delivery.audience?.recipient
        const contact = channel.driver.capabilities.contact
        const address = recipient && contact ? recipient[contact] : undefined
        if (!recipient || !address || (contact && delivery.audience?.optedOut[contact])) {
          // Removed, changed or opted out since the fan-out (as of the claim, moments before this
          // send): never send to them now.
          const why = recipient ? (address ? 'opted out since the broadcast was queued' : `no ${contact} for this subscriber`) : 'subscriber removed since the broadcast was queued'
          this.notAttempted(channel, delivery, startedAt, 'opted-out', 'skipped', why)
          return undefined
        }
      }
      // A Cancel goes to those the message it cancels reached: not to one whose copy was let go
      // unsent when it was cancelled, and not before a sender still holding that copy settles it.
      if (announcement.msgType === 'Cancel' && delivery.recipient !== null) {
        const thread = announcement.references ? followUpThread(announcement.references, (id) => this.knownAnnouncement(id)) : []
        const reach = this.store.deliveries.originalReach(thread, channel.config.name, delivery.recipient)
        if (reach === 'held') {
          this.handBack(channel, [delivery], 'aborted', startedAt + settleWaitMs, 'waiting for the send of the message it cancels to settle')
          return undefined
        }
        if (reach === 'not-reached') {
          this.notAttempted(channel, delivery, startedAt, 'opted-out', 'skipped', 'never received the message it cancels (it was stopped before it was sent)')
          return undefined
        }
      }
      rendered = this.renderFor(announcement, channel, recipient)
    } catch (error) {
      this.notAttempted(channel, delivery, startedAt, 'permanent', 'dead', `cannot render: ${describe(error)}`)
      return undefined
    }
    // Drivers enforce the channel's timeout themselves (driver contract); the signal here is the
    // run's hard abort, shared, because a fresh timeout signal per send cost ~10 µs each.
    const context = new DeliveryContext({store: this.store, channel: channel.config, deliveryId: delivery.id, announcement, signal: abort ?? neverAborted, http: this.http, now: this.now, recipient})
    return {delivery, payload: rendered.payload, context}
  }

  /** Sends one readied delivery and buffers its result; frees its slot whatever happens. */
  private async transmit(channel: ChannelState, {delivery, payload, context}: ReadySend): Promise<void> {
    const startedAt = this.now()
    try {
      const receipt = await channel.driver.send(payload, context)
      // Written out, never spread: the one path every send takes (bench: ~8 µs less CPU per send).
      this.addResult(channel, delivery, {id: delivery.id, owner: this.owner, startedAt, durationMs: this.now() - startedAt, outcome: 'sent', nextState: 'sent', receiptId: receipt.providerId, receiptUrl: receipt.url})
    } catch (error) {
      this.addResult(channel, delivery, {id: delivery.id, owner: this.owner, startedAt, durationMs: this.now() - startedAt, ...this.classify(channel, delivery, error, context.signal)})
    } finally {
      this.finished(channel)
    }
  }

  /** A claimed delivery that was not sent (expired, opted out, unrenderable): no attempt row. */
  private notAttempted(channel: ChannelState, delivery: Claimed, startedAt: number, outcome: AttemptResult['outcome'], nextState: AttemptResult['nextState'], error: string): void {
    this.addResult(channel, delivery, {id: delivery.id, owner: this.owner, startedAt, durationMs: 0, outcome, nextState, error, notAttempted: true})
  }

  private classify(channel: ChannelState, delivery: Claimed, error: unknown, abort?: AbortSignal): Pick<AttemptResult, 'outcome' | 'nextState' | 'dueAt' | 'error' | 'attemptError' | 'refundAttempt'> {
    const now = this.now()
    const message = describe(error)
    if (abort?.aborted) {
      // Stopped before it left this machine: nothing can have arrived, so it waits to be sent.
      if (error instanceof NotSentError) return {outcome: 'aborted', nextState: 'queued', dueAt: now, error: `stopped before it was sent: ${message}`, refundAttempt: true}
      // Stopped mid-send: it may have arrived. Only an idempotent driver may simply send again.
      return channel.driver.capabilities.idempotent
        ? {outcome: 'aborted', nextState: 'queued', dueAt: now, error: `stopped mid-send: ${message}`, refundAttempt: true}
        : {outcome: 'aborted', nextState: 'unknown', error: `stopped mid-send, may or may not have gone out: ${message}`}
    }
    if (error instanceof RateLimitedError) {
      const until = now + rateLimitPauseMs(error.retryAfterMs, ++channel.rateLimitsInARow)
      this.pauseChannel(channel, until, message)
      return {outcome: 'rate-limited', nextState: 'queued', dueAt: until, error: message, refundAttempt: true}
    }
    if (error instanceof ChannelUnusableError) {
      // Not this delivery's fault: it waits, its attempt not counted, for the channel to be fixed.
      this.stopChannel(channel, now, message)
      return {outcome: 'unusable', nextState: 'queued', dueAt: now, error: message, refundAttempt: true}
    }
    if (error instanceof PermanentSendError) return {outcome: 'permanent', nextState: 'dead', error: message}
    if (error instanceof RecipientOptedOutError) {
      const contact = channel.driver.capabilities.contact
      const address = contact ? this.recipientAddress(delivery, contact) : undefined
      if (address) this.writes.optOut(address, `${channel.config.name}: ${message}`)
      return {outcome: 'opted-out', nextState: 'skipped', error: `recipient opted out: ${message}`}
    }
    if (error instanceof InDoubtSendError && !channel.driver.capabilities.idempotent) {
      // No answer, and the provider has no idempotency: sending again could publish twice.
      return {outcome: 'transient', nextState: 'unknown', error: `no answer, so it may or may not have gone out (${message}) — check ${channel.config.name} before sending again`}
    }
    // An idempotent driver sends again; the attempt says it may have arrived (a Cancel goes there).
    if (error instanceof InDoubtSendError) return {...this.retryOrGiveUp(channel, delivery, message, error.retryAfterMs, now), outcome: 'in-doubt'}
    if (!(error instanceof TransientSendError)) {
      // A driver bug or an unexpected throw: treat as transient so it is retried, never lost.
      return this.retryOrGiveUp(channel, delivery, `unexpected error: ${message}`, undefined, now)
    }
    return this.retryOrGiveUp(channel, delivery, message, error.retryAfterMs, now)
  }

  private retryOrGiveUp(channel: ChannelState, delivery: ClaimedDelivery, message: string, retryAfterMs: number | undefined, now: number) {
    if (delivery.attempts >= delivery.maxAttempts) {
      return {outcome: 'transient' as const, nextState: 'dead' as const, error: `gave up after ${delivery.attempts} attempts: ${message}`, attemptError: message}
    }
    const dueAt = now + (retryAfterMs !== undefined ? Math.min(maxProviderWaitMs, Math.max(0, retryAfterMs)) : retryDelayMs(delivery.attempts, channel.retryBaseMs, channel.retryCapMs, this.random))
    if (delivery.expiresAt !== null && dueAt >= delivery.expiresAt) {
      return {outcome: 'transient' as const, nextState: 'expired' as const, error: `announcement expires before the next try: ${message}`, attemptError: message}
    }
    return {outcome: 'transient' as const, nextState: 'failed' as const, dueAt, error: message}
  }

  /**
   * Renews the leases this process holds on the channel (waiting and in flight); a waiting
   * delivery whose lease ran out and was taken over is dropped here — it is the other process's.
   */
  private renewLeases(channel: ChannelState, now: number): void {
    const leaseUntil = now + channel.leaseMs
    const held = new Set(this.store.transaction(() => this.store.deliveries.renewLeases({owner: this.owner, channel: channel.config.name, leaseUntil})))
    channel.waiting = channel.waiting.filter((delivery) => {
      if (!held.has(delivery.id)) return false
      delivery.leaseUntil = leaseUntil
      return true
    })
  }

  /** A provider's rate limit applies to the account: every process must see it at once. */
  private pauseChannel(channel: ChannelState, until: number, reason: string): void {
    if (until <= channel.pausedUntil) return
    channel.pausedUntil = until
    channel.pauseReason = reason
    this.store.transaction(() => this.store.deliveries.pauseChannel(channel.config.name, until, reason))
    // What was claimed but not started goes back, due when the pause ends.
    this.handBack(channel, channel.waiting.splice(0), 'rate-limited', until, reason)
  }

  /**
   * The channel cannot send at all: no more sends on it from this process (a worker tries again
   * later), and what it holds claimed goes back to the queue.
   */
  private stopChannel(channel: ChannelState, now: number, reason: string): void {
    if (channel.unusableUntil > now) return
    channel.unusableUntil = this.keepRunning ? now + unusableRetryMs : Infinity
    channel.unusableReason = reason
    this.summary.unusableChannels[channel.config.name] = reason
    this.handBack(channel, channel.waiting.splice(0), 'unusable', now, reason)
    this.onChannelStopped?.({channel: channel.config.name, reason, until: channel.unusableUntil})
  }

  /** Claimed deliveries not started, back to the queue (the attempt not counted), due at `dueAt`. */
  private handBack(channel: ChannelState, deliveries: Claimed[], outcome: 'rate-limited' | 'aborted' | 'unusable', dueAt: number, reason?: string): void {
    const now = this.now()
    for (const delivery of deliveries) {
      this.addResult(channel, delivery, {id: delivery.id, owner: this.owner, startedAt: now, durationMs: 0, outcome, nextState: 'queued', dueAt, error: reason, refundAttempt: true, notAttempted: true}, false)
    }
  }

  private addResult(channel: ChannelState, delivery: ClaimedDelivery, result: AttemptResult, count = true): void {
    this.writes.add(result, delivery.announcementId)
    if (result.nextState === 'sent') channel.rateLimitsInARow = 0
    if (count) {
      if (result.nextState === 'sent') this.summary.sent++
      else if (result.nextState === 'failed') this.summary.retrying++
      else if (result.nextState === 'dead') this.summary.dead++
      else if (result.nextState === 'unknown') this.summary.unknown++
      else if (result.nextState === 'expired') this.summary.expired++
      else if (result.nextState === 'queued') this.summary.requeued++
      this.onEvent?.({channel: channel.config.name, deliveryId: delivery.id, announcementId: delivery.announcementId, outcome: result.outcome, nextState: result.nextState, error: result.error})
    }
  }

  private recipientAddress(delivery: Claimed, contact: 'email' | 'phone'): string | undefined {
    return delivery.audience?.recipient[contact]
  }

  private announcementFor(id: string): Announcement {
    const announcement = this.knownAnnouncement(id)
    if (!announcement) throw new Error(`announcement ${id} is missing`)
    return announcement
  }

  /**
   * Idle, nothing in flight: what was read and rendered for the sends so far is let go, so that
   * a worker running for months does not keep every announcement it ever sent.
   */
  private forgetAnnouncements(): void {
    this.announcements.clear()
    for (const channel of this.channels.values()) channel.renders.clear()
  }

  /** Read once, not per send: per-recipient sends render for every subscriber, and an Update or Cancel reads its original too. */
  private knownAnnouncement(id: string): Announcement | undefined {
    let announcement = this.announcements.get(id)
    if (!announcement) {
      announcement = this.store.announcements.get(id)
      if (announcement) this.announcements.set(id, announcement)
    }
    return announcement
  }

  /** Broadcast renders are cached per announcement × channel; per-recipient ones are made per send. */
  private renderFor(announcement: Announcement, channel: ChannelState, recipient?: Recipient): Rendered {
    let rendered = recipient ? undefined : channel.renders.get(announcement.id)
    if (!rendered) {
      const thread = followedUp(announcement, (id) => this.knownAnnouncement(id))
      const variant = recipient?.language ? readerVariant(announcement.variants, recipient.language) : channelVariant(announcement, channel.config)
      rendered = channel.driver.render(announcement, variant, {channel: channel.config, capUrl: capUrlFor(announcement, this.config), timeZone: this.config.timezone, ...thread, recipient})
      if (!recipient) channel.renders.set(announcement.id, rendered)
    }
    return rendered
  }

  private async resolveInDoubt(abort?: AbortSignal): Promise<void> {
    const reconciled = await resolveAbandonedLeases({
      startedSendsDir: this.startedSendsDir,
      store: this.store,
      config: this.config,
      owner: this.owner,
      now: this.now,
      http: this.http,
      signal: abort ?? new AbortController().signal,
    })
    this.summary.unknown += reconciled.unknown
    for (const delivery of reconciled.leftUnknown) {
      this.onEvent?.({channel: delivery.channel, deliveryId: delivery.id, announcementId: delivery.announcementId, outcome: 'transient', nextState: 'unknown', error: delivery.reason})
    }
    this.summary.requeued += reconciled.requeued
    this.summary.sent += reconciled.sent
  }

  /**
   * Claimed, not started, and cancelled or superseded since (by another process): handed back,
   * which ends them cancelled, rather than sent after the Cancel or Update that stopped them.
   */
  private letGoOfStopped(): void {
    let holding = false
    for (const channel of this.channels.values()) holding ||= channel.waiting.length > 0
    if (!holding) return
    const stopped = new Set(this.store.deliveries.stoppedWhileHeld(this.owner))
    if (stopped.size === 0) return
    for (const channel of this.channels.values()) {
      const gone = channel.waiting.filter((delivery) => stopped.has(delivery.id))
      if (gone.length === 0) continue
      channel.waiting = channel.waiting.filter((delivery) => !stopped.has(delivery.id))
      this.handBack(channel, gone, 'aborted', this.now())
    }
  }

  /**
   * A contact opted out since its delivery was claimed (crier subscribers optout, moments ago):
   * marked on the claimed copy, so that prepare() skips it when its turn comes. Only what is
   * already on the wire can still reach them.
   */
  private noticeOptOuts(): void {
    const contacts: string[] = []
    for (const channel of this.channels.values()) {
      const contact = channel.driver.capabilities.contact
      if (!contact) continue
      for (const delivery of channel.waiting) {
        const address = delivery.audience?.recipient[contact]
        if (address && !delivery.audience!.optedOut[contact]) contacts.push(address)
      }
    }
    if (contacts.length === 0) return
    const optedOut = this.store.subscribers.optedOutAmong(contacts)
    if (optedOut.size === 0) return
    for (const channel of this.channels.values()) {
      const contact = channel.driver.capabilities.contact
      if (!contact) continue
      for (const delivery of channel.waiting) if (delivery.audience && optedOut.has(delivery.audience.recipient[contact] ?? '')) delivery.audience.optedOut[contact] = true
    }
  }

  private refreshPauses(now: number): void {
    const pauses = this.store.deliveries.pausedChannels(now)
    for (const [name, channel] of this.channels) channel.pausedUntil = Math.max(channel.pausedUntil > now ? channel.pausedUntil : 0, pauses.get(name) ?? 0)
  }

  private expireOverdue(now: number): void {
    const {expired} = this.store.transaction(() => {
      const result = this.store.deliveries.expireOverdue(now)
      finishAnnouncementsIfDone(this.store, result.announcementIds, now)
      return result
    })
    this.summary.expired += expired.length
    for (const delivery of expired) {
      this.onEvent?.({channel: delivery.channel, deliveryId: delivery.id, announcementId: delivery.announcementId, outcome: 'expired', nextState: 'expired', error: 'announcement expired before it could be sent'})
    }
  }

  /** The earliest time anything could become sendable, or null when nothing is pending. */
  private nextWakeAt(now: number): number | null {
    const candidates: number[] = []
    const awake: string[] = []
    for (const [name, channel] of this.channels) {
      // A channel paused (429) or stopped (unusable) wakes when that ends, and only if it has
      // work by then; a stopped-for-the-run channel does not wake this run at all. (Just drained
      // is no reason to wait: the sleep ends it, and work that came since is due now.)
      const asleepUntil = Math.max(channel.pausedUntil, channel.unusableUntil)
      if (asleepUntil <= now) awake.push(name)
      else if (asleepUntil < Infinity) {
        const due = this.store.deliveries.nextDueAt([name], this.only)
        if (due !== null) candidates.push(Math.max(due, asleepUntil))
      }
    }
    const due = awake.length > 0 ? this.store.deliveries.nextDueAt(awake, this.only) : null
    if (due !== null) {
      candidates.push(due)
      // Work due later: look again when a drained channel may have more (from another process).
      for (const channel of this.channels.values()) if (channel.drainedUntil > now) candidates.push(channel.drainedUntil)
    }
    const leaseExpiry = this.store.deliveries.nextLeaseExpiry()
    if (leaseExpiry !== null) candidates.push(leaseExpiry)
    if (candidates.length === 0) return null
    return Math.max(now, Math.min(...candidates))
  }

  /**
   * Until something changed (a send finished, a claim committed, a signal) or 50 ms passed. The
   * loop resumes after the I/O callbacks of this turn, not at the first of them: sends that finish
   * together then cost one pass of the loop, not one each (bench: 10,000 webhook sends took
   * 10,000 passes, now about 600; the dispatcher's thread spends about a fifth less per send).
   */
  private waitForProgress(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, 50)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wakeUp = () => {
        this.wakeUp = undefined
        setImmediate(done)
      }
    })
  }

  private async sleep(ms: number, stop?: AbortSignal): Promise<void> {
    if (stop?.aborted) return
    try {
      await sleepFor(ms, undefined, {signal: stop})
    } catch {
      // Stopped early by a signal: the loop looks at it next.
    }
  }

  /** Stops claiming, lets in-flight sends finish, hands back what was claimed but not started. */
  private async drain(): Promise<void> {
    // A claim still being made lands in `waiting` first, to be handed back with the rest.
    await this.claiming
    const now = this.now()
    for (const channel of this.channels.values()) this.handBack(channel, channel.waiting.splice(0), 'aborted', now)
    while (!this.isQuiet()) await this.waitForProgress()
    await this.writes.flush()
    this.writes.throwFailure()
  }
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return oneLine(redact(message), 500)
}

/**
 * How long a 429 pauses the channel: what the provider asked, but at least a second, doubling
 * with each 429 in a row up to a minute — a "Retry-After: 0" (or a date already past, from a
 * skewed clock) must not turn into a hundred requests a second — and never more than an hour.
 */
export function rateLimitPauseMs(retryAfterMs: number, inARow: number): number {
  const least = Math.min(60_000, 1000 * 2 ** Math.max(0, inARow - 1))
  return Math.min(maxProviderWaitMs, Math.max(least, retryAfterMs))
}

function emptySummary(): RunSummary {
  return {sent: 0, retrying: 0, dead: 0, unknown: 0, expired: 0, requeued: 0, stoppedBy: 'idle', unusableChannels: {}}
}

function earliest(...times: Array<number | null>): number | null {
  const known = times.filter((time): time is number => time !== null)
  return known.length ? Math.min(...known) : null
}

/**
 * Why a delivery cannot go through the channel now under its name, if it cannot: the channel was
 * declared again as another kind (an sms channel now a webhook) or another type of the same kind
 * (a private webhook now a public feed) since it was queued — what was made for the one must
 * not go out through the other.
 */
function madeForAnotherChannel(channel: ChannelState, delivery: Claimed, announcement: Announcement): string | undefined {
  if ((delivery.recipient !== null) !== (channel.driver.kind === 'per-recipient')) {
    return `its queued deliveries were made for ${delivery.recipient !== null ? 'one that sends to subscribers' : 'one that publishes once'}`
  }
  const madeFor = announcement.channelTypes?.[channel.config.name]
  return madeFor && madeFor !== channel.config.type ? `deliveries waiting on it were queued for a ${madeFor} channel` : undefined
}
