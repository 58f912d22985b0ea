import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared';

const shared = sharedConfig as { resolve: { alias: Array<{ find: RegExp; replacement: string }> }; test: Record<string, unknown> };

/** The shared config, plus the mock receiver (an app, not a package) resolved from its sources. */
export default defineConfig({
  ...shared,
  resolve: {
    alias: [
      { find: /^@hookline\/mock-receiver$/, replacement: fileURLToPath(new URL('../mock-receiver/src/index.ts', import.meta.url)) },
      ...shared.resolve.alias,
    ],
  },
  test: { ...shared.test, testTimeout: 30_000, fileParallelism: false },
});
