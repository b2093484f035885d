// What bin/run.js starts. After tsc this re-exports @oclif/core's execute; scripts/bundle-cli.js
// then replaces it with a bundle holding oclif itself, sharing chunks with the bundled commands,
// so crier's commands and the oclif that runs them are one copy loaded from a few files.
export {execute} from '@oclif/core'
