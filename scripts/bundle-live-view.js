#!/usr/bin/env node
// Bundles the live view (dist/src/views/live/ink-app.js: Ink, React, chalk and crier's view
// components) into that one file, in place, after tsc. Loaded module by module from
// node_modules, Ink's hundreds of files (es-toolkit/compat alone is 336) dominate the time to
// the first frame of `crier status ID --watch` (bench, 2-core EPYC: 1,064 ms, 11.5× node -e '');
// as one file, 627 ms (5.3×). Nothing else changes: commands import ink-app.js lazily as before,
// and an unbundled build (or bin/dev.js) works the same, only slower to start.
import {existsSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const entry = join(root, 'dist', 'src', 'views', 'live', 'ink-app.js')
if (!existsSync(entry)) {
  console.error(`Error: ${entry} is missing — run tsc -p tsconfig.build.json first`)
  process.exit(1)
}

await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // React's production build: the development one is larger and slower, and checks nothing
  // crier's users could act on.
  define: {'process.env.NODE_ENV': '"production"'},
  // The CommonJS inside (React, the reconciler) calls require for Node's own modules.
  banner: {js: "import {createRequire as crierCreateRequire} from 'node:module'; const require = crierCreateRequire(import.meta.url);"},
  // Ink loads React DevTools only when DEV=true; crier does not ship them.
  plugins: [
    {
      name: 'without-devtools',
      setup(builder) {
        builder.onResolve({filter: /^react-devtools-core$/}, () => ({path: 'react-devtools-core', namespace: 'without-devtools'}))
        builder.onLoad({filter: /.*/, namespace: 'without-devtools'}, () => ({contents: 'export default {initialize() {}, connectToDevTools() {}}', loader: 'js'}))
      },
    },
  ],
  // ws (React DevTools' transport) tries these optional native helpers; never needed here.
  external: ['bufferutil', 'utf-8-validate'],
  legalComments: 'none',
  logLevel: 'warning',
})
console.log(`${entry.slice(root.length + 1)}: bundled (${Math.round(statSync(entry).size / 1024)} KiB)`)
