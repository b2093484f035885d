import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadConfig, type Config} from '../../src/config/load.js'
import {resolvePaths} from '../../src/config/paths.js'
import type {CoreContext} from '../../src/core/context.js'
import {createDraft, type DraftInput} from '../../src/core/drafting.js'
import {fanOut} from '../../src/engine/fan-out.js'
import {openStore, type Store} from '../../src/store/index.js'

// An in-process crier: a real SQLite file and a real config in a temp CRIER_HOME, for tests
// that drive the core and engine directly or prepare a queue for the built CLI to work on.

export interface World {
  home: string
  config: Config
  store: Store
  ctx: CoreContext
  /** Drafts and queues `count` announcements (one delivery per channel each); returns their ids. */
  queue(count: number, input?: Partial<DraftInput>): string[]
  close(): void
}

export function makeWorld(configYaml: string, env: NodeJS.ProcessEnv = {}, home = mkdtempSync(join(tmpdir(), 'crier-world-'))): World {
  writeFileSync(join(home, 'config.yaml'), configYaml)
  const config = loadConfig(resolvePaths({CRIER_HOME: home}), env)
  const store = openStore(join(home, 'crier.db'))
  const ctx: CoreContext = {config, store, now: Date.now, user: 'officer.author'}
  return {
    home,
    config,
    store,
    ctx,
    queue(count, input = {}) {
      const ids: string[] = []
      store.transaction(() => {
        for (let i = 0; i < count; i++) {
          const draft = createDraft(ctx, {text: `Announcement number ${i}.`, severity: 'Minor', channels: Object.keys(config.channels), ...input})
          fanOut(ctx, draft.id)
          ids.push(draft.id)
        }
      })
      return ids
    },
    close() {
      store.close()
    },
  }
}

export function removeWorld(world: World): void {
  world.close()
  rmSync(world.home, {recursive: true, force: true})
}

/** Delivery states and how many are in each, for assertions. */
export function deliveryStateCounts(store: Store): Record<string, number> {
  const rows = store.db.prepare('SELECT state, count(*) AS n FROM delivery GROUP BY state').all() as Array<{state: string; n: number}>
  return Object.fromEntries(rows.map((row) => [row.state, row.n]))
}
