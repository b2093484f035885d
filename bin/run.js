#!/usr/bin/env node
// A worker reloads its config on SIGHUP: one that comes while it is still starting must not end
// it (Node's default for SIGHUP), and the config it then loads is the newest anyway. Set before
// anything is imported, hence the dynamic import.
if (process.argv[2] === 'worker') process.on('SIGHUP', () => {})

// dist/src/cli/execute.js is @oclif/core's execute, bundled with the commands by the build
// (scripts/bundle-cli.js); bin/dev.js runs the sources with @oclif/core from node_modules.
const {execute} = await import('../dist/src/cli/execute.js')
await execute({dir: import.meta.url})
