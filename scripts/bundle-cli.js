#!/usr/bin/env node
// Bundles the command modules in place after tsc, and @oclif/core into one CommonJS file:
//
// - dist/src/cli/oclif.cjs: @oclif/core and what it requires, one script that bin/run.js
//   compiles with the V8 code cache scripts/write-code-cache.js leaves beside it (compiling
//   oclif was a quarter of a command's start-up). dist/src/cli/oclif.js re-exports it for ESM;
//   package.json's "imports" maps #oclif there, so a bundled command at any depth finds it.
// - dist/src/commands/**.js, dist/src/cli/execute.js and dist/src/views/live/session.js
//   become entry points of one esbuild build; what they share goes to dist/src/chunks/. Loaded module by
//   module, crier's ~100 modules cost much of a command's start-up (resolving, reading
//   package.json scopes, compiling). Paths stay as tsc wrote them, so oclif.manifest.json and
//   package.json's oclif.commands hold. The rest of dist/src (what the bench and some tests
//   import directly) is left as tsc wrote it, importing @oclif/core from node_modules.
// - the dispatcher's queue thread (dist/src/engine/queue-thread.js): one file of its own. It
//   starts in a fresh isolate on every big run, and a dozen shared chunks cost it a fifth of
//   its start-up (~105 → ~85 ms of CPU here, taken from the sends on a 2-core machine).
//
// Still lazy: crier's own modules behind an import() become chunks of their own, loaded only when
// reached; a package behind an import() (undici, nodemailer, @inquirer/prompts) is not bundled.
// The live view (ink-app.js, bundled by scripts/bundle-live-view.js) stays a separate file that
// session.js imports. oclif's plugins (help, not-found, autocomplete) load their own @oclif/core
// from node_modules, as they would beside any other oclif CLI.
import {existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'dist', 'src')
const session = join(src, 'views', 'live', 'session.js')
const execute = join(src, 'cli', 'execute.js')
const queueThread = join(src, 'engine', 'queue-thread.js')
for (const file of [join(src, 'commands'), session, execute, queueThread]) {
  if (!existsSync(file)) {
    console.error(`Error: ${file} is missing — run tsc -p tsconfig.build.json first`)
    process.exit(1)
  }
}

/** Every .js file under dir. */
function jsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return jsFiles(path)
    return name.endsWith('.js') ? [path] : []
  })
}

// Bundling the bundle would read commands whose chunks it is about to replace.
if (readFileSync(execute, 'utf8').includes('crierCreateRequire')) {
  console.log('dist/src: already bundled (npm run build starts again from tsc)')
  process.exit(0)
}

const oclifOnFirstUse = {
  // oclif requires these on start-up; here they load when first used, to the same effect.
  name: 'oclif-on-first-use',
  setup(builder) {
    const inOclif = (importer, file) => importer.endsWith(`/@oclif/core/lib/config/${file}`)
    builder.onResolve({filter: /^(tinyglobby|minimatch|debug)$/}, (args) => {
      if (args.path === 'debug' && args.importer.endsWith('/@oclif/core/lib/logger.js')) return {path: 'debug', namespace: 'on-first-use', pluginData: args.resolveDir}
      if (args.path === 'tinyglobby' && inOclif(args.importer, 'plugin.js')) return {path: 'tinyglobby', namespace: 'on-first-use', pluginData: args.resolveDir}
      if (args.path === 'minimatch' && inOclif(args.importer, 'plugin-loader.js')) return {path: 'minimatch', namespace: 'on-first-use', pluginData: args.resolveDir}
      return undefined
    })
    const shims = {
      // Globs the commands directory only when a plugin has no oclif.manifest.json.
      tinyglobby: `export function glob(...args) { return require('tinyglobby').glob(...args) }`,
      // Matches package.json's dependencies against oclif.plugins: a plain package name matches
      // only itself, so only a pattern needs minimatch (and its compiled regular expressions).
      // oclif's logger writes only where DEBUG names its namespace: without DEBUG set, the
      // debug package (and its terminal checks) is never loaded and the logger does nothing.
      debug: `function silent() { return () => {} }
export default function createDebug(namespace) { return process.env.DEBUG ? require('debug')(namespace) : silent() }`,
      minimatch: `const packageName = /^(@[a-z0-9~-][a-z0-9._~-]*\\/)?[a-z0-9~-][a-z0-9._~-]*$/
export function minimatch(name, pattern, options) {
  if (options === undefined && packageName.test(name) && packageName.test(pattern)) return name === pattern
  return require('minimatch').minimatch(name, pattern, options)
}`,
    }
    builder.onLoad({filter: /.*/, namespace: 'on-first-use'}, (args) => ({contents: shims[args.path], resolveDir: args.pluginData, loader: 'js'}))
  },
}

// oclif: one CommonJS script (the code cache is for scripts; ES modules get none in Node 20).
const {dynamicImportName} = await import(new URL('../dist/src/cli/code-cache.js', import.meta.url).href)
const oclifScript = join(src, 'cli', 'oclif.cjs')
const oclif = await build({
  entryPoints: [createRequire(import.meta.url).resolve('@oclif/core')],
  outfile: oclifScript,
  write: false,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // oclif requires these only to run TypeScript sources (bin/dev.js), inside try/catch.
  external: ['typescript', 'ts-node'],
  // oclif checks the Node version against its own package.json's engines, which it looks for
  // beside its files: bundled, it finds none and so checks nothing, after loading semver to do it.
  // crier's engines (package.json) asks more of Node than oclif's does.
  define: {'process.env.OCLIF_DISABLE_ENGINE_WARNING': '"true"'},
  plugins: [oclifOnFirstUse],
  logLevel: 'warning',
})
// import() (of command files, by absolute URL) becomes a call to what code-cache.js passes in.
const importCall = /(?<![.\w$])import\((?!\))/g
const oclifSource = oclif.outputFiles[0].text.replace(importCall, `${dynamicImportName}(`)
if (!oclifSource.includes(`${dynamicImportName}(`) || /(?<![.\w$])import\s*\((?!\))/.test(oclifSource)) {
  console.error(`Error: ${relative(root, oclifScript)}: oclif's import() calls were not all rewritten`)
  process.exit(1)
}
writeFileSync(oclifScript, oclifSource)
writeFileSync(
  join(src, 'cli', 'oclif.js'),
  `// Written by scripts/bundle-cli.js: oclif.cjs, loaded with its code cache, for ES modules.
import {fileURLToPath} from 'node:url'
import {loadWithCodeCache} from './code-cache.js'
const oclif = loadWithCodeCache(fileURLToPath(new URL('./oclif.cjs', import.meta.url))).exports
export const {${Object.keys(createRequire(import.meta.url)('@oclif/core')).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name)).join(', ')}} = oclif
`,
)

const chunks = join(src, 'chunks')
rmSync(chunks, {recursive: true, force: true})
const commands = jsFiles(join(src, 'commands'))
const banner = {
  // CommonJS inside calls require, and reads __filename and __dirname.
  js: "import {createRequire as crierCreateRequire} from 'node:module'; import {fileURLToPath as crierFileURLToPath} from 'node:url'; const require = crierCreateRequire(import.meta.url); const __filename = crierFileURLToPath(import.meta.url); const __dirname = crierFileURLToPath(new URL('.', import.meta.url));",
}
// Read before the split build below overwrites what the thread imports.
const queueThreadBundle = await build({
  entryPoints: [queueThread],
  write: false,
  outfile: queueThread,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner,
  // A native addon: it finds its .node file from its own directory.
  external: ['better-sqlite3'],
  logLevel: 'warning',
})
const result = await build({
  entryPoints: [...commands, execute, session],
  outdir: src,
  outbase: src,
  entryNames: '[dir]/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner,
  external: [
    // A native addon: it finds its .node file from its own directory.
    'better-sqlite3',
    // Loaded only by the guided draft (itself behind an import()), when there is something to ask.
    '@inquirer/prompts',
  ],
  plugins: [
    {
      // The commands use the one oclif of oclif.cjs (through package.json's "imports").
      name: 'oclif-apart',
      setup(builder) {
        builder.onResolve({filter: /^@oclif\/core$/}, () => ({path: '#oclif', external: true}))
      },
    },
    {
      // A package crier imports with import() loads as Node loads it, from node_modules: it is off
      // the start-up path anyway, and esbuild would give a CommonJS one (undici, nodemailer) only
      // a default export there, not the named ones Node's import() finds.
      name: 'lazy-packages-apart',
      setup(builder) {
        builder.onResolve({filter: /^[^./]/}, async (args) => {
          if (args.kind !== 'dynamic-import' || args.pluginData === 'as-node-would') return undefined
          if (args.path.startsWith('node:')) return {path: args.path, external: true}
          // Left as it is, the import resolves from the bundle's directory: it must find the same file.
          const [here, there] = await Promise.all(
            [args.resolveDir, src].map((resolveDir) => builder.resolve(args.path, {kind: 'dynamic-import', resolveDir, pluginData: 'as-node-would'})),
          )
          if (here.errors.length > 0 || here.path !== there.path) return {errors: [{text: `import('${args.path}') in ${args.importer} would load ${there.path || 'nothing'} from dist/src, not ${here.path}`}]}
          return {path: args.path, external: true}
        })
      },
    },
    {
      // session.js imports the live view lazily, as a file of its own beside it.
      name: 'live-view-apart',
      setup(builder) {
        builder.onResolve({filter: /\/ink-app\.js$/}, (args) => {
          if (args.importer !== session || args.path !== './ink-app.js') return {errors: [{text: `only session.js may import the live view (${args.importer} imports ${args.path})`}]}
          return {path: './ink-app.js', external: true}
        })
      },
    },
  ],
  metafile: true,
  logLevel: 'warning',
})

// session.js must stay where ink-app.js's relative import finds it.
if (!readFileSync(session, 'utf8').includes('import("./ink-app.js")')) {
  console.error(`Error: ${relative(root, session)} no longer imports ./ink-app.js`)
  process.exit(1)
}
// Ink and React belong to the live view alone: bundled into a chunk, a command would load them
// without an import anyone could see (test/e2e/live-view-plain.test.ts watches imports).
const viewOnly = Object.keys(result.metafile.inputs).filter((input) => /node_modules\/(ink|react|react-reconciler|yoga-layout)\//.test(input))
if (viewOnly.length > 0) {
  console.error(`Error: the live view's packages were bundled into the commands: ${viewOnly.slice(0, 3).join(', ')}`)
  process.exit(1)
}
const outputs = Object.keys(result.metafile.outputs)
writeFileSync(queueThread, queueThreadBundle.outputFiles[0].text)
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0)
console.log(`dist/src: ${commands.length} commands bundled into ${outputs.length} files (${Math.round(bytes / 1024)} KiB); oclif into cli/oclif.cjs (${Math.round(statSync(oclifScript).size / 1024)} KiB)`)
