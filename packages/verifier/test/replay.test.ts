import { describe, expect, it } from 'vitest';
import { assertFirstDelivery, MemorySeenIds } from '@hookline/verifier';

describe('MemorySeenIds', () => {
  it('remembers an id until it expires', async () => {
    let now = 1_000;
    const seen = new MemorySeenIds({ now: () => now });
    expect(await seen.addSeenId('a', 2_000)).toBe(true);
    expect(await seen.addSeenId('a', 2_000)).toBe(false);
    now = 2_000;
    expect(await seen.addSeenId('a', 3_000)).toBe(true);
  });

  it('stays within maxEntries, dropping expired ids first, then the oldest', async () => {
    let now = 0;
    const seen = new MemorySeenIds({ now: () => now, maxEntries: 2 });
    await seen.addSeenId('short', 10);
    await seen.addSeenId('long', 1_000);
    now = 20;
    await seen.addSeenId('third', 1_000);
    expect(seen.size).toBe(2);
    expect(await seen.addSeenId('long', 1_000)).toBe(false);
    await seen.addSeenId('fourth', 1_000);
    expect(seen.size).toBe(2);
  });
});

describe('assertFirstDelivery', () => {
  it('throws replayed for a second delivery in the same scope only', async () => {
    const seen = new MemorySeenIds({ now: () => 0 });
    await assertFirstDelivery(seen, 'github', 'id-1', 100);
    await expect(assertFirstDelivery(seen, 'github', 'id-1', 100)).rejects.toMatchObject({ code: 'replayed', status: 409 });
    await expect(assertFirstDelivery(seen, 'stripe', 'id-1', 100)).resolves.toBeUndefined();
  });

  it('does nothing without a store or an id', async () => {
    await expect(assertFirstDelivery(undefined, 's', 'x', 1)).resolves.toBeUndefined();
    const seen = new MemorySeenIds();
    await assertFirstDelivery(seen, 's', '', 1);
    await assertFirstDelivery(seen, 's', undefined, 1);
    expect(seen.size).toBe(0);
  });
});
