#!/usr/bin/env node
// A worker reloads its config on SIGHUP: one that comes while it is still starting must not end
// it (Node's default for SIGHUP), and the config it then loads is the newest anyway. Set before
// anything is imported, hence the dynamic import.
if (process.argv[2] === 'worker') process.on('SIGHUP', () => {})

// A reader that went away (crier run 2>&1 | head, a log collector restarting, the terminal of a
// dropped SSH session: EIO) must not end a delivery pass halfway, its results unrecorded: what is
// written to a closed pipe or terminal is dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE' && error.code !== 'EIO') throw error
  })
}

// dist/src/cli/execute.js is @oclif/core's execute, bundled with the commands by the build
// (scripts/bundle-cli.js); bin/dev.js runs the sources with @oclif/core from node_modules.
const {execute} = await import('../dist/src/cli/execute.js')
await execute({dir: import.meta.url})
