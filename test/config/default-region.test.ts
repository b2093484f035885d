import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ConfigError, loadConfig, type Config} from '../../src/config/load.js'
import {resolvePaths} from '../../src/config/paths.js'

// defaultRegion reads every phone number written without +country: one libphonenumber-js does
// not know would pass and then reject every national number of an import.

let home: string
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'crier-config-region-'))
})
afterEach(() => rmSync(home, {recursive: true, force: true}))

function load(yaml: string): Config | string[] {
  writeFileSync(join(home, 'config.yaml'), yaml)
  try {
    return loadConfig(resolvePaths({CRIER_HOME: home}), {})
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).problems
  }
}

describe('config defaultRegion', () => {
  it('takes a country code in either case, as upper case', () => {
    expect((load('defaultRegion: GB\n') as Config).defaultRegion).toBe('GB')
    expect((load('defaultRegion: gb\n') as Config).defaultRegion).toBe('GB')
    expect((load('defaultRegion: us\n') as Config).defaultRegion).toBe('US')
  })

  it.each(['XX', 'Britain', 'UK', 'G'])('refuses %s in one line naming what to write', (region) => {
    expect(load(`defaultRegion: ${region}\n`)).toEqual([
      `config.yaml: defaultRegion: "${region}" is not a country code libphonenumber knows — use an ISO 3166 code such as GB or US`,
    ])
  })

  it('refuses a number', () => {
    expect(load('defaultRegion: 44\n')).toEqual(['config.yaml: defaultRegion: expected a string'])
  })
})
