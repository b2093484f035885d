import {describe, expect, it} from 'vitest'
import {occurrencesStillOutLine} from '../../src/views/occurrence-lines.js'

// After cancelling a recurring announcement: each occurrence is its own message, withdrawn by its own cancel.

describe('occurrencesStillOutLine', () => {
  const going = '01M8EFAZ54H6AAAAAAAAAAAAAA'
  const out = '01M8EFB000000BBBBBBBBBBBBB'
  it('names those still going out apart from those in force, each with its cancel', () => {
    expect(occurrencesStillOutLine([going, out], [going])).toBe(
      'Its schedule is ended. Its occurrence 01M8EFAZ54H6 is still going out — to stop it and withdraw what went: crier cancel 01M8EFAZ54H6. Its occurrence 01M8EFB00000 reached the public and is still current — to withdraw it: crier cancel 01M8EFB00000',
    )
    expect(occurrencesStillOutLine([going, out], [])).toBe('Its schedule is ended. Its occurrences 01M8EFAZ54H6, 01M8EFB00000 reached the public and are still current — to withdraw them: crier cancel 01M8EFAZ54H6; crier cancel 01M8EFB00000')
  })
})
