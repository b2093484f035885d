import {randomBytes} from 'node:crypto'
import {access, chmod, constants, mkdir, open, readdir, rename, rm, stat} from 'node:fs/promises'
import {basename, dirname, join, relative, resolve} from 'node:path'
import {z} from 'zod'
import type {Announcement} from '../core/announcement.js'
import {alertsFeedPath, buildAlertsEntries, buildAlertsFeed, buildCapIndexFeed, capDocumentPath, capIndexPath} from '../core/cap/atom.js'
import {buildCapXml} from '../core/cap/build.js'
import type {ChannelConfig, Driver, Receipt, RenderContext, RenderedPart, SendContext} from './driver.js'
import {PermanentSendError, TransientSendError} from './errors.js'
import {publishedSetting} from '../config/schema.js'
import {isApiBaseUrl} from './http-url.js'

// Publishes announcements as files a web server serves: one CAP 1.2 document per announcement
// (dir/cap/<id>.xml) and two Atom feeds rewritten from the channel's current announcements
// (dir/alerts.atom for people, dir/cap/index.atom for CAP aggregators). Every file is written
// to a temporary name in the same folder and renamed, so a reader never sees half a file.
// The CAP and Atom builders load xmlbuilder2 on first use (70-100 ms), not when the registry loads.

const feedSettings = z.object({
  dir: z.string(),
  /**
   * Public address of `dir`; links and ids are relative / URNs without it. The documents' paths
   * go after it, as an API's do after its baseUrl: published in every link, so no credentials,
   * ?query or #fragment (and http(s) only: a javascript: or file: link is no address of a site).
   */
  baseUrl: z.string().refine(isApiBaseUrl, "expected the site's http(s) address of dir, without user:password, ?query or #fragment (the documents' paths go after it)").optional(),
  title: publishedSetting.optional(),
  /** The newest this many current announcements are listed (an announcement without an expiry would otherwise stay for ever). */
  maxEntries: z.number().int().min(1).max(10_000).default(100),
  /** Files crier creates are private by default; a site that serves them directly may set 0644. */
  fileMode: z.string().regex(/^0?[0-7]{3}$/, 'expected an octal file mode such as 0600 or 0644').default('0600'),
})
export type FeedSettings = z.infer<typeof feedSettings>

/** render() output and send() input: the CAP document, written byte for byte as previewed. */
export interface FeedPayload {
  /** Relative to the channel's dir: cap/<announcement id>.xml. */
  capPath: string
  capXml: string
}

/**
 * The announcement an Update or Cancel refers to, so its CAP <references> can name it. Not yet
 * part of RenderContext; without it the element is left out.
 */
type FeedRenderContext = RenderContext<FeedSettings>

/** Retrying cannot help: the folder is not ours to write. */
const permanentCodes: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder is in the way',
  ENAMETOOLONG: 'the path is too long',
}
/** The disk or the system may recover: full disk, I/O error, too many open files. */
const transientReasons: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EIO: 'input/output error',
  EAGAIN: 'resource temporarily unavailable',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EBUSY: 'resource busy',
}

export const feed: Driver<FeedSettings, FeedPayload> = {
  type: 'feed',
  kind: 'broadcast',
  config: feedSettings,
  pathSettings: ['dir'],
  capabilities: {counts: 'characters', threads: false, media: false, idempotent: true, reconcile: false},

  // The CAP document carries every language variant, as CAP has it; the Atom feed lists the
  // channel's language only, where it has one (a Welsh site's feed), else every one.
  render(announcement, _variant, context: FeedRenderContext) {
    const capPath = capDocumentPath(announcement.id)
    const capXml = buildCapXml(announcement, {referenced: context.referenced, earlier: context.earlier})
    const entries: RenderedPart[] = buildAlertsEntries(announcement, {baseUrl: context.channel.baseUrl, language: context.channel.language}).map((entry) => ({
      label: `${alertsFeedPath} entry (${entry.language})`,
      text: entry.xml,
    }))
    return {parts: [{label: capPath, text: capXml}, ...entries], payload: {capPath, capXml}}
  },

  async send(payload, context) {
    const {channel} = context
    const mode = Number.parseInt(channel.fileMode, 8)
    const title = channel.title ?? context.announcement.senderName ?? context.announcement.sender
    const target = join(channel.dir, payload.capPath)
    try {
      await createFolders(join(channel.dir, dirname(payload.capPath)), fileModeFolder(mode))
      await openToReaders(channel.dir, mode)
      // The CAP document first: a feed must never link a file that is not there yet.
      await writeFileAtomically(target, payload.capXml, mode)
    } catch (error) {
      throw classifyFileError(error, target, channel.dir)
    }
    await writeFeeds(channel, () => withSentAnnouncement(context), title, context.now())
    const receipt: Receipt = {providerId: payload.capPath}
    const baseUrl = channel.baseUrl?.replace(/\/+$/, '')
    if (baseUrl) receipt.url = `${baseUrl}/${payload.capPath}`
    return receipt
  },

  async republish(channel, collection, now, publisher) {
    const title = channel.title ?? publisher.senderName ?? publisher.sender
    try {
      await createFolders(join(channel.dir, dirname(capIndexPath)), fileModeFolder(Number.parseInt(channel.fileMode, 8)))
      await openToReaders(channel.dir, Number.parseInt(channel.fileMode, 8))
    } catch (error) {
      throw classifyFileError(error, channel.dir, channel.dir)
    }
    await writeFeeds(channel, collection, title, now)
  },

  async check(channel) {
    const dir = resolve(channel.dir)
    try {
      const folder = await stat(dir).catch((error: unknown) => {
        if (errorCode(error) === 'ENOENT') return undefined
        throw error
      })
      if (!folder) {
        // Creating the folder is sending's job; checking only asks whether it could.
        const ancestor = await nearestExistingFolder(dir)
        await access(ancestor, constants.W_OK | constants.X_OK)
        return {ok: true, detail: `${dir} does not exist yet; it will be created in ${ancestor}`}
      }
      if (!folder.isDirectory()) return {ok: false, detail: `${dir} is not a folder — set the channel's dir to a folder`}
      await probeWritable(dir)
      return {ok: true, detail: `${dir} is writable`}
    } catch (error) {
      return {ok: false, detail: `cannot write in ${dir}: ${describeError(error)} — make it writable by crier or change the channel's dir`}
    }
  },
}

/**
 * A feed first written private, then given a readable fileMode ("0644" for the web server):
 * folders crier made 0700 would keep every file out of reach, the new ones too, and the
 * documents written before stay 0600 while the feeds link them. Its own two folders are opened
 * as far as the files are, and its own files given the mode — only ever widened, only when a
 * folder was found closed (one stat each on every other send).
 */
async function openToReaders(dir: string, fileMode: number): Promise<void> {
  const wanted = (fileMode & 0o040 ? 0o050 : 0) | (fileMode & 0o004 ? 0o005 : 0)
  if (!wanted) return
  const capFolder = join(dir, dirname(capIndexPath))
  let widened = false
  for (const folder of [dir, capFolder]) {
    const current = (await stat(folder)).mode & 0o777
    if ((current & wanted) === wanted) continue
    await chmod(folder, current | wanted)
    widened = true
  }
  if (!widened) return
  const documents = (await readdir(capFolder)).filter((name) => !name.startsWith('.') && (name.endsWith('.xml') || name === basename(capIndexPath)))
  for (const file of [...documents.map((name) => join(capFolder, name)), join(dir, alertsFeedPath)]) {
    await chmod(file, fileMode).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT') throw error
    })
  }
}

/** Folders the web server must traverse are world-readable only if the files are. */
function fileModeFolder(fileMode: number): number {
  return fileMode & 0o044 ? 0o755 : 0o700
}

/**
 * Writes both feeds from what is current, then reads it again: another process that sent to
 * the channel meanwhile may have written its feeds before these, without this announcement —
 * the last writer must have seen every send, so the feeds are written again while it changes.
 */
async function writeFeeds(channel: ChannelConfig<FeedSettings>, current: () => Announcement[], title: string, now: number): Promise<void> {
  const mode = Number.parseInt(channel.fileMode, 8)
  const baseUrl = channel.baseUrl?.replace(/\/+$/, '')
  let announcements = current()
  let target = channel.dir
  try {
    for (let round = 0; round < 3; round++) {
      const {maxEntries} = channel
      const capIndex = buildCapIndexFeed(announcements, {title: `${title}: CAP index`, baseUrl, now, maxEntries, id: feedId(channel, baseUrl, capIndexPath)})
      const alertsFeed = buildAlertsFeed(announcements, {title, baseUrl, now, maxEntries, id: feedId(channel, baseUrl, alertsFeedPath), language: channel.language})
      for (const [path, contents] of [[capIndexPath, capIndex], [alertsFeedPath, alertsFeed]] as const) {
        target = join(channel.dir, path)
        await writeFileAtomically(target, contents, mode)
      }
      await syncFolders([join(channel.dir, dirname(capIndexPath)), channel.dir])
      const again = current()
      if (sameEntries(again, announcements)) break
      announcements = again
    }
  } catch (error) {
    throw classifyFileError(error, target, channel.dir)
  }
}

function sameEntries(a: Announcement[], b: Announcement[]): boolean {
  const ids = new Set(a.map((announcement) => announcement.id))
  return a.length === b.length && b.every((announcement) => ids.has(announcement.id))
}

/** The feeds list the channel's current announcements, with the one being sent among them. */
function withSentAnnouncement(context: SendContext<FeedSettings>): Announcement[] {
  const collection = context.collection ?? []
  return [...collection.filter((announcement) => announcement.id !== context.announcement.id), context.announcement]
}

function feedId(channel: ChannelConfig<FeedSettings>, baseUrl: string | undefined, path: string): string {
  return baseUrl ? `${baseUrl}/${path}` : `urn:crier:feed:${encodeURIComponent(channel.name)}:${path}`
}

/** mkdir applies the umask; folders crier creates get exactly the mode the files imply. */
async function createFolders(folder: string, mode: number): Promise<void> {
  const firstCreated = await mkdir(folder, {recursive: true, mode})
  if (!firstCreated) return
  for (let current = resolve(folder); ; current = dirname(current)) {
    await chmod(current, mode)
    if (current === resolve(firstCreated) || dirname(current) === current) break
  }
}

/** Temp file in the same folder (rename is atomic only within one file system), then rename. */
async function writeFileAtomically(path: string, contents: string, mode: number): Promise<void> {
  // A leading dot keeps most web servers from serving the half-written file.
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  let renamed = false
  try {
    const handle = await open(temporary, 'wx', mode)
    try {
      await handle.writeFile(contents, 'utf8')
      // open() applies the umask too; chmod makes the mode exactly the configured one.
      await handle.chmod(mode)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
    renamed = true
  } finally {
    if (!renamed) await rm(temporary, {force: true}).catch(() => undefined)
  }
}

/** Makes the renames durable; best effort, as not every platform can fsync a folder. */
async function syncFolders(folders: string[]): Promise<void> {
  for (const folder of folders) {
    const handle = await open(folder, 'r').catch(() => undefined)
    if (!handle) continue
    await handle
      .sync()
      .catch(() => undefined)
      .finally(() => handle.close())
  }
}

async function probeWritable(dir: string): Promise<void> {
  const probe = join(dir, `.crier-check-${randomBytes(6).toString('hex')}.tmp`)
  try {
    const handle = await open(probe, 'wx', 0o600)
    await handle.close()
  } finally {
    await rm(probe, {force: true}).catch(() => undefined)
  }
}

async function nearestExistingFolder(dir: string): Promise<string> {
  let current = dirname(dir)
  for (;;) {
    const found = await stat(current).then(
      (stats) => stats,
      () => undefined,
    )
    if (found) {
      if (!found.isDirectory()) throw Object.assign(new Error(`${current} is a file`), {code: 'ENOTDIR'})
      return current
    }
    if (dirname(current) === current) return current
    current = dirname(current)
  }
}

function classifyFileError(error: unknown, path: string, dir: string): Error {
  const code = errorCode(error)
  if (code === undefined) return error instanceof Error ? error : new Error(String(error))
  const shown = relative(dir, path) === '' ? dir : path
  const permanent = permanentCodes[code]
  if (permanent !== undefined) {
    return new PermanentSendError(`cannot write ${shown}: ${permanent} (${code}) — make ${dir} writable by crier or change the channel's dir`)
  }
  return new TransientSendError(`cannot write ${shown}: ${describeError(error)}`)
}

function describeError(error: unknown): string {
  const code = errorCode(error)
  if (code !== undefined) {
    const reason = permanentCodes[code] ?? transientReasons[code]
    if (reason !== undefined) return `${reason} (${code})`
  }
  return error instanceof Error ? error.message : String(error)
}

function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as {code?: unknown}).code : undefined
  return typeof code === 'string' ? code : undefined
}
