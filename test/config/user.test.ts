import {describe, expect, it} from 'vitest'
import {actingUser, osUserName} from '../../src/config/user.js'
import {sameOfficer} from '../../src/core/officer.js'

describe('who is acting', () => {
  it('is CRIER_USER as one line with no control sequences — it is printed, stored and compared', () => {
    expect(actingUser({CRIER_USER: ' sgt.jones '})).toBe('sgt.jones')
    expect(actingUser({CRIER_USER: 'sgt.\u001b[2J\u001b]0;owned\u0007jones\n'})).toBe('sgt.jones')
    // Invisible characters would be a second officer under a name that prints the same.
    expect(actingUser({CRIER_USER: 'pc.evans\u200b'})).toBe('pc.evans')
    expect(actingUser({CRIER_USER: 'pc.\u00adevans'})).toBe('pc.evans')
  })

  it('is the OS user when CRIER_USER is unset, blank or nothing but control characters', () => {
    for (const CRIER_USER of [undefined, '', '   ', '\u001b[2J']) expect(actingUser({CRIER_USER})).toBe(osUserName())
  })
})

describe('two names for one officer', () => {
  it('are one person whatever their case, width or invisible characters', () => {
    expect(sameOfficer('PC.Evans', 'pc.evans')).toBe(true)
    expect(sameOfficer('pc.evans\u200b', 'pc.evans')).toBe(true)
    expect(sameOfficer('pc.\u00adevans', 'ｐｃ.evans')).toBe(true)
    expect(sameOfficer('pc.evans', 'pc.evan')).toBe(false)
  })
})
