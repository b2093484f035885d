import {chmodSync, existsSync, lstatSync, mkdirSync, readlinkSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import envPaths from 'env-paths'
import {RuntimeFailure, UsageError} from '../core/errors.js'

/** Where crier keeps its database and default config, and which config file to read. */
export interface CrierPaths {
  home: string
  database: string
  configFile: string
  /** True when the config file was named explicitly (--config or CRIER_CONFIG): it must exist. */
  configExplicit: boolean
}

export function resolvePaths(env: NodeJS.ProcessEnv, configFlag?: string): CrierPaths {
  const home = resolve(env.CRIER_HOME || envPaths('crier', {suffix: ''}).data)
  const explicit = configFlag ?? env.CRIER_CONFIG
  return {
    home,
    database: join(home, 'crier.db'),
    configFile: explicit ? resolve(explicit) : join(home, 'config.yaml'),
    configExplicit: Boolean(explicit),
  }
}

/** A config file named on purpose (--config, CRIER_CONFIG) that is not there: a mistake, whatever reads it. */
export function refuseMissingNamedConfig(paths: CrierPaths): void {
  if (!paths.configExplicit) {
    // CRIER_HOME/config.yaml that is a folder is no config, whichever command reads it (or not).
    if (existsSync(paths.configFile) && statSync(paths.configFile).isDirectory()) throw new UsageError(`${paths.configFile} is a directory — give the config file (--config DIR/config.yaml)`)
    // A link to a config that is gone (moved, its volume not mounted) is a config meant to be
    // there: the embedded default in its place would send without the local policy.
    if (isDanglingLink(paths.configFile)) {
      throw new UsageError(`${paths.configFile} is a link to ${readlinkSync(paths.configFile)}, which is not there — mount or restore it, or remove the link to use the embedded default`)
    }
    return
  }
  if (!existsSync(paths.configFile)) throw new UsageError(`config file ${paths.configFile} does not exist — check --config or CRIER_CONFIG`)
  // What the config loader would refuse too, cheaply: a command that only reads the store does not load it.
  if (statSync(paths.configFile).isDirectory()) throw new UsageError(`${paths.configFile} is a directory — give the config file (--config DIR/config.yaml)`)
}

/** A symlink whose target is not there (ENOTDIR, EACCES…: not one crier can tell). */
function isDanglingLink(path: string): boolean {
  try {
    return !existsSync(path) && lstatSync(path, {throwIfNoEntry: false})?.isSymbolicLink() === true
  } catch {
    return false
  }
}

/** Creates a directory crier owns with mode 0700, or says plainly that it cannot. */
export function ensurePrivateDir(dir: string): void {
  try {
    // Each missing level in turn, not mkdirSync's recursive: under /proc that one never returns.
    const missing: string[] = []
    for (let at = resolve(dir); !existsSync(at) && dirname(at) !== at; at = dirname(at)) missing.unshift(at)
    for (const level of missing) mkdirSync(level, {mode: 0o700})
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), {code: 'ENOTDIR'})
  } catch (error) {
    throw new RuntimeFailure(`cannot create ${dir} (${(error as NodeJS.ErrnoException).code}) — set CRIER_HOME to a writable directory`)
  }
}

/** Files crier creates are private: the umask may have been looser. */
export function makePrivate(file: string): void {
  try {
    chmodSync(file, 0o600)
  } catch {
    // The file may not exist yet (SQLite creates -wal lazily); nothing to protect then.
  }
}
