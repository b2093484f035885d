import {describe, expect, it} from 'vitest'
import {foldText, wordMatchers} from '../../../src/core/policy/words.js'

function matches(word: string, text: string): boolean {
  return wordMatchers([word])[0]!.matches(foldText(text))
}

describe('banned-word matching', () => {
  it('folds case and accents', () => {
    expect(foldText('Évacuez LA Zone')).toBe('evacuez la zone')
    expect(foldText('Ŵyr')).toBe('wyr')
    expect(foldText('don’t')).toBe("don't")
  })

  it('matches whole words whatever their case or accents', () => {
    expect(matches('idiot', 'Some IDIOT parked here')).toBe(true)
    expect(matches('idiot', 'Some ídiot parked here')).toBe(true)
    expect(matches('Café', 'the cafe is shut')).toBe(true)
    expect(matches('idiot', 'idiot.')).toBe(true)
    expect(matches('idiot', '(idiot)')).toBe(true)
  })

  it('does not match inside another word', () => {
    expect(matches('ass', 'The class of 2024 will assemble at the grass verge')).toBe(false)
    expect(matches('ass', 'a bass, amass, ass_hat')).toBe(false)
    // Unicode letters are word characters too: JS's ASCII \b would split "cafés" at the é
    expect(matches('caf', 'les cafés')).toBe(false)
    expect(matches('ass', 'ass')).toBe(true)
  })

  it('matches a phrase across any white space', () => {
    expect(matches('bloody hell', 'Oh BLOODY\n  hell, the road')).toBe(true)
    expect(matches('bloody hell', 'bloody helmets')).toBe(false)
  })

  it('folds full-width and other compatibility forms (NFKC)', () => {
    expect(foldText('ＩＤＩＯＴ')).toBe('idiot')
    expect(matches('idiot', 'Some ＩＤＩＯＴ parked here')).toBe(true)
    // the "ﬁ" ligature is two letters, so "ﬁend" is the word "fiend"
    expect(matches('fiend', 'a ﬁend')).toBe(true)
    expect(matches('idiot', 'ＩＤＩＯＴＩＣ')).toBe(false)
  })

  it('ignores invisible format characters inside a word', () => {
    for (const invisible of ['\u00ad', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff']) {
      expect(matches('idiot', `Some id${invisible}iot parked here`)).toBe(true)
    }
    expect(matches('bloody hell', 'blo\u00adody he\u200bll')).toBe(true)
    // still whole words: an invisible character does not make "idiotic" two words
    expect(matches('idiot', 'an idiot\u200bic plan')).toBe(false)
  })

  it('matches a phrase across punctuation between its words', () => {
    expect(matches('bloody hell', 'bloody-hell')).toBe(true)
    expect(matches('bloody hell', 'Bloody – hell!')).toBe(true)
    expect(matches('bloody hell', 'bloody...hell / bloody/hell')).toBe(true)
    expect(matches('bloody hell', 'https://example.org/bloody-hell')).toBe(true)
    // word characters still join: not two words, and not the phrase
    expect(matches('bloody hell', 'bloody_hell, bloodyhell, bloody-helmets, bloody-2-hell')).toBe(false)
  })

  it('treats words with punctuation literally', () => {
    expect(matches("don't panic", 'Don’t panic: the river is falling')).toBe(true)
    expect(matches('a.b', 'axb')).toBe(false)
  })
})
