import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, describe, expect, it} from 'vitest'
import {ok} from '../helpers/cli-assertions.js'
import {makeCrierHome, type CrierHome} from '../helpers/cli.js'

// An expired announcement leaves the feed at the next `crier run` (cron's minute), not when the
// next announcement happens to go out — through the built CLI, on the embedded default.

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

const entries = (h: CrierHome) => [...readFileSync(join(h.home, 'public', 'alerts.atom'), 'utf8').matchAll(/<title>([^<]*)<\/title>/g)].map((match) => match[1]).slice(1)

describe('a feed entry that expires', () => {
  it('is gone after the next crier run, which stays quiet; a run with nothing expired leaves the feed untouched', async () => {
    home = makeCrierHome()
    const h = home
    ok(h.run(['broadcast', '-', '--severity', 'Minor', '--expires', '+2s'], {input: 'Road reopens shortly.'}))
    ok(h.run(['broadcast', '-', '--severity', 'Minor', '--expires', '+1h'], {input: 'Library closed today.'}))
    expect(entries(h)).toEqual(['Library closed today.', 'Road reopens shortly.'])
    await sleep(2200)
    const run = ok(h.run(['run']))
    expect([run.stdout, run.stderr]).toEqual(['', ''])
    expect(entries(h)).toEqual(['Library closed today.'])
    const written = statSync(join(h.home, 'public', 'alerts.atom')).mtimeMs
    ok(h.run(['run']))
    expect(statSync(join(h.home, 'public', 'alerts.atom')).mtimeMs).toBe(written)
  })
})
