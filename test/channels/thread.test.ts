import {describe, expect, it} from 'vitest'
import {postThread, threadPosts} from '../../src/channels/thread.js'
import {socialText} from '../../src/channels/social-text.js'
import {makeAnnouncement} from '../helpers/announcement.js'
import {partsInMemory} from '../helpers/thread-parts.js'

const codePoints = (text: string) => [...text].length
const sentence = 'The A55 is closed westbound between J11 and J12 after a collision.'

describe('threadPosts', () => {
  it('keeps a text that fits as one post, unnumbered, heading then body then link', () => {
    const posts = threadPosts({heading: '🟠 SEVERE: A55 closed', body: sentence, link: 'https://example.org/a55'}, {limit: 280, count: codePoints, threads: true})
    expect(posts).toEqual([`🟠 SEVERE: A55 closed\n\n${sentence}\n\nhttps://example.org/a55`])
  })

  it('splits at sentence boundaries, numbers i/n, puts the link in the first post, and every post fits', () => {
    const body = Array.from({length: 8}, (_, i) => `Sentence number ${i + 1} says something useful about the closure.`).join(' ')
    const posts = threadPosts({heading: 'SEVERE: A55 closed', body, link: 'https://example.org/a55'}, {limit: 120, count: codePoints, threads: true})
    expect(posts.length).toBeGreaterThan(2)
    posts.forEach((post, i) => {
      expect(codePoints(post)).toBeLessThanOrEqual(120)
      expect(post.endsWith(`\n${i + 1}/${posts.length}`)).toBe(true)
    })
    expect(posts[0]).toContain('https://example.org/a55')
    expect(posts.slice(1).some((post) => post.includes('https://example.org'))).toBe(false)
    // Sentences are never cut: each post's text is whole sentences.
    for (const post of posts.slice(1)) expect(post.replace(/\n\d+\/\d+$/, '')).toMatch(/^Sentence number \d+ .*closure\.$/)
    // Nothing is lost or duplicated.
    const rejoined = posts.map((post) => post.replace(/\n\d+\/\d+$/, '').replace('\n\nhttps://example.org/a55', '')).join(' ')
    expect(rejoined.replace(/\s+/g, ' ')).toBe(`SEVERE: A55 closed ${body}`)
  })

  it('falls back to word boundaries for a sentence longer than a post', () => {
    const long = `${'word '.repeat(60).trim()}.`
    const posts = threadPosts({heading: 'H', body: long}, {limit: 50, count: codePoints, threads: true})
    for (const post of posts) {
      expect(codePoints(post)).toBeLessThanOrEqual(50)
      expect(post.replace(/\n\d+\/\d+$/, '')).toMatch(/^(H\n\n)?(word ?)+\.?$/)
    }
  })

  it('never cuts a link, a hashtag or a mention: not at the "?" of a query, nor at its "-" or "/"', () => {
    const query = 'https://www.northwales.police.uk/alerts/a55?x=1&y=2'
    const hyphens = 'https://www.northwales.police.uk/news/flood-warning-update-for-residents-of-conwy-valley'
    const filler = (n: number) => Array.from({length: n}, (_, i) => `Sentence ${i} is filler.`).join(' ')
    for (let padding = 0; padding < 40; padding++) {
      const body = `${filler(padding % 7)} Follow #A55Flood and @NWPolice for updates: ${query} and call 999. ${'word '.repeat(padding)}see ${hyphens} for more.`
      const posts = threadPosts({heading: 'Flood', body}, {limit: 110, count: codePoints, threads: true})
      const all = posts.join('\n')
      for (const token of [query, hyphens, '#A55Flood', '@NWPolice']) expect(all, `padding ${padding}`).toContain(token)
      for (const post of posts) expect(codePoints(post)).toBeLessThanOrEqual(110)
    }
    // An e-mail address, a full handle, a bare domain with a path, many times over.
    for (const token of ['help@conwy.gov.uk', '@police@mastodon.social', 'conwy.gov.uk/floods']) {
      const posts = threadPosts({heading: 'Road closed', body: Array.from({length: 40}, () => token).join(' ')}, {limit: 110, count: codePoints, threads: true})
      expect(posts.length).toBeGreaterThan(3)
      for (const post of posts) for (const word of post.replace(/\n\d+\/\d+$/, '').split(/\s+/).slice(2)) expect(word, token).toBe(token)
      for (const post of posts) expect(codePoints(post)).toBeLessThanOrEqual(110)
    }
  })

  it('sends a link longer than a post whole, in a post of its own over the limit, for policy to refuse — never half a link', () => {
    const long = `https://example.org/${'abcdefghij'.repeat(15)}`
    const posts = threadPosts({heading: 'Road closed', body: `Details: ${long} then more words here.`}, {limit: 100, count: codePoints, threads: true})
    expect(posts.filter((post) => post.includes(long))).toHaveLength(1)
    expect(posts.some((post) => codePoints(post) > 100)).toBe(true)
  })

  it('widens the numbering when the thread reaches ten posts', () => {
    const body = Array.from({length: 30}, (_, i) => `Line ${i}.`).join(' ')
    const posts = threadPosts({heading: 'H', body}, {limit: 20, count: codePoints, threads: true})
    expect(posts.length).toBeGreaterThanOrEqual(10)
    for (const post of posts) expect(codePoints(post)).toBeLessThanOrEqual(20)
    expect(posts.at(-1)).toMatch(new RegExp(`\\n${posts.length}/${posts.length}$`))
  })

  it('uses the platform count (here: URLs count 23), not string length', () => {
    const countWithUrls = (text: string) => codePoints(text.replace(/https?:\/\/\S+/g, 'x'.repeat(23)))
    const link = `https://example.org/${'a'.repeat(100)}`
    const posts = threadPosts({heading: 'H', body: 'Short.', link}, {limit: 60, count: countWithUrls, threads: true})
    expect(posts).toHaveLength(1)
  })

  it('with threads off returns one post even over the limit, for policy to refuse', () => {
    const posts = threadPosts({heading: 'H', body: sentence.repeat(10)}, {limit: 50, count: codePoints, threads: false})
    expect(posts).toHaveLength(1)
    expect(codePoints(posts[0]!)).toBeGreaterThan(50)
  })
})

describe('postThread', () => {
  it('posts in order, each replying to the one before, and records each part', async () => {
    const parts = partsInMemory()
    const calls: Array<{post: string; replyTo?: string; root?: string}> = []
    const receipt = await postThread(['a', 'b', 'c'], {...parts, signal: new AbortController().signal}, async (post, index, replyTo, root) => {
      calls.push({post, replyTo: replyTo?.providerId, root: root?.providerId})
      return {providerId: `id-${index}`, url: `https://x/${index}`}
    })
    expect(calls).toEqual([{post: 'a'}, {post: 'b', replyTo: 'id-0', root: 'id-0'}, {post: 'c', replyTo: 'id-1', root: 'id-0'}])
    expect(parts.postedParts.map((p) => p.providerId)).toEqual(['id-0', 'id-1', 'id-2'])
    expect(receipt).toEqual({providerId: 'id-0', url: 'https://x/0'})
  })

  it('resumes after the parts an earlier attempt posted: a failed third post is retried alone', async () => {
    const parts = partsInMemory()
    const posted: string[] = []
    let failThird = true
    const postOne = async (post: string, index: number, replyTo?: {providerId: string}) => {
      if (post === 'c' && failThird) {
        failThird = false
        throw new Error('503')
      }
      posted.push(`${post}->${replyTo?.providerId ?? 'none'}`)
      return {providerId: `id-${index}`}
    }
    await expect(postThread(['a', 'b', 'c'], {...parts, signal: new AbortController().signal}, postOne)).rejects.toThrow('503')
    expect(parts.postedParts).toHaveLength(2)
    await postThread(['a', 'b', 'c'], {...parts, signal: new AbortController().signal}, postOne)
    expect(posted).toEqual(['a->none', 'b->id-0', 'c->id-1'])
  })

  it('stops before the next post when aborted', async () => {
    const controller = new AbortController()
    const parts = partsInMemory()
    await expect(
      postThread(['a', 'b'], {...parts, signal: controller.signal}, async (_post, index) => {
        controller.abort()
        return {providerId: `id-${index}`}
      }),
    ).rejects.toThrow()
    expect(parts.postedParts).toHaveLength(1)
  })
})

describe('socialText', () => {
  it('tags severity in words, marks exercises and updates, and links the web page before the CAP document', () => {
    const announcement = makeAnnouncement({severity: 'Severe', status: 'Exercise', msgType: 'Update', web: 'https://example.org/a55'})
    const text = socialText(announcement, announcement.variants[0]!, {capUrl: 'https://example.org/cap/1.xml'})
    expect(text.heading).toMatch(/^EXERCISE · 🟠 SEVERE · UPDATE: /)
    expect(text.link).toBe('https://example.org/a55')
    const plain = makeAnnouncement({severity: 'Minor', web: undefined})
    const noTag = socialText(plain, plain.variants[0]!, {severityTag: false, capUrl: 'https://example.org/cap/2.xml'})
    expect(noTag.heading).toBe(plain.variants[0]!.headline)
    expect(noTag.link).toBe('https://example.org/cap/2.xml')
  })

  it('says CANCELLED once, not again before a headline drafted as "Cancelled: …", and raises no severity alarm over a withdrawal', () => {
    const cancel = makeAnnouncement({severity: 'Severe', msgType: 'Cancel', variants: [{language: 'en-GB', headline: 'Cancelled: Evacuate Llanrwst', description: 'Sent in error.'}]})
    expect(socialText(cancel, cancel.variants[0]!).heading).toBe('Cancelled: Evacuate Llanrwst')
    const bare = makeAnnouncement({severity: 'Severe', msgType: 'Cancel', status: 'Exercise', variants: [{language: 'en-GB', headline: 'Evacuate Llanrwst', description: 'Sent in error.'}]})
    expect(socialText(bare, bare.variants[0]!).heading).toBe('EXERCISE · CANCELLED: Evacuate Llanrwst')
  })
})
