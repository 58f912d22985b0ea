import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Tests import workspace packages from their sources, so a test run never depends on a stale dist/.
 * `@hookline/x` -> packages/x/src/index.ts, `@hookline/x/y` -> packages/x/src/y.ts, `hookline` -> packages/hookline/src.
 */
export const sharedConfig = defineConfig({
  resolve: {
    alias: [
      { find: /^@hookline\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@hookline\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/$2.ts` },
      { find: /^hookline$/, replacement: `${root}packages/hookline/src/index.ts` },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
});
