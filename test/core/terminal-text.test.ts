import {describe, expect, it} from 'vitest'
import {oneLine, publishableText, stripTerminalControls} from '../../src/core/terminal-text.js'

// Text from outside (provider errors, replies) printed in a terminal: nothing in it may move the
// cursor, retitle the window, or reorder the line it is printed on.

describe('stripTerminalControls', () => {
  it('strips escape sequences and control characters', () => {
    expect(stripTerminalControls('\u001b[2J\u001b]0;pwned\u0007rate limited\u0007')).toBe('rate limited')
  })

  it('strips bidi embeddings, overrides, isolates and marks, which can make a line read backwards', () => {
    const controls = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c']
    for (const control of controls) expect(stripTerminalControls(`sent ${control}1/1${control}`)).toBe('sent 1/1')
    // "deliv\u202Eered 0/5" would show as "deliv5/0 dereer": what prints is what the text says.
    expect(oneLine('429 \u202edeliv\u2066ered 0/5\u2069\u202c')).toBe('429 delivered 0/5')
  })

  it('keeps right-to-left letters themselves (Arabic, Hebrew) and the joiners emoji need', () => {
    expect(stripTerminalControls('خطأ שגיאה 👩‍🚒')).toBe('خطأ שגיאה 👩‍🚒')
  })
})

describe('publishableText', () => {
  it('ends a line wherever another system did: NEL, the Unicode line and paragraph separators, CR, VT, FF', () => {
    expect(publishableText('Road\u0085closed at the bridge.')).toBe('Road\nclosed at the bridge.')
    expect(publishableText('One\u2028two\u2029three\r\nfour\rfive\vsix\fseven')).toBe('One\ntwo\nthree\nfour\nfive\nsix\nseven')
    // other C1 controls are still dropped
    expect(publishableText('a\u0080b\u009fc')).toBe('abc')
  })
  it('drops Unicode non-characters, which XML cannot carry: every channel publishes the same text', () => {
    expect(publishableText('A \ufffe \uffff end\ufdd0.')).toBe('A   end.')
    expect(publishableText('Llanfair 🌊 ŵ ŷ.')).toBe('Llanfair 🌊 ŵ ŷ.')
    expect(publishableText('a\u{1ffff}b\u{10fffe}c')).toBe('abc')
  })

  it('oneLine cuts between characters, never inside an emoji or a flag', () => {
    const cut = oneLine(`Flood ${'🌊'.repeat(60)}`, 100)
    expect(cut.endsWith('🌊…')).toBe(true)
    expect(cut).not.toMatch(/[\ud800-\udfff](?![\udc00-\udfff])(?<![\ud800-\udbff][\udc00-\udfff])|\ufffd/)
    expect(oneLine('🇬🇧'.repeat(40), 21)).toBe(`${'🇬🇧'.repeat(5)}…`)
  })
})
