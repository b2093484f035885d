import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // End-to-end tests spawn the built CLI and real servers; give them room, never a timing assertion.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
