#!/usr/bin/env node
// A worker reloads its config on SIGHUP: one that comes while it is still starting must not end
// it (Node's default for SIGHUP), and the config it then loads is the newest anyway. Set before
// anything is imported, hence the dynamic import.
if (process.argv[2] === 'worker') process.on('SIGHUP', () => {})

import {writeSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

// Output that cannot be written must not end a delivery pass halfway, its results unrecorded: what
// is written to a closed pipe or terminal (crier run 2>&1 | head, a log collector restarting, the
// terminal of a dropped SSH session: EIO) is dropped. So is what a failing stdout or stderr cannot
// take (ENOSPC: a full disk): a delivery pass finishes and keeps its exit code; any other command
// then exits 1 saying so, rather than as if all of it had been written.
const deliveryPasses = new Set(['run', 'worker', 'broadcast', 'cancel'])
let writeFailure
for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]]) {
  // Here and only here: @oclif/core (and each plugin's copy of it) listens on stdout too, and
  // rethrows anything but EPIPE as an uncaught exception. A write error still ends the stream.
  const emit = stream.emit
  stream.emit = function (event, ...rest) {
    if (event !== 'error') return emit.call(this, event, ...rest)
    const error = rest[0]
    if (error?.code !== 'EPIPE' && error?.code !== 'EIO') writeFailure ??= `cannot write to ${name} (${error?.code ?? error?.message})`
    return true
  }
}
process.on('exit', () => {
  if (!writeFailure) return
  const isDeliveryPass = deliveryPasses.has(process.argv[2])
  try {
    // Straight to the descriptor: process.stderr may be the stream that failed, and is closed.
    writeSync(2, isDeliveryPass ? `crier: ${writeFailure}: what it could not take was dropped; the deliveries' results are recorded — see crier status\n` : `Error: ${writeFailure} — the output is incomplete; make room there, or send it elsewhere\n`)
  } catch {
    // stderr is the one that fails: the exit code says it.
  }
  if (!isDeliveryPass && !process.exitCode) process.exitCode = 1
})

// dist/src/cli/execute.js is @oclif/core's execute, bundled with the commands by the build
// (scripts/bundle-cli.js); bin/dev.js runs the sources with @oclif/core from node_modules.
// No user plugins: oclif would read CRIER_HOME's default folder (its dataDir) for a package.json
// naming code to load into every command — crier installs none, and a file there must not run.
const {execute} = await import('../dist/src/cli/execute.js')
await execute({loadOptions: {root: fileURLToPath(import.meta.url), userPlugins: false}})
