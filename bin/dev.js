#!/usr/bin/env -S node --import tsx --no-warnings
// Development entry: runs the TypeScript sources through tsx, no build needed.
import {fileURLToPath} from 'node:url'
import {execute} from '@oclif/core'

await execute({development: true, loadOptions: {root: fileURLToPath(import.meta.url), userPlugins: false}})
