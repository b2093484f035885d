import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach} from 'vitest'
import {makeWorld, removeWorld, type World} from './world.js'

// For subscriber-import tests: a world that reads national numbers as UK ones, removed after
// each test, and CSV files written into its home.

/** Call at the top of a test file: returns a maker of such worlds, each removed after its test. */
export function csvWorlds(): () => World {
  let world: World | undefined
  afterEach(() => {
    if (world) removeWorld(world)
    world = undefined
  })
  return () => (world = makeWorld('defaultRegion: GB\nchannels:\n  website: {type: feed, dir: ./public}\n'))
}

export function writeCsv(w: World, name: string, content: string | Buffer): string {
  const file = join(w.home, name)
  writeFileSync(file, content)
  return file
}
