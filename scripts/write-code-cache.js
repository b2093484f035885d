#!/usr/bin/env node
// Writes V8's code cache for dist/src/cli/oclif.cjs (see src/cli/code-cache.ts): loads it as
// bin/run.js does, runs `crier --version` and `crier list` in a throwaway CRIER_HOME so that the
// functions every command runs are compiled, and saves what V8 compiled beside the script.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const {codeCachePath, loadWithCodeCache} = await import(pathToFileURL(join(root, 'dist', 'src', 'cli', 'code-cache.js')).href)
const script = join(root, 'dist', 'src', 'cli', 'oclif.cjs')
const home = mkdtempSync(join(tmpdir(), 'crier-code-cache-'))
const write = process.stdout.write
try {
  process.env.CRIER_HOME = home
  delete process.env.CRIER_CONFIG
  const loaded = loadWithCodeCache(script)
  if (!loaded.script) throw new Error(`${script} was loaded before the cache could be made`)
  const {execute} = await import(pathToFileURL(join(root, 'dist', 'src', 'cli', 'execute.js')).href)
  const bin = pathToFileURL(join(root, 'bin', 'run.js')).href
  process.stdout.write = () => true
  for (const args of [['--version'], ['list']]) await execute({dir: bin, args})
  process.stdout.write = write
  const cache = loaded.script.createCachedData()
  writeFileSync(codeCachePath(script), cache)
  console.log(`dist/src/cli/oclif.cjs.cache: V8 code cache (${Math.round(cache.length / 1024)} KiB)`)
} finally {
  process.stdout.write = write
  rmSync(home, {recursive: true, force: true})
}
