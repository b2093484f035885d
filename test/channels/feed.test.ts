import {execFileSync} from 'node:child_process'
import {chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {XMLParser, XMLValidator} from 'fast-xml-parser'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import type {ChannelConfig, SendContext} from '../../src/channels/driver.js'
import {PermanentSendError} from '../../src/channels/errors.js'
import {feed, type FeedSettings} from '../../src/channels/feed.js'
import type {HttpClient} from '../../src/channels/http.js'
import {channelCommonSchema} from '../../src/config/schema.js'
import {primaryVariant, type Announcement} from '../../src/core/announcement.js'
import {baseTime, makeAnnouncement, makeFullAnnouncement} from '../helpers/announcement.js'
import {capSchemaErrors} from '../helpers/validate-cap.js'
import {partsInMemory} from '../helpers/thread-parts.js'
import {asUnprivilegedUser} from '../helpers/unprivileged.js'

const hour = 3_600_000
const now = baseTime + 2 * hour

/** The feed never speaks HTTP; any request is a bug. */
const noHttp: HttpClient = {
  request: () => Promise.reject(new Error('the feed driver made an HTTP request')),
  close: async () => undefined,
}

const atomParser = new XMLParser({ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, isArray: (name) => ['entry', 'link'].includes(name)})
type Node = Record<string, unknown>

let root: string
let dir: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'crier-feed-'))
  // Traversable by the unprivileged user the read-only tests switch to.
  await chmod(root, 0o755)
  dir = join(root, 'public', 'alerts')
})

afterEach(async () => {
  await rm(root, {recursive: true, force: true})
})

function channel(settings: Record<string, unknown> = {}): ChannelConfig<FeedSettings> {
  return {...channelCommonSchema.parse({type: 'feed'}), ...(feed.config.parse({dir, ...settings}) as FeedSettings), name: 'website'}
}

function sendContext(config: ChannelConfig<FeedSettings>, announcement: Announcement, collection?: Announcement[]): SendContext<FeedSettings> {
  return {
    channel: config,
    deliveryId: `delivery-${announcement.id}`,
    idempotencyKey: `key-${announcement.id}`,
    announcement,
    signal: new AbortController().signal,
    ...partsInMemory(),
    http: noHttp,
    now: () => now,
    collection,
  }
}

async function publish(config: ChannelConfig<FeedSettings>, announcement: Announcement, collection?: Announcement[]) {
  const rendered = feed.render(announcement, primaryVariant(announcement), {channel: config})
  const receipt = await feed.send(rendered.payload, sendContext(config, announcement, collection))
  return {rendered, receipt}
}

async function readFeed(path: string): Promise<{feed: Node; entries: Node[]}> {
  const xml = await readFile(path, 'utf8')
  expect(XMLValidator.validate(xml)).toBe(true)
  const parsed = (atomParser.parse(xml) as {feed: Node}).feed
  return {feed: parsed, entries: (parsed['entry'] as Node[] | undefined) ?? []}
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, {recursive: true, withFileTypes: true})
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1))
    .sort()
}

describe('feed driver settings', () => {
  it('writes private files, listing the newest 100, unless told otherwise', () => {
    expect(feed.config.parse({dir: '/srv/alerts'})).toEqual({dir: '/srv/alerts', maxEntries: 100, fileMode: '0600'})
  })

  it('refuses a file mode that is not octal and a base URL that is not a URL', () => {
    expect(feed.config.safeParse({dir: '/srv', fileMode: '0999'}).success).toBe(false)
    expect(feed.config.safeParse({dir: '/srv', fileMode: 'rw-r--r--'}).success).toBe(false)
    expect(feed.config.safeParse({dir: '/srv', fileMode: '644'}).success).toBe(true)
    expect(feed.config.safeParse({dir: '/srv', baseUrl: 'northwales.example/alerts'}).success).toBe(false)
    // Published in every link: no script or file link, no credentials, nothing the paths would land inside.
    for (const baseUrl of ['javascript:alert(1)', 'file:///etc', 'https://user:pw@x.example/a', 'https://x.example/a#frag', 'https://northwales.example/alerts?x=1&y=2']) {
      expect(feed.config.safeParse({dir: '/srv', baseUrl}).success, baseUrl).toBe(false)
    }
    expect(feed.config.safeParse({dir: '/srv', baseUrl: 'https://northwales.example/alerts/'}).success).toBe(true)
  })

  it('does not load xmlbuilder2 until something is rendered', () => {
    // A fresh process: this one has loaded it already. Every command imports the registry.
    const script = [
      "import {createRequire} from 'node:module'",
      "const {feed} = await import('./src/channels/feed.ts')",
      'const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes("xmlbuilder2"))',
      'const before = loaded()',
      "feed.render({...JSON.parse(process.argv[1]), variants: [{language: 'en-GB', headline: 'h', description: 'd'}]}, {language: 'en-GB', headline: 'h', description: 'd'}, {channel: {dir: '.'}})",
      'console.log(JSON.stringify({before, after: loaded()}))',
    ].join('\n')
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(makeAnnouncement())], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    })
    expect(JSON.parse(output)).toEqual({before: false, after: true})
  })

  it('declares its dir a path and its sends idempotent', () => {
    expect(feed.pathSettings).toEqual(['dir'])
    expect(feed.capabilities).toEqual({counts: 'characters', threads: false, media: false, idempotent: true, reconcile: false})
  })
})

describe('feed render', () => {
  it('shows the CAP document and the feed entry of each language, touching no file', async () => {
    const announcement = makeFullAnnouncement()
    const rendered = feed.render(announcement, primaryVariant(announcement), {channel: channel({baseUrl: 'https://northwales.example/alerts'})})
    expect(rendered.parts.map((part) => part.label)).toEqual([`cap/${announcement.id}.xml`, 'alerts.atom entry (en-GB)', 'alerts.atom entry (cy-GB)'])
    expect(await capSchemaErrors(rendered.parts[0]!.text)).toEqual([])
    expect(rendered.parts[2]!.text).toContain('<title>Rhybudd llifogydd: Afon Conwy "difrifol" 🌊</title>')
    expect(rendered.payload).toEqual({capPath: `cap/${announcement.id}.xml`, capXml: rendered.parts[0]!.text})
    await expect(stat(dir)).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('a feed in one language lists each announcement in it, or in its first where it has none; its CAP document keeps every language', async () => {
    // A Welsh site's feed listed the English first, then the Welsh.
    const bilingual = makeFullAnnouncement()
    const englishOnly = makeAnnouncement({createdAt: bilingual.createdAt + 1})
    const welsh = {...channel(), language: 'cy-GB'}
    const rendered = feed.render(bilingual, primaryVariant(bilingual), {channel: welsh})
    expect(rendered.parts.map((part) => part.label)).toEqual([`cap/${bilingual.id}.xml`, 'alerts.atom entry (cy-GB)'])
    expect(rendered.parts[0]!.text).toContain('<language>en-GB</language>')
    await publish(welsh, bilingual, [englishOnly])
    const {entries} = await readFeed(join(dir, 'alerts.atom'))
    expect(entries.map((entry) => entry['@xml:lang'])).toEqual(['en-GB', 'cy-GB'])
    expect(entries.map((entry) => entry['title'])).toEqual([englishOnly.variants[0]!.headline, bilingual.variants.find((variant) => variant.language === 'cy-GB')!.headline])
  })

  it('names the referenced announcement of an Update when the engine gives it', () => {
    const original = makeAnnouncement()
    const update = makeAnnouncement({msgType: 'Update', references: original.id})
    const context = {channel: channel(), referenced: original}
    expect(feed.render(update, primaryVariant(update), context).payload.capXml).toContain(`<references>alerts@northwales.example,${original.identifier},2024-05-09T09:30:00-00:00</references>`)
  })
})

describe('feed send', () => {
  it('writes the CAP document exactly as rendered, valid against the CAP 1.2 schema', async () => {
    const announcement = makeFullAnnouncement()
    const {rendered, receipt} = await publish(channel({baseUrl: 'https://northwales.example/alerts/'}), announcement)
    const written = await readFile(join(dir, 'cap', `${announcement.id}.xml`), 'utf8')
    expect(written).toBe(rendered.parts[0]!.text)
    expect(await capSchemaErrors(written)).toEqual([])
    expect(receipt).toEqual({providerId: `cap/${announcement.id}.xml`, url: `https://northwales.example/alerts/cap/${announcement.id}.xml`})
    expect(await filesUnder(dir)).toEqual(['alerts.atom', `cap/${announcement.id}.xml`, 'cap/index.atom'])
  })

  it('returns no URL when the channel has no public address', async () => {
    const announcement = makeAnnouncement()
    const {receipt} = await publish(channel(), announcement)
    expect(receipt).toEqual({providerId: `cap/${announcement.id}.xml`})
  })

  it('creates private files and folders by default, whatever the umask', async () => {
    const previous = process.umask(0o022)
    try {
      const announcement = makeAnnouncement()
      await publish(channel(), announcement)
      for (const file of ['alerts.atom', 'cap/index.atom', `cap/${announcement.id}.xml`]) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600)
      for (const folder of [join(root, 'public'), dir, join(dir, 'cap')]) expect((await stat(folder)).mode & 0o777).toBe(0o700)
    } finally {
      process.umask(previous)
    }
  })

  it('creates world-readable files and folders when the site serves them, whatever the umask', async () => {
    const previous = process.umask(0o077)
    try {
      const announcement = makeAnnouncement()
      await publish(channel({fileMode: '0644'}), announcement)
      for (const file of ['alerts.atom', 'cap/index.atom', `cap/${announcement.id}.xml`]) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o644)
      for (const folder of [dir, join(dir, 'cap')]) expect((await stat(folder)).mode & 0o777).toBe(0o755)
    } finally {
      process.umask(previous)
    }
  })

  it('opens a feed first written private to readers once its fileMode says so: folders, and the documents already there', async () => {
    // Left 0700, the folders kept the web server out of every file, the new 0644 ones too.
    const previous = process.umask(0o022)
    try {
      const first = makeAnnouncement()
      await publish(channel(), first)
      const second = makeAnnouncement()
      await publish(channel({fileMode: '0644'}), second)
      for (const folder of [dir, join(dir, 'cap')]) expect((await stat(folder)).mode & 0o777).toBe(0o755)
      for (const file of ['alerts.atom', 'cap/index.atom', `cap/${first.id}.xml`, `cap/${second.id}.xml`]) expect((await stat(join(dir, file))).mode & 0o777, file).toBe(0o644)
      // A folder above the feed's own is not crier's to open: its admin lets the web server through.
      expect((await stat(join(root, 'public'))).mode & 0o777).toBe(0o700)
      await chmod(join(root, 'public'), 0o711)
      // Read as nobody, every file is there to serve.
      for (const file of ['alerts.atom', `cap/${first.id}.xml`]) expect(await asUnprivilegedUser(() => readFile(join(dir, file), 'utf8'))).toContain('<')
    } finally {
      process.umask(previous)
    }
  })

  it('replaces an existing file with one of the configured mode', async () => {
    await mkdir(dir, {recursive: true})
    await writeFile(join(dir, 'alerts.atom'), 'old', {mode: 0o666})
    await chmod(join(dir, 'alerts.atom'), 0o666)
    await publish(channel(), makeAnnouncement())
    expect((await stat(join(dir, 'alerts.atom'))).mode & 0o777).toBe(0o600)
  })

  it('rewrites both feeds from the collection: newest first, expired dropped, a Cancel shown', async () => {
    const config = channel({title: 'North Wales Police alerts', baseUrl: 'https://northwales.example/alerts'})
    const closure = makeAnnouncement({createdAt: baseTime - hour, variants: [{language: 'en-GB', headline: 'B5106 closed', description: 'Closed at Trefriw.'}]})
    const flood = makeFullAnnouncement({createdAt: baseTime})
    const expired = makeAnnouncement({createdAt: baseTime + hour, expiresAt: now - 1, variants: [{language: 'en-GB', headline: 'Expired', description: 'Gone.'}]})
    const cancel = makeAnnouncement({
      msgType: 'Cancel',
      references: closure.id,
      createdAt: baseTime + 90 * 60_000,
      variants: [{language: 'en-GB', headline: 'B5106 reopened', description: 'The road has reopened.'}],
    })
    // The collection holds what is current; the announcement being sent is not yet among it.
    await publish(config, cancel, [closure, flood, expired])

    const alerts = await readFeed(join(dir, 'alerts.atom'))
    expect(alerts.feed['title']).toBe('North Wales Police alerts')
    expect(alerts.feed['updated']).toBe('2024-05-09T11:30:00-00:00')
    expect(alerts.entries.map((entry) => entry['title'])).toEqual(['Cancelled: B5106 reopened', 'Flood warning: River Conwy "severe" 🌊', 'Rhybudd llifogydd: Afon Conwy "difrifol" 🌊'])

    const index = await readFeed(join(dir, 'cap', 'index.atom'))
    expect(index.entries.map((entry) => entry['id'])).toEqual([`https://northwales.example/alerts/cap/${cancel.id}.xml`, `https://northwales.example/alerts/cap/${flood.id}.xml`])
    expect(index.entries.map((entry) => (entry['link'] as Node[])[0]?.['@type'])).toEqual(['application/cap+xml', 'application/cap+xml'])
    expect(index.entries[0]?.['cap:msgType']).toBe('Cancel')
  })

  it('uses the sent announcement, not an older copy of it in the collection', async () => {
    const draft = makeAnnouncement({variants: [{language: 'en-GB', headline: 'Old headline', description: 'x'}]})
    const sent = {...draft, variants: [{language: 'en-GB', headline: 'New headline', description: 'x'}]}
    await publish(channel(), sent, [draft])
    const alerts = await readFeed(join(dir, 'alerts.atom'))
    expect(alerts.entries.map((entry) => entry['title'])).toEqual(['New headline'])
  })

  it('writes the same files when a delivery is sent again', async () => {
    const announcement = makeFullAnnouncement()
    await publish(channel(), announcement)
    const first = await readFile(join(dir, 'cap', `${announcement.id}.xml`), 'utf8')
    const firstIndex = await readFile(join(dir, 'cap', 'index.atom'), 'utf8')
    await publish(channel(), announcement)
    expect(await readFile(join(dir, 'cap', `${announcement.id}.xml`), 'utf8')).toBe(first)
    expect(await readFile(join(dir, 'cap', 'index.atom'), 'utf8')).toBe(firstIndex)
    expect(await filesUnder(dir)).toEqual(['alerts.atom', `cap/${announcement.id}.xml`, 'cap/index.atom'])
  })

  it('fails permanently, leaving nothing behind, when the folder is read-only', async () => {
    await mkdir(join(dir, 'cap'), {recursive: true, mode: 0o755})
    await chmod(join(dir, 'cap'), 0o555)
    const announcement = makeAnnouncement()
    const rendered = feed.render(announcement, primaryVariant(announcement), {channel: channel()})
    const sending = asUnprivilegedUser(() => feed.send(rendered.payload, sendContext(channel(), announcement)))
    await expect(sending).rejects.toThrow(PermanentSendError)
    await expect(sending).rejects.toThrow(new RegExp(`cannot write ${join(dir, 'cap', announcement.id)}\\.xml: permission denied \\(EACCES\\) — make ${dir} writable`))
    expect(await readdir(join(dir, 'cap'))).toEqual([])
  })

  it('fails permanently when a file stands where the folder should be', async () => {
    await mkdir(join(root, 'public'))
    await writeFile(dir, 'not a folder')
    const announcement = makeAnnouncement()
    const rendered = feed.render(announcement, primaryVariant(announcement), {channel: channel()})
    const sending = feed.send(rendered.payload, sendContext(channel(), announcement))
    await expect(sending).rejects.toThrow(PermanentSendError)
    await expect(sending).rejects.toThrow(/\(ENOTDIR\)/)
  })

  it('leaves no temporary file behind', async () => {
    const config = channel()
    const announcements = [makeAnnouncement(), makeFullAnnouncement(), makeAnnouncement()]
    for (const announcement of announcements) await publish(config, announcement, announcements)
    const files = await filesUnder(dir)
    expect(files.filter((file) => file.endsWith('.tmp'))).toEqual([])
    expect(files).toHaveLength(5)
  })
})

describe('feed check', () => {
  it('finds an existing folder writable and leaves no file in it', async () => {
    await mkdir(dir, {recursive: true})
    expect(await feed.check(channel(), {http: noHttp, signal: new AbortController().signal})).toEqual({ok: true, detail: `${dir} is writable`})
    expect(await readdir(dir)).toEqual([])
  })

  it('accepts a folder that does not exist yet but could be created, without creating it', async () => {
    expect(await feed.check(channel(), {http: noHttp, signal: new AbortController().signal})).toEqual({
      ok: true,
      detail: `${dir} does not exist yet; it will be created in ${root}`,
    })
    await expect(stat(join(root, 'public'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('reports a file where the folder should be', async () => {
    await mkdir(join(root, 'public'))
    await writeFile(dir, 'not a folder')
    const result = await feed.check(channel(), {http: noHttp, signal: new AbortController().signal})
    expect(result).toEqual({ok: false, detail: `${dir} is not a folder — set the channel's dir to a folder`})
  })

  it('reports a read-only folder', async () => {
    await mkdir(dir, {recursive: true})
    await chmod(dir, 0o555)
    const result = await asUnprivilegedUser(() => feed.check(channel(), {http: noHttp, signal: new AbortController().signal}))
    expect(result).toEqual({ok: false, detail: `cannot write in ${dir}: permission denied (EACCES) — make it writable by crier or change the channel's dir`})
    expect(await readdir(dir)).toEqual([])
  })
})
