import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname} from 'node:path'
import {Script} from 'node:vm'

// V8's code cache for one CommonJS script: what V8 compiled while the script ran (its functions,
// not only its top level), saved at build time and handed back to V8 on the next load, so that
// the script is not parsed and compiled again on every start. V8 checks that the cache is its
// own and matches the source; a cache from another Node, or none, costs only the compile it
// would have saved.

const require = createRequire(import.meta.url)
type ModuleRecord = NodeJS.Module & {loaded: boolean}
// Node's CommonJS module record, as its own loader makes them.
const Module = require('node:module') as new (id: string) => ModuleRecord

/**
 * What the script calls instead of import(): code compiled by node:vm has no import() of its
 * own without an experimental flag, so the build rewrites the script's import() calls to this.
 */
export const dynamicImportName = '__crierImport'
const dynamicImport = (specifier: string): Promise<unknown> => import(specifier)

export interface LoadedScript {
  exports: unknown
  /** The compiled script: its createCachedData() is the cache to save. */
  script?: Script
  /** Whether V8 took the cache (false: none there, or made by another V8 or for other source). */
  cacheAccepted: boolean
}

/** The cache file written beside a script. */
export const codeCachePath = (path: string) => `${path}.cache`

/**
 * Loads `path` (an absolute path) as require() would, compiled with the code cache beside it
 * when V8 accepts it, and registers it in require.cache: every later load gets this instance.
 */
export function loadWithCodeCache(path: string): LoadedScript {
  const loaded = require.cache[path]
  if (loaded) return {exports: loaded.exports, cacheAccepted: false}
  let cachedData: Buffer | undefined
  try {
    cachedData = readFileSync(codeCachePath(path))
  } catch {
    cachedData = undefined
  }
  const source = `(function (exports, require, module, __filename, __dirname, ${dynamicImportName}) {${readFileSync(path, 'utf8')}\n})`
  const script = new Script(source, {filename: path, cachedData})
  const module = new Module(path)
  module.filename = path
  require.cache[path] = module
  try {
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void
    wrapper.call(module.exports, module.exports, createRequire(path), module, path, dirname(path), dynamicImport)
  } catch (error) {
    delete require.cache[path]
    throw error
  }
  module.loaded = true
  return {exports: module.exports, script, cacheAccepted: cachedData !== undefined && !script.cachedDataRejected}
}
