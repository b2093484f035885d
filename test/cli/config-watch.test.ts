import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {watchConfigReloads} from '../../src/cli/config-watch.js'
import {loadConfig} from '../../src/config/load.js'
import {resolvePaths} from '../../src/config/paths.js'

let home: string | undefined
afterEach(() => {
  if (home) rmSync(home, {recursive: true, force: true})
  home = undefined
})

/** A config file in a fresh home, and the config loaded from it (what a worker starts with). */
function configInForce() {
  home = mkdtempSync(join(tmpdir(), 'crier-watch-'))
  const file = join(home, 'config.yaml')
  writeFileSync(file, 'channels:\n  website: {type: feed, dir: ./public}\n')
  const paths = resolvePaths({CRIER_HOME: home})
  return {file, paths, inForce: loadConfig(paths)}
}

describe('watching the config of a long-running worker', () => {
  it('sees a change made between the load of the config in force and the start of the watch', async () => {
    const {file, paths, inForce} = configInForce()
    // Gone before the watch began: its first look sees no file, and no change after that.
    rmSync(file)
    const refused: string[] = []
    const stop = watchConfigReloads({file, inForce: () => inForce, load: async () => loadConfig(paths), onRefused: (problem) => refused.push(problem), onReload: async () => {}})
    await stop()
    expect(refused).toEqual([`${file} is gone — put it back; a restart would run on the embedded default`])
  })

  it('sees the file removed just after the watch began, before its first poll', async () => {
    const {file, paths, inForce} = configInForce()
    const refused: string[] = []
    const stop = watchConfigReloads({file, inForce: () => inForce, load: async () => loadConfig(paths), onRefused: (problem) => refused.push(problem), onReload: async () => {}})
    rmSync(file)
    // One poll (a second) and the settling second after it: bounded.
    for (let waited = 0; refused.length === 0 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50))
    await stop()
    expect(refused).toEqual([`${file} is gone — put it back; a restart would run on the embedded default`])
  })

  it('refuses the embedded default when the file goes between its look for it and the load (a worker under load)', async () => {
    const {file, paths, inForce} = configInForce()
    const events: string[] = []
    // The file is there when looked for, and gone by the time it is read.
    const load = async () => {
      rmSync(file)
      return loadConfig(paths)
    }
    const stop = watchConfigReloads({file, inForce: () => inForce, load, onRefused: (problem) => events.push(problem), onReload: async (config) => void events.push(`reloaded ${config.source}`)})
    await stop()
    expect(events).toEqual([`${file} is gone — put it back; a restart would run on the embedded default`])
  })

  it('says nothing when the file is as it was loaded', async () => {
    const {file, paths, inForce} = configInForce()
    const events: string[] = []
    const stop = watchConfigReloads({file, inForce: () => inForce, load: async () => loadConfig(paths), onRefused: (problem) => events.push(problem), onReload: async () => void events.push('reloaded')})
    await stop()
    expect(events).toEqual([])
  })
})
