import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {channelFactsFile, readChannelFacts, saveChannelFacts} from '../../src/config/channel-facts.js'
import {loadConfig} from '../../src/config/load.js'
import {resolvePaths} from '../../src/config/paths.js'

let home: string

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'crier-facts-'))
})

afterEach(() => {
  rmSync(home, {recursive: true, force: true})
})

const smsChannel = (extra = '') => `channels:
  residents-sms:
    type: sms
    audience: residents
    from: "+447700900000"
    accountSid: AC123
    authToken: secret-token
${extra}`

describe('channel facts learned by channels test', () => {
  it('are kept private in CRIER_HOME and merged across saves', () => {
    saveChannelFacts(home, {a: {maxCharacters: 500}})
    saveChannelFacts(home, {a: {maxCharacters: 5000}, b: {x: true}})
    expect(readChannelFacts(home)).toEqual({a: {maxCharacters: 5000}, b: {x: true}})
    expect(statSync(channelFactsFile(home)).mode & 0o777).toBe(0o600)
  })

  it('become channel settings at load, only for keys the driver declares, and config wins', () => {
    writeFileSync(join(home, 'config.yaml'), smsChannel())
    saveChannelFacts(home, {'residents-sms': {maxSegments: 5, notASetting: 'x'}})
    const learned = loadConfig(resolvePaths({CRIER_HOME: home}), {}).channels['residents-sms']!
    expect(learned.maxSegments).toBe(5)
    expect(learned).not.toHaveProperty('notASetting')

    writeFileSync(join(home, 'config.yaml'), smsChannel('    maxSegments: 2\n'))
    expect(loadConfig(resolvePaths({CRIER_HOME: home}), {}).channels['residents-sms']!.maxSegments).toBe(2)
  })

  it('a damaged facts file costs only the facts', () => {
    writeFileSync(channelFactsFile(home), '{not json')
    expect(readChannelFacts(home)).toEqual({})
    writeFileSync(join(home, 'config.yaml'), smsChannel())
    expect(loadConfig(resolvePaths({CRIER_HOME: home}), {}).channels['residents-sms']!.maxSegments).toBe(3) // the default
    expect(readFileSync(channelFactsFile(home), 'utf8')).toBe('{not json')
  })
})
