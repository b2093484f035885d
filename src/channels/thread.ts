import type {PostedPart, Receipt, SendContext} from './driver.js'
import type {SocialText} from './social-text.js'
import {segmenter, type Granularity} from '../core/segmenter.js'

// Long announcements become numbered threads ("… 1/3") instead of being cut off. The split is
// made at sentence boundaries where it can, at word boundaries where a sentence is too long,
// and inside a word only when one word is longer than a post. Each platform counts length its
// own way (X weighted, Bluesky graphemes…), so the count is a function the driver passes in.

export interface ThreadOptions {
  /** The platform's limit, in the platform's own unit. */
  limit: number
  /** The platform's own length of a piece of text. */
  count: (text: string) => number
  /** When false, the whole text is one part even if over the limit (policy then refuses it). */
  threads: boolean
}

/**
 * The posts of an announcement: the heading first, the link in the first post (the one people
 * see and share), numbered `i/n` at the end of each post when there is more than one.
 */
export function threadPosts(text: SocialText, options: ThreadOptions): string[] {
  const whole = [text.heading, text.body, text.link].filter(Boolean).join('\n\n')
  if (!options.threads || options.count(whole) <= options.limit) return [whole]
  const flow = [text.heading, text.body].filter(Boolean).join('\n\n')
  const firstTail = text.link ? `\n\n${text.link}` : ''
  // The numbering's width is not known until the split is made: assume one digit, then more.
  for (let digits = 1; digits <= 4; digits++) {
    const widest = '9'.repeat(digits)
    const bodies = splitToFit(flow, (index, candidate) => options.count(`${candidate}${index === 0 ? firstTail : ''}\n${widest}/${widest}`) <= options.limit)
    if (String(bodies.length).length > digits) continue
    return bodies.map((body, index) => `${body}${index === 0 ? firstTail : ''}\n${index + 1}/${bodies.length}`)
  }
  throw new Error('announcement too long to thread')
}

/** Greedy split of `text` into parts that each satisfy `fits(partIndex, part)`. */
function splitToFit(text: string, fits: (index: number, candidate: string) => boolean): string[] {
  const parts: string[] = []
  let current = ''
  const push = (): void => {
    const part = current.trim()
    if (part) parts.push(part)
    current = ''
  }
  const add = (piece: string, finer: Granularity | undefined): void => {
    const candidate = `${current}${piece}`.trim()
    if (fits(parts.length, candidate)) {
      current += piece
      return
    }
    if (current.trim() && fits(parts.length, piece.trim())) {
      push()
      current = piece.trimStart()
      return
    }
    // The piece alone does not fit a post: break it finer (sentence → words → graphemes) — but
    // never a link or an address: half of one misleads, so it goes whole and policy reports it.
    if (!finer || (finer === 'grapheme' && isUnbreakable(piece.trim()))) {
      // A single grapheme (or link) over the limit cannot be split; it goes alone and policy reports it.
      push()
      current = piece
      return
    }
    for (const segment of segmentsOf(piece, finer)) add(segment, finer === 'word' ? 'grapheme' : finer === 'sentence' ? 'word' : undefined)
  }
  // Paragraph breaks stay with the text before them, so a post ends at a paragraph when it can.
  for (const segment of segmentsOf(text, 'sentence')) add(segment, 'word')
  push()
  return parts
}

// A link, an address, a hashtag or a mention is never cut: the sentence segmenter ends a
// sentence at the "?" of a query string, the word segmenter breaks at "/", "-" and "@", and half
// a link is a link to the wrong page. In order: links with a scheme or www, e-mail addresses and
// full handles (@police@mastodon.social), bare domains with a path (conwy.gov.uk/floods, which X
// and Bluesky link too), then hashtags and mentions.
const unbreakable = /(?:https?:\/\/|www\.)[^\s<>"]+|@?[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+|(?:[\p{L}\p{N}-]+\.)+\p{L}{2,}\/[^\s<>"]*|[#@][\p{L}\p{M}\p{N}_]+/gu

function isUnbreakable(word: string): boolean {
  return [...word.matchAll(unbreakable)].some((match) => match[0] === word)
}

/** The segmenter's segments of `text`, joined where a boundary falls inside a link, hashtag or mention. */
function* segmentsOf(text: string, granularity: Granularity): Generator<string> {
  // Graphemes break only a piece longer than a whole post (a bare token that long goes whole: splitToFit).
  const inside = granularity === 'grapheme' ? [] : [...text.matchAll(unbreakable)].map((match) => [match.index, match.index + match[0].length] as const)
  let pending = ''
  for (const {segment, index} of segmenter(granularity).segment(text)) {
    pending += segment
    const end = index + segment.length
    if (inside.some(([start, stop]) => end > start && end < stop)) continue
    yield pending
    pending = ''
  }
  if (pending) yield pending
}

/**
 * Posts the thread's parts in order, each replying to the one before, starting after the parts
 * earlier attempts already posted: a thread whose third post failed is resumed at the third.
 * An Update or Cancel's first part replies to the original's last post (`followUpOf`), so the
 * follow-up reads under what it corrects. `postOne` posts one part and returns its id (and
 * whatever a reply to it needs).
 */
export async function postThread<Post>(
  posts: Post[],
  context: Pick<SendContext<unknown>, 'postedParts' | 'recordPart' | 'signal' | 'followUpOf'>,
  postOne: (post: Post, index: number, replyTo: PostedPart | undefined, root: PostedPart | undefined) => Promise<Omit<PostedPart, 'index'>>,
): Promise<Receipt> {
  const posted = context.postedParts.slice(0, posts.length)
  const followUpOf = posted.length < posts.length ? context.followUpOf : undefined
  for (let index = posted.length; index < posts.length; index++) {
    context.signal.throwIfAborted()
    const replyTo = index > 0 ? posted[index - 1] : followUpOf?.parent
    const part: PostedPart = {index, ...(await postOne(posts[index]!, index, replyTo, followUpOf?.root ?? posted[0]))}
    context.recordPart(part)
    posted.push(part)
  }
  const first = posted[0]
  if (!first) throw new Error('a thread needs at least one post')
  return {providerId: first.providerId, ...(first.url && {url: first.url})}
}
