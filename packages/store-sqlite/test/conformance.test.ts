import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { runStoreConformance } from '@hookline/store/testing';
import { createSqliteStore } from '@hookline/store-sqlite';

const dir = mkdtempSync(join(tmpdir(), 'hookline-sqlite-conformance-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runStoreConformance('SqliteStore', async () => {
  n += 1;
  const path = join(dir, `store-${n}.db`);
  return { store: createSqliteStore({ path }), cleanup: async () => rmSync(path, { force: true }) };
});
