import {graphemePrefix} from './segmenter.js'

// Text from outside (provider errors, replies, file contents) is shown to people in a terminal:
// strip escape sequences and control characters so it cannot move the cursor, retitle the
// window or hide itself.

// CSI, OSC (ended by BEL or ST), and other two-character escapes.
const escapeSequences = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])|\u009b[0-?]*[ -/]*[@-~]/g
const controlCharacters = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g
// Bidi embeddings, overrides, isolates and marks (LRE…RLO, LRI…PDI, LRM, RLM, ALM): invisible,
// yet they reorder what follows, so a provider's error could print a line that reads backwards
// or hides part of itself (the "Trojan Source" trick).
const bidiControls = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

export function stripTerminalControls(text: string): string {
  return text.replace(escapeSequences, '').replace(controlCharacters, '').replace(bidiControls, '')
}

// Overrides and embeddings (LRE, RLE, PDF, LRO, RLO) reorder what follows, unseen; the marks and
// isolates that right-to-left languages need are kept.
const bidiOverrides = /[\u202a-\u202e]/g

/**
 * Text an officer gives for publication (often pasted, or piped from another program), as it
 * is stored: no escape sequences, no control characters but newline and tab, no bidi overrides
 * — what reaches the public, a partner's system or a terminal is what the preview shows.
 */
export function publishableText(text: string): string {
  return text
    .replace(escapeSequences, '')
    // Every way another system ends a line is a line end here: dropped, NEL (U+0085, a C1
    // control) would join "Road" and "closed".
    .replace(/\r\n?|[\v\f\u0085\u2028\u2029]/g, '\n')
    .replace(controlCharacters, '')
    .replace(bidiOverrides, '')
    .replace(invisibleBreaks, '')
    .replace(nonCharacters, '')
}

// Unicode non-characters: XML cannot carry U+FFFE and U+FFFF (the CAP document and the feed
// would drop them while the webhook kept them), and none of them is text anyone reads.
const nonCharacters = /[\ufdd0-\ufdef\ufffe\uffff\u{1fffe}\u{1ffff}\u{2fffe}\u{2ffff}\u{3fffe}\u{3ffff}\u{4fffe}\u{4ffff}\u{5fffe}\u{5ffff}\u{6fffe}\u{6ffff}\u{7fffe}\u{7ffff}\u{8fffe}\u{8ffff}\u{9fffe}\u{9ffff}\u{afffe}\u{affff}\u{bfffe}\u{bffff}\u{cfffe}\u{cffff}\u{dfffe}\u{dffff}\u{efffe}\u{effff}\u{ffffe}\u{fffff}\u{10fffe}\u{10ffff}]/gu

// Pasted from web pages and word processors, unseen: zero-width space, soft hyphen, word joiner,
// invisible operators, zero-width no-break space, and the Hangul fillers that print as blanks. One of them switches an SMS to UCS-2 (three times the segments)
// and a policy error would name a character nobody can see. The joiners that emoji and
// several scripts need (U+200C, U+200D) are kept.
const invisibleBreaks = /[\u00ad\u115f\u1160\u180e\u200b\u2060-\u2064\u3164\ufeff\uffa0]/g

/** One line, safe to print, at most `max` characters. */
export function oneLine(text: string, max = 300): string {
  const flat = stripTerminalControls(text.replace(/[\r\n\t]+/g, ' ')).trim()
  if (flat.length <= max) return flat
  // Cut between characters, never inside one (a surrogate pair, a flag, a joined emoji).
  return graphemePrefix(flat, max - 1) + '…'
}
