import {createRequire} from 'node:module'
import {z} from 'zod'
import type {ChannelConfig, Driver, PostedPart} from './driver.js'
import {PermanentSendError, TransientSendError} from './errors.js'
import {socialText} from './social-text.js'
import {postThread, threadPosts} from './thread.js'
import {apiBaseUrl} from './http-url.js'
import {recordKey} from './bluesky-record-key.js'
import {authorized, currentSession, describeSession, failureOf, forgetSessions, reasonOf, xrpc, type Io, type Session} from './bluesky-session.js'
import {segmenter} from '../core/segmenter.js'

// Posts to a Bluesky account (or any atproto PDS) as app.bsky.feed.post records, long
// announcements as a thread of replies.
//
// The XRPC calls go through the shared undici pool rather than @atproto/api's agent: measured
// against a local PDS stand-in, the agent costs 3–10× a plain request per post (fetch, and
// lexicon validation of every answer), over the 1.5× the issue allows. The library still does
// what it is for: finding link and hashtag facets, loaded on first render (~10 ms, not the
// ~700 ms of its index).
//
// Idempotency: each post is written with com.atproto.repo.putRecord under a record key derived
// from the delivery id and the part's index, with `swapRecord: null` ("only if there is no
// record there yet"). A resend finds its own post already there (the PDS answers InvalidSwap)
// and takes it as posted, so a retry whose first answer was lost cannot post twice.
// (createRecord and applyWrites with an existing key fail with a bare 500, which would retry
// forever; putRecord's swap check says what happened.)

const postCollection = 'app.bsky.feed.post'
/** app.bsky.feed.post text: at most 300 graphemes and 3,000 UTF-8 bytes (the lexicon's limits). */
const maxGraphemes = 300
const maxTextBytes = 3000

/** `@police.bsky.social` and `police.bsky.social` are the same handle. */
const account = z
  .string()
  .trim()
  .min(1)
  .transform((text) => text.replace(/^@/, ''))

const blueskySettings = z
  .object({
    /** The account's PDS, or the entryway that signs it in (bsky.social hands over to the account's PDS). */
    baseUrl: apiBaseUrl.default('https://bsky.social'),
    /** Handle (police.bsky.social) or DID (did:plc:…) of the account that posts. */
    identifier: account.optional(),
    /** The same as identifier, as DESIGN.md's example config spells it. */
    handle: account.optional(),
    /** An app password (Settings → Privacy and security → App passwords); written `${ENV}` in config. */
    appPassword: z.string().min(1),
    /** Split a long announcement into a numbered thread; when false, over 300 graphemes is a policy error. */
    threads: z.boolean().default(true),
    /** Start the first post with the severity ("🟠 SEVERE"). */
    severityTag: z.boolean().default(true),
  })
  .superRefine((settings, context) => {
    if (!settings.identifier && !settings.handle) context.addIssue({code: 'custom', path: ['identifier'], message: 'required: the handle or DID of the account that posts'})
    if (settings.identifier && settings.handle) context.addIssue({code: 'custom', path: ['handle'], message: 'give identifier or handle, not both'})
  })
export type BlueskySettings = z.infer<typeof blueskySettings>

/** A link or hashtag span of a post, in UTF-8 byte offsets (app.bsky.richtext.facet). */
export interface Facet {
  index: {byteStart: number; byteEnd: number}
  features: Array<{$type: 'app.bsky.richtext.facet#link'; uri: string} | {$type: 'app.bsky.richtext.facet#tag'; tag: string}>
}

export interface BlueskyPost {
  text: string
  facets?: Facet[]
}

/** render() output and send() input: the posts of the thread, in order. */
export interface BlueskyPayload {
  posts: BlueskyPost[]
  /** The variant's language, when it is a well-formed BCP 47 tag (the lexicon's `langs`). */
  langs?: string[]
}

export const bluesky: Driver<BlueskySettings, BlueskyPayload> = {
  type: 'bluesky',
  kind: 'broadcast',
  config: blueskySettings,
  capabilities: {maxLength: maxGraphemes, counts: 'graphemes', threads: true, media: false, idempotent: true, reconcile: true},

  render(announcement, variant, context) {
    const {channel} = context
    const text = socialText(announcement, variant, {severityTag: channel.severityTag, capUrl: context.capUrl})
    const posts = threadPosts(text, {limit: maxGraphemes, count: splitLength, threads: channel.threads})
    const langs = isLanguageTag(variant.language) ? [variant.language] : undefined
    return {
      parts: posts.map((post, index) => ({
        label: posts.length === 1 ? 'post' : `post ${index + 1}/${posts.length}`,
        text: post,
        // Over the limit is reported, not thrown: the policy check turns it into an error. A post
        // within 300 graphemes may still pass 3,000 bytes (joined emoji): then bytes are its measure.
        length: Buffer.byteLength(post) > maxTextBytes ? {count: Buffer.byteLength(post), limit: maxTextBytes, unit: 'bytes'} : {count: graphemeLength(post), limit: maxGraphemes, unit: 'graphemes'},
      })),
      payload: {posts: posts.map((post) => withFacets(post)), ...(langs && {langs})},
    }
  },

  async send(payload, context) {
    const {channel} = context
    const io: Io = {http: context.http, signal: context.signal, now: context.now}
    return postThread(payload.posts, context, async (post, index, replyTo, root) => {
      const reply = replyTo && root ? {root: await strongRef(root, channel, io), parent: await strongRef(replyTo, channel, io)} : undefined
      const record = {
        $type: postCollection,
        text: post.text,
        ...(post.facets && {facets: post.facets}),
        ...(payload.langs && {langs: payload.langs}),
        ...(reply && {reply}),
        createdAt: new Date(context.now()).toISOString(),
      }
      return putPost(record, recordKey(context.deliveryId, index), channel, io)
    })
  },

  async check(channel, context) {
    const io: Io = {http: context.http, signal: context.signal, now: Date.now}
    let session: Session
    try {
      session = await currentSession(channel, io)
    } catch (error) {
      return {ok: false, detail: error instanceof Error ? error.message : String(error)}
    }
    return describeSession(session, channel)
  },

  /**
   * Looks the thread up by its record keys: the first post, and when it is numbered `1/n`, the
   * last. Both there → sent; otherwise undefined, and a resend posts only what is missing.
   */
  async reconcile(deliveryId, context) {
    const {channel} = context
    const io: Io = {http: context.http, signal: context.signal, now: context.now}
    const session = await currentSession(channel, io)
    const first = await getPost(session, recordKey(deliveryId, 0), channel, io)
    if (!first) return undefined
    const count = /\n1\/(\d+)$/.exec(first.text)
    if (count && Number(count[1]) > 1 && !(await getPost(session, recordKey(deliveryId, Number(count[1]) - 1), channel, io))) return undefined
    return {providerId: first.uri, url: postUrl(first.uri)}
  },

  async close() {
    forgetSessions()
  },
}

// Counting and facets.

/** Characters that may join a neighbour into one grapheme: CR (CR LF), and everything from U+0300 (combining marks, surrogates, ZWJ…). */
const joining = /[^\u0000-\u000c\u000e-\u02ff]+/g

/**
 * Bluesky's own count (RichText.graphemeLength): extended grapheme clusters, as Intl.Segmenter
 * splits them. Segmenting is ~2 µs a character and a thread split counts each text many times
 * (~30 ms for 2,000 characters), so only the stretches around characters that can join a
 * neighbour are segmented; below U+0300, CR aside, every character is a grapheme of its own.
 */
export function graphemeLength(text: string): number {
  let count = 0
  let counted = 0
  let stretchStart = 0
  let stretchEnd = 0
  const countStretch = () => {
    count += stretchStart - counted
    for (const _ of segmenter('grapheme').segment(text.slice(stretchStart, stretchEnd))) count++
    counted = stretchEnd
  }
  for (const match of text.matchAll(joining)) {
    // With one neighbour each side: the base a combining mark joins, the character a prepended mark joins.
    const start = Math.max(0, match.index - 1)
    const end = Math.min(text.length, match.index + match[0].length + 1)
    if (stretchEnd > 0 && start <= stretchEnd) {
      stretchEnd = end
      continue
    }
    if (stretchEnd > 0) countStretch()
    stretchStart = start
    stretchEnd = end
  }
  if (stretchEnd > 0) countStretch()
  return count + text.length - counted
}

/** For splitting only: a post must also stay within 3,000 bytes (ZWJ emoji run to 25 bytes each). */
function splitLength(text: string): number {
  return Buffer.byteLength(text) > maxTextBytes ? Number.POSITIVE_INFINITY : graphemeLength(text)
}

type Detection = typeof import('@atproto/api/dist/rich-text/detection.js')
let detection: Detection | undefined

/**
 * Link and hashtag facets, found by @atproto/api's own detector (what RichText's
 * detectFacetsWithoutResolution runs), with byte offsets into the UTF-8 text. Mentions are left
 * as plain text: a mention facet needs the DID, which takes a lookup render may not make;
 * cashtags ($ABC) are not ours to tag.
 */
export function withFacets(text: string): BlueskyPost {
  // The detector alone, not the package index (which loads every lexicon); it needs only the
  // text and a UTF-16 → UTF-8 index conversion, which is all UnicodeString gives it here.
  detection ??= createRequire(import.meta.url)('@atproto/api/dist/rich-text/detection.js') as Detection
  const unicode = {utf16: text, utf16IndexToUtf8Index: (index: number) => Buffer.byteLength(text.slice(0, index))}
  const detected = detection.detectFacets(unicode as unknown as Parameters<Detection['detectFacets']>[0]) ?? []
  const facets: Facet[] = []
  for (const facet of detected) {
    const features: Facet['features'] = []
    for (const feature of facet.features as Array<{$type: string; uri?: unknown; tag?: unknown}>) {
      const {$type, uri, tag} = feature
      if ($type === 'app.bsky.richtext.facet#link' && typeof uri === 'string') features.push({$type, uri})
      else if ($type === 'app.bsky.richtext.facet#tag' && typeof tag === 'string' && !tag.startsWith('$')) features.push({$type, tag})
    }
    if (features.length) facets.push({index: {byteStart: facet.index.byteStart, byteEnd: facet.index.byteEnd}, features})
  }
  facets.sort((a, b) => a.index.byteStart - b.index.byteStart)
  return facets.length ? {text, facets} : {text}
}

function isLanguageTag(text: string): boolean {
  return /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i.test(text)
}

// Posting.

interface StrongRef {
  uri: string
  cid: string
}

/**
 * Writes one post under its record key, unless a post is already there. The one already there
 * is ours (a send whose answer was lost) when it says the same; anything else there is a
 * collision of record keys, reported rather than taken for ours.
 */
async function putPost(record: {text: string} & Record<string, unknown>, rkey: string, channel: ChannelConfig<BlueskySettings>, io: Io): Promise<Omit<PostedPart, 'index'>> {
  const {answer, session} = await authorized(channel, io, 'com.atproto.repo.putRecord', (current) => ({repo: current.did, collection: postCollection, rkey, record, swapRecord: null}))
  let ref: StrongRef
  if (answer.status === 200) {
    // A 200 that names no record (a proxy, a baseUrl that is not a PDS) is not a post: tried
    // again under the same record key, which finds the post if there is one.
    if (typeof answer.json?.uri !== 'string') throw new TransientSendError(`putRecord answered ${answer.status} without the post's uri — check the channel's baseUrl`)
    ref = {uri: answer.json.uri, cid: typeof answer.json.cid === 'string' ? answer.json.cid : ''}
  } else if (answer.error === 'InvalidSwap') {
    const existing = await getPost(session, rkey, channel, io)
    // Deleted between the two requests: the next attempt writes it again.
    if (!existing) throw new TransientSendError(`${reasonOf(answer, channel)}, then not found`)
    if (existing.text !== record.text) {
      throw new PermanentSendError(`a different post already has this post's record key (${existing.uri}) — check the account before sending again`)
    }
    ref = {uri: existing.uri, cid: existing.cid}
  } else {
    throw failureOf(answer, channel, io)
  }
  return {providerId: ref.uri, url: postUrl(ref.uri), ...(ref.cid && {ref: ref.cid})}
}

/** A reply needs the post's uri and cid; the cid is fetched when an earlier attempt did not keep it. */
async function strongRef(part: PostedPart, channel: ChannelConfig<BlueskySettings>, io: Io): Promise<StrongRef> {
  if (part.ref) return {uri: part.providerId, cid: part.ref}
  const rkey = part.providerId.split('/').at(-1) ?? ''
  const found = await getPost(await currentSession(channel, io), rkey, channel, io)
  if (!found) throw new PermanentSendError(`the thread's post ${part.providerId} is gone; the rest cannot reply to it`)
  return {uri: found.uri, cid: found.cid}
}

/** com.atproto.repo.getRecord (public, no token): the post, or undefined when there is none. */
async function getPost(session: Session, rkey: string, channel: ChannelConfig<BlueskySettings>, io: Io): Promise<(StrongRef & {text: string}) | undefined> {
  const answer = await xrpc(channel, io, session.pdsUrl, 'com.atproto.repo.getRecord', {method: 'GET', query: {repo: session.did, collection: postCollection, rkey}})
  if (answer.status === 200) {
    const {uri, cid, value} = answer.json ?? {}
    const text = value && typeof value === 'object' ? (value as {text?: unknown}).text : undefined
    return {uri: typeof uri === 'string' ? uri : `at://${session.did}/${postCollection}/${rkey}`, cid: typeof cid === 'string' ? cid : '', text: typeof text === 'string' ? text : ''}
  }
  if (answer.error === 'RecordNotFound' || answer.status === 404) return undefined
  throw failureOf(answer, channel, io)
}

/** https://bsky.app/profile/<did>/post/<rkey> for at://<did>/app.bsky.feed.post/<rkey>. */
export function postUrl(uri: string): string | undefined {
  const match = /^at:\/\/([^/]+)\/app\.bsky\.feed\.post\/([^/]+)$/.exec(uri)
  return match ? `https://bsky.app/profile/${match[1]}/post/${match[2]}` : undefined
}
