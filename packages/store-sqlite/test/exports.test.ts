import { describe, expect, it } from 'vitest';

describe('public surface', () => {
  it('exports exactly these names, so a change to the surface is deliberate', async () => {
    expect(Object.keys(await import('@hookline/store-sqlite')).sort()).toEqual(['DEFAULT_SQLITE_PATH', 'SqliteStore', 'createSqliteStore']);
  });
});
