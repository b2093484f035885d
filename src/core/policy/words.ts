// Banned words: whole words or phrases, matched case- and accent-insensitively, so "Bloody",
// "BLOODY" and "blöody" all match "bloody", while "class" never matches "ass".

/** Lower case, accents removed (NFD, combining marks stripped), typographic apostrophes made plain. */
export function foldText(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2018\u2019\u02bc]/g, "'")
}

export interface WordMatcher {
  /** The word as written in config, for the message. */
  word: string
  matches(foldedText: string): boolean
}

// A letter, digit or underscore on either side means the word is part of a longer one. JS's \b
// knows only ASCII letters: "café" would end at the é.
const notWordBefore = '(?<![\\p{L}\\p{N}_])'
const notWordAfter = '(?![\\p{L}\\p{N}_])'

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** One matcher per configured word; a phrase matches across any run of white space. */
export function wordMatchers(words: readonly string[]): WordMatcher[] {
  return words.map((word) => {
    const tokens = foldText(word).trim().split(/\s+/).map(escapeRegExp)
    const pattern = new RegExp(`${notWordBefore}${tokens.join('\\s+')}${notWordAfter}`, 'u')
    return {word: word.trim(), matches: (foldedText) => pattern.test(foldedText)}
  })
}
