import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ConfigError, loadConfig} from '../../src/config/load.js'
import {resolvePaths} from '../../src/config/paths.js'

let home: string
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'crier-config-problems-'))
})
afterEach(() => rmSync(home, {recursive: true, force: true}))

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  writeFileSync(join(home, 'config.yaml'), yaml)
  try {
    loadConfig(resolvePaths({CRIER_HOME: home}), env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).problems
  }
  throw new Error('the config loaded')
}

describe('config problems', () => {
  it('a missing ${ENV} that is a whole URL is one problem, not two', () => {
    expect(problemsOf('channels:\n  partners: { type: webhook, url: "${PARTNERS_URL}" }\n')).toEqual([
      'config.yaml: channels.partners.url: environment variable PARTNERS_URL is not set — export it before running crier',
    ])
  })

  it('reports top-level and channel problems together', () => {
    expect(problemsOf('sendr: typo\nchannels:\n  website: { type: feed, dir: 5 }\n')).toEqual([
      'config.yaml: sendr: unknown key',
      'config.yaml: channels.website.dir: expected a string',
    ])
  })

  it('says "a mapping", not zod\'s "record"', () => {
    expect(problemsOf('channels:\n  website: feed\n')).toEqual(['config.yaml: channels.website: expected a mapping'])
  })

  it('a YAML syntax error is one line with its position', () => {
    const problems = problemsOf('channels:\n  website: { type: feed, dir: ./public\n')
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^config\.yaml: line \d+, column \d+: .+ — fix the YAML$/)
  })
})
