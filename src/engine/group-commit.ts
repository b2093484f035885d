import type {Store} from '../store/index.js'
import type {AttemptResult} from '../store/deliveries.js'
import {inlineQueueWriter, startQueueThread, type QueueWriter} from './queue-writer.js'
import type {ChannelClaim, ClaimRequest, PendingWrites} from './queue-writes.js'

// The dispatcher's writes: results buffered for a group commit, and claims, asked of the queue
// writer in order — inline on the dispatcher's connection, or on a queue thread once the queue
// is big. Buffered results ride along with the next claim (one commit, one fsync, instead of
// two). A claim or commit that fails puts its results back in the buffer — a send that happened
// is never forgotten, nor left to look in doubt — and the run loop throws the error.

const groupCommitSize = 128
const groupCommitDelayMs = 20

export class GroupCommit {
  private results: AttemptResult[] = []
  /** Announcements with a delivery that reached a final state (or may have) since the last commit. */
  private finished = new Set<string>()
  /** Contacts a provider reported as unsubscribed. */
  private optOuts: Array<{contact: string; how: string}> = []
  private timer: NodeJS.Timeout | undefined
  private writer: QueueWriter
  private readonly inline: QueueWriter
  private thread: Promise<QueueWriter | undefined> | undefined
  /** Settles when everything asked of the writer so far is done (it works in order). */
  private written: Promise<void> = Promise.resolve()
  /** A claim or commit that failed, for the run loop to throw. */
  private failure: unknown

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {
    this.inline = inlineQueueWriter(store)
    this.writer = this.inline
  }

  /** Where claims and commits run now: on the dispatcher's thread, or on a queue thread. */
  get runsOn(): 'here' | 'queue thread' {
    return this.writer === this.inline ? 'here' : 'queue thread'
  }

  /** Buffers one delivery's result: committed within groupCommitDelayMs, or at once when the buffer is full. */
  add(result: AttemptResult, announcementId: string): void {
    this.results.push(result)
    // A retry or a hand-back may end it all the same: one stopped in flight ends cancelled (store).
    this.finished.add(announcementId)
    if (this.results.length >= groupCommitSize) void this.flush()
    else this.timer ??= setTimeout(() => void this.flush(), groupCommitDelayMs)
  }

  /** Records, with the next commit, that a contact unsubscribed (a provider said so). */
  optOut(contact: string, how: string): void {
    this.optOuts.push({contact, how})
  }

  /** Claims for each request in one transaction that also commits the buffered results; the rows come once it has committed. */
  claim(owner: string, now: number, requests: ClaimRequest[]): Promise<ChannelClaim[]> {
    const pending = this.take()
    return this.ask((writer) => writer.claim(owner, now, requests, pending), pending)
  }

  /** Commits the buffered results; settles once they, and everything asked before them, are written. */
  flush(): Promise<void> {
    const pending = this.take()
    if (pending) void this.ask((writer) => writer.write(pending, this.now()), pending).catch(() => {})
    return this.written
  }

  /** Throws (once) the error of a claim or commit that failed. */
  throwFailure(): void {
    if (this.failure === undefined) return
    const failure = this.failure
    this.failure = undefined
    throw failure
  }

  /** A big queue: claims and commits move to a queue thread once it is up (or stay here if it cannot start). */
  startThread(): void {
    const origin = this.store.origin
    if (this.thread || !origin) return
    this.thread = startQueueThread(origin)
    void this.thread.then((thread) => {
      if (thread && this.thread) this.writer = thread
    })
  }

  /** Stops the queue thread, if one was started; later writes run here. */
  async close(): Promise<void> {
    const thread = await this.thread
    this.thread = undefined
    this.writer = this.inline
    await thread?.close()
  }

  private ask<T>(work: (writer: QueueWriter) => Promise<T>, pending: PendingWrites | undefined): Promise<T> {
    if (this.writer.stopped) this.writer = this.inline
    const done = work(this.writer)
    this.written = done.then(
      () => {},
      (error: unknown) => {
        if (pending) {
          this.results.unshift(...pending.results)
          for (const id of pending.finished) this.finished.add(id)
          this.optOuts.unshift(...pending.optOuts)
        }
        this.failure ??= error
      },
    )
    return done
  }

  /** Hands over the buffered results (none: undefined) and stops the commit timer. */
  private take(): PendingWrites | undefined {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.results.length === 0) return undefined
    const pending = {results: this.results, finished: [...this.finished], optOuts: this.optOuts}
    this.results = []
    this.finished = new Set()
    this.optOuts = []
    return pending
  }
}
