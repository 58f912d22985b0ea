import { describe, expect, it } from 'vitest';
import { MemoryStore, decodeCursor, encodeCursor, pageLimit } from '@hookline/store';
import { runStoreConformance } from '@hookline/store/testing';

runStoreConformance('MemoryStore', async () => ({ store: new MemoryStore() }));

describe('page cursors', () => {
  it('round-trips a keyset position', () => {
    expect(decodeCursor(encodeCursor({ at: 1_700_000_000_123, id: 'ep_Ω' }))).toEqual({ at: 1_700_000_000_123, id: 'ep_Ω' });
  });

  it('refuses a cursor whose time is not an integer', () => {
    const forged = Buffer.from(JSON.stringify(['1', 'x']), 'utf8').toString('base64url');
    expect(() => decodeCursor(forged)).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });

  it('clamps page sizes to 1..1000 with 50 by default', () => {
    expect([pageLimit(undefined), pageLimit(0), pageLimit(2.7), pageLimit(10_000), pageLimit(Number.NaN)]).toEqual([50, 1, 2, 1000, 50]);
  });
});

describe('MemoryStore wall clock fallback', () => {
  it('uses the wall clock for addSeenId when the verifiers call it without now', async () => {
    const store = new MemoryStore();
    expect(await store.addSeenId('k', Date.now() - 1)).toBe(true);
    expect(await store.addSeenId('k', Date.now() + 60_000)).toBe(true);
    expect(await store.addSeenId('k', Date.now() + 60_000)).toBe(false);
  });
});
