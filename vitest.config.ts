import {availableParallelism} from 'node:os'
import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // End-to-end tests spawn the built CLI and real servers; give them room, never a timing assertion.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default (one fewer than the cores) is one worker on a two-core machine, where the
    // end-to-end files mostly wait on the processes they spawn: two halve the run (9 → 5 min here).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})
