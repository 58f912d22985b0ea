import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared';

// test/restart.test.ts restarts the shared PostgreSQL server; it would break every other Postgres test running at the
// same moment, so it runs on its own (`npm run test:restart`, the last step of the root `npm test`).
const restartOnly = process.env.HOOKLINE_PG_RESTART_TEST === '1';

export default defineConfig({
  ...sharedConfig,
  test: {
    ...sharedConfig.test,
    ...(restartOnly
      ? { include: ['test/restart.test.ts'], outputFile: { json: '.vitest-report-restart.json' } }
      : { exclude: ['test/restart.test.ts', '**/node_modules/**'] }),
  },
});
