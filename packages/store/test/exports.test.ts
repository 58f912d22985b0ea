import { describe, expect, it } from 'vitest';

describe('public surface', () => {
  it('exports exactly these names, so a change to the surface is deliberate', async () => {
    expect(Object.keys(await import('@hookline/store')).sort()).toEqual([
      'DEFAULT_PAGE_LIMIT', 'MAX_PAGE_LIMIT', 'MemoryStore', 'decodeCursor', 'encodeCursor', 'pageLimit', 'toPage',
    ]);
    expect(Object.keys(await import('@hookline/store/testing')).sort()).toEqual(['runStoreConformance']);
  });
});
