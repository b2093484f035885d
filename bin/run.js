#!/usr/bin/env node
// dist/src/cli/execute.js is @oclif/core's execute, bundled with the commands by the build
// (scripts/bundle-cli.js); bin/dev.js runs the sources with @oclif/core from node_modules.
import {execute} from '../dist/src/cli/execute.js'

await execute({dir: import.meta.url})
