import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {codeCachePath, dynamicImportName, loadWithCodeCache} from '../../src/cli/code-cache.js'

const require = createRequire(import.meta.url)
let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crier-code-cache-'))
})

afterEach(() => {
  for (const path of Object.keys(require.cache)) if (path.startsWith(dir)) delete require.cache[path]
  rmSync(dir, {recursive: true, force: true})
})

/** A CommonJS script whose functions have something to compile, and an import() as the build rewrites it. */
function writeScript(name: string, marker: string): string {
  const path = join(dir, name)
  writeFileSync(
    path,
    `const {basename} = require('node:path')
exports.marker = ${JSON.stringify(marker)}
exports.where = () => basename(__filename) + ' in ' + basename(__dirname)
exports.sum = (values) => values.reduce((total, value) => total + value, 0)
exports.load = (url) => ${dynamicImportName}(url)
`,
  )
  return path
}

function saveCache(path: string): void {
  const loaded = loadWithCodeCache(path)
  ;(loaded.exports as {sum(values: number[]): number}).sum([1, 2])
  writeFileSync(codeCachePath(path), loaded.script!.createCachedData())
  delete require.cache[path]
}

describe('loading a script with its code cache', () => {
  it('runs the script as require() would, and every later require() gets the same instance', async () => {
    const path = writeScript('tool.cjs', 'first')
    const loaded = loadWithCodeCache(path)
    const tool = loaded.exports as {marker: string; where(): string; sum(values: number[]): number; load(url: string): Promise<{answer: number}>}
    expect(loaded.cacheAccepted).toBe(false)
    expect(tool.marker).toBe('first')
    expect(tool.where()).toBe(`tool.cjs in ${dir.split('/').pop()}`)
    expect(tool.sum([1, 2, 3])).toBe(6)
    expect(require(path)).toBe(tool)
    expect(loadWithCodeCache(path).exports).toBe(tool)
    // import() inside the script goes through the function the loader passes in.
    const esm = join(dir, 'answer.mjs')
    writeFileSync(esm, 'export const answer = 42\n')
    expect((await tool.load(pathToFileURL(esm).href)).answer).toBe(42)
  })

  it('V8 takes a cache made from the same source, and refuses one made from other source or garbage', () => {
    const path = writeScript('tool.cjs', 'cached')
    saveCache(path)
    const cached = loadWithCodeCache(path)
    expect(cached.cacheAccepted).toBe(true)
    expect((cached.exports as {sum(values: number[]): number}).sum([4, 5])).toBe(9)
    delete require.cache[path]

    // The script changed after the cache was made (a rebuild without a new cache): still loads, from source.
    const stale = readFileSync(codeCachePath(path))
    writeScript('tool.cjs', 'changed')
    writeFileSync(codeCachePath(path), stale)
    const changed = loadWithCodeCache(path)
    expect(changed.cacheAccepted).toBe(false)
    expect((changed.exports as {marker: string}).marker).toBe('changed')
    delete require.cache[path]

    // (Source V8 compiled before in this process comes from its in-memory cache, whatever the file says.)
    writeScript('tool.cjs', 'garbage')
    writeFileSync(codeCachePath(path), Buffer.from('not a code cache at all'))
    const garbage = loadWithCodeCache(path)
    expect(garbage.cacheAccepted).toBe(false)
    expect((garbage.exports as {marker: string}).marker).toBe('garbage')
  })

  it('a script that throws while loading leaves nothing behind in require.cache', () => {
    const path = join(dir, 'broken.cjs')
    writeFileSync(path, `exports.half = true\nthrow new Error('broken on load')\n`)
    expect(() => loadWithCodeCache(path)).toThrow('broken on load')
    expect(require.cache[path]).toBeUndefined()
  })

  it('the built oclif.cjs has its import() calls rewritten, and this Node takes its cache', () => {
    const oclif = join(process.cwd(), 'dist', 'src', 'cli', 'oclif.cjs')
    expect(readFileSync(oclif, 'utf8')).toContain(`${dynamicImportName}(`)
    // In a fresh process, as bin/run.js loads it (vitest's own flags could change V8's verdict).
    const loader = pathToFileURL(join(process.cwd(), 'dist', 'src', 'cli', 'code-cache.js')).href
    const verdict = execFileSync(process.execPath, ['--input-type=module', '-e', `const {loadWithCodeCache} = await import(${JSON.stringify(loader)}); const {cacheAccepted, exports} = loadWithCodeCache(${JSON.stringify(oclif)}); console.log(cacheAccepted, typeof exports.execute)`], {encoding: 'utf8'})
    expect(verdict.trim()).toBe('true function')
  })
})
