// Banned words: whole words or phrases, matched case- and accent-insensitively, so "Bloody",
// "BLOODY", "blöody" and "ＢＬＯＯＤＹ" all match "bloody", while "class" never matches "ass".
// Text is compared as the reader sees it: full-width and other compatibility forms read as the
// plain letters, and invisible characters inside a word do not split it.

/**
 * Compatibility forms made plain (NFKC: "ＩＤＩＯＴ", "ﬁ"), invisible format characters (\p{Cf}:
 * soft hyphen, zero-width space and joiners) removed, lower case, accents removed (NFD,
 * combining marks stripped), typographic apostrophes made plain.
 */
export function foldText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
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
// Between the words of a phrase: any run of characters that are not word characters — white
// space, punctuation, symbols ("bloody hell", "bloody-hell", "bloody – hell") — but not an
// underscore or a digit, which join words into one as they do for single words ("ass_hat").
const betweenWords = '[^\\p{L}\\p{N}_]+'

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * One matcher per configured word; a phrase (words split by white space in the config) matches
 * across any run of white space or punctuation.
 */
export function wordMatchers(words: readonly string[]): WordMatcher[] {
  return words.map((word) => {
    const tokens = foldText(word).trim().split(/\s+/).map(escapeRegExp)
    const pattern = new RegExp(`${notWordBefore}${tokens.join(betweenWords)}${notWordAfter}`, 'u')
    return {word: word.trim(), matches: (foldedText) => pattern.test(foldedText)}
  })
}
