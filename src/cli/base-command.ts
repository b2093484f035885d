import {existsSync} from 'node:fs'
import {Command, Flags} from '@oclif/core'
import type {Config, LoadOptions} from '../config/load.js'
import {ensurePrivateDir, refuseMissingNamedConfig, resolvePaths, type CrierPaths} from '../config/paths.js'
import {redact} from '../config/secrets.js'
import type {CoreContext} from '../core/context.js'
import {CrierError, ExitCode, UsageError} from '../core/errors.js'
import {oneLine} from '../core/terminal-text.js'
import {machineTimeZone} from '../core/time-zone.js'
import type {Store} from '../store/index.js'
import {translateSqliteError} from '../store/sqlite-errors.js'
import {actingUser} from '../config/user.js'
import {keepHeapLean} from './lean-heap.js'

/** How long a command waits for another crier holding the database (a long import) before giving up. */
export const lockWaitMs = 30_000

/**
 * What every crier command shares: --config and --json, the lazily opened config and store,
 * and one error printer: expected failures become one `Error: …` line on stderr with their
 * exit code; stack traces only with CRIER_DEBUG=1.
 */
export abstract class CrierCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = {
    config: Flags.string({description: 'Config file (default: CRIER_HOME/config.yaml; env CRIER_CONFIG).', helpGroup: 'GLOBAL'}),
  }

  /** Sends or imports in bulk (run, worker, broadcast, cancel, subscribers import): its heap is kept lean (lean-heap.ts). */
  static allocatesInBulk = false

  /** Only reads (show, preview, status): the config it loaded is recorded only if the database is free, never waited for. */
  static readsOnly = false

  /** Saves something new (draft, broadcast, subscribers import): it may start a crier in a CRIER_HOME not there yet. */
  static startsHome = false

  private paths?: CrierPaths
  private loadedConfig?: Config
  private store?: Store

  override async init(): Promise<void> {
    if ((this.constructor as typeof CrierCommand).allocatesInBulk) keepHeapLean()
    await super.init()
  }

  protected crierPaths(): CrierPaths {
    if (!this.paths) {
      const configIndex = this.argv.findIndex((arg) => arg === '--config' || arg.startsWith('--config='))
      const configFlag = configIndex < 0 ? undefined : this.argv[configIndex]!.includes('=') ? this.argv[configIndex]!.split('=').slice(1).join('=') : this.argv[configIndex + 1]
      this.paths = resolvePaths(process.env, configFlag)
    }
    return this.paths
  }

  // The config loader (zod, yaml, every driver) and the store (better-sqlite3) are imported on
  // first use: `crier --version` needs neither, `crier list` no config. A secret this shell
  // lacks stops only sending on its channel (missingSecretsAside), except for a command that
  // delivers whatever is queued (run, worker): there the channel is set aside as broken.
  protected async crierConfig(options: LoadOptions = {}): Promise<Config> {
    this.loadedConfig ??= await this.loadConfigAgain({missingSecretsAside: true, ...options})
    return this.loadedConfig
  }

  /**
   * The config as it is now on disk (a long-running worker looking at an edit), not yet in
   * force: see configInForce. A config that does not load throws.
   */
  protected async loadConfigAgain(options: LoadOptions = {}): Promise<Config> {
    const {loadConfig} = await import('../config/load.js')
    return loadConfig(this.crierPaths(), process.env, options)
  }

  /** Puts a config loaded again in force: later context() calls get it, and the audit trail notes it. */
  protected async configInForce(config: Config): Promise<void> {
    this.loadedConfig = config
    if (this.store) (await import('../core/config-fingerprint.js')).recordConfigLoad(this.store, config)
  }

  /**
   * The core's context; with `{config: false}` the config is not loaded (commands that only read
   * the store); with `brokenChannelsAside` a channel with wrong settings is left out (delivery);
   * `busyTimeoutMs`: how long to wait for another crier holding the database (default 5 s).
   */
  protected async context(options: {config?: boolean; busyTimeoutMs?: number} & LoadOptions = {}): Promise<CoreContext> {
    const paths = this.crierPaths()
    if (options.config === false) refuseMissingNamedConfig(paths)
    const config = options.config === false ? undefined : await this.crierConfig(options)
    if (!this.store) {
      // A CRIER_HOME named but not there is mistyped or unmounted: cron's `crier run` would start
      // a new, empty crier in it every minute, exit 0, and never send what waits in the real one.
      if (process.env.CRIER_HOME && !(this.constructor as typeof CrierCommand).startsHome && !existsSync(paths.home)) {
        throw new UsageError(`CRIER_HOME ${paths.home} does not exist — check it (mistyped, or not mounted?); crier draft or crier broadcast starts a new crier there`)
      }
      ensurePrivateDir(paths.home)
      const {openStore} = await import('../store/index.js')
      const busy = Number(process.env.CRIER_BUSY_TIMEOUT_MS)
      const busyTimeoutMs = process.env.CRIER_BUSY_TIMEOUT_MS && Number.isFinite(busy) && busy >= 0 ? busy : (options.busyTimeoutMs ?? lockWaitMs)
      // An officer's command behind a long import says why it waits (after a second: a sender's
      // commits take milliseconds); cron's run and the worker wait quietly.
      const onLockWait = options.busyTimeoutMs === undefined && busyTimeoutMs > 0 ? () => process.stderr.write(`crier: waiting for another crier process to finish with ${paths.database} (a subscriber import, or a big broadcast being queued or cancelled?), up to ${busyTimeoutMs < 1000 ? `${busyTimeoutMs} ms` : `${Math.round(busyTimeoutMs / 1000)} s`}…\n`) : undefined
      this.store = openStore(paths.database, {busyTimeoutMs, actor: actingUser(), onLockWait})
      // The audit trail notes each config whose text differs from the last one recorded.
      const ifFree = (this.constructor as typeof CrierCommand).readsOnly
      if (config) (await import('../core/config-fingerprint.js')).recordConfigLoad(this.store, config, {ifFree})
    }
    const context = {store: this.store, now: Date.now, user: actingUser()} as CoreContext
    Object.defineProperty(context, 'config', {
      get: () => {
        if (!config) throw new Error('this command did not load the config')
        return config
      },
    })
    return context
  }

  /**
   * The zone human output shows times in: the config's; for a command that reads none (list),
   * the zone the config named when last loaded (the audit trail notes it), else this machine's.
   */
  protected timeZone(): string {
    return this.loadedConfig?.timezone ?? this.store?.audit.lastConfigTimeZone() ?? machineTimeZone()
  }

  /** Human output; suppressed when --json is on, so stdout holds one JSON document. */
  protected say(text: string): void {
    if (!this.jsonEnabled()) this.log(text)
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<void> {
    const translated = translateSqliteError(error, this.paths?.database) as Error & {oclif?: {exit?: number}}
    let exitCode: number
    if (translated instanceof CrierError) exitCode = translated.exitCode
    else if (translated.oclif?.exit !== undefined) exitCode = translated.oclif.exit
    else exitCode = ExitCode.failure
    // oclif's own exit (this.exit) and help requests are not errors to print.
    if (translated.constructor?.name === 'ExitError') {
      process.exitCode = exitCode
      return
    }
    let lines: string[]
    if (translated instanceof CrierError) lines = translated.message.split('\n')
    else if (translated.oclif) lines = [usageLine(translated.message, this.id, this.argv)]
    else lines = [`unexpected: ${translated.message} — run with CRIER_DEBUG=1 for details and report it`]
    for (const line of lines) if (line.trim()) process.stderr.write(`Error: ${oneLine(redact(line), 1000)}\n`)
    if (process.env.CRIER_DEBUG === '1' && translated.stack) process.stderr.write(redact(translated.stack) + '\n')
    process.exitCode = exitCode
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    this.store?.close()
    this.store = undefined
    await super.finally(error)
  }
}

/**
 * oclif's parse errors span several lines ("The following error occurred:" …): make them one.
 * A missing argument names it and what it is; oclif's note that a flag taking several values
 * swallows the arguments after it is kept only when that flag was given.
 */
export function usageLine(message: string, commandId: string | undefined, argv: readonly string[] = []): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^The following errors? occurred:?$/.test(line) && !/^See more help with/.test(line))
  const parts: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (/^Missing \d+ required args?:$/.test(line)) {
      const missing: string[] = []
      while (i + 1 < lines.length && /^\S+ {2,}/.test(lines[i + 1]!)) {
        const [name, ...description] = lines[++i]!.split(/ {2,}/)
        missing.push(`${name!.toUpperCase()}: ${description.join(' ').replace(/\.$/, '')}`)
      }
      parts.push(missing.length ? `missing argument ${missing.join('; ')}` : line)
      continue
    }
    // oclif names a missing flag without its dashes ("Missing required flag reason").
    const missingFlag = /^Missing required flag ([\w-]+)$/.exec(line)
    if (missingFlag) {
      parts.push(`missing --${missingFlag[1]}`)
      continue
    }
    const parsing = /^Parsing (--[\w-]+)$/.exec(line)
    if (parsing && i + 1 < lines.length) {
      const reason = lines[++i]!
      parts.push(`${parsing[1]}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`)
      continue
    }
    // "Note: --channel allows multiple values…", or "Note: --channel, --zone allow multiple values…".
    const note = /^Note: (--[\w-]+(?:, --[\w-]+)*) allows? multiple values/.exec(line)
    if (note) {
      const flag = note[1]!.split(', ').find((name) => argv.some((arg) => arg === name || arg.startsWith(`${name}=`)))
      if (flag) parts.push(`${flag} takes several values, so it took what followed it: give arguments before ${flag}, or after --`)
      // oclif's second line of the note ("Alternatively, you can use "--" …") is said above.
      if (lines[i + 1]?.startsWith('Alternatively, you can use')) i++
      continue
    }
    parts.push(line)
  }
  return `${parts.join('; ')} — see crier ${commandId ? commandId.replace(/:/g, ' ') + ' ' : ''}--help`
}
