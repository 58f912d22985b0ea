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

describe('MemoryStore due queue', () => {
  /** A deterministic PRNG (mulberry32), so a failing sequence replays exactly. */
  function random(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  interface Model { id: string; endpointId: string; status: string; nextAttemptAt: number; leaseOwner?: string; leaseExpiresAt?: number }

  /** What a claim must return, computed the obvious way: scan, sort by due time, honour live leases per endpoint. */
  function modelClaim(model: Map<string, Model>, now: number, limit: number, perEndpointLimit: number): string[] {
    const live = new Map<string, number>();
    const due: Model[] = [];
    for (const d of model.values()) {
      if (d.status !== 'pending') continue;
      if (d.leaseExpiresAt !== undefined && d.leaseExpiresAt > now) live.set(d.endpointId, (live.get(d.endpointId) ?? 0) + 1);
      else if (d.nextAttemptAt <= now) due.push(d);
    }
    due.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
    const picked: string[] = [];
    for (const d of due) {
      if (picked.length >= limit) break;
      const held = live.get(d.endpointId) ?? 0;
      if (held >= perEndpointLimit) continue;
      live.set(d.endpointId, held + 1);
      picked.push(d.id);
    }
    return picked;
  }

  it.each([1, 2, 3, 4, 5])('claims exactly what a full scan would, through leases, renewals, releases, retries and lapses (seed %i)', async (seed) => {
    const rand = random(seed);
    const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]!;
    const store = new MemoryStore();
    const model = new Map<string, Model>();
    const T0 = 1_700_000_000_000;
    let now = T0;
    const endpoints = ['ep_a', 'ep_b', 'ep_c'];
    for (let m = 0; m < 40; m++) {
      const messageId = `msg_${m}`;
      const deliveries = endpoints.map((endpointId, e) => ({
        id: `dlv_${String(m).padStart(3, '0')}_${e}`, tenant: 't', messageId, endpointId, status: 'pending' as const, attemptCount: 0,
        nextAttemptAt: T0 + Math.floor(rand() * 50), createdAt: T0, updatedAt: T0,
      }));
      await store.createMessage({ message: { id: messageId, tenant: 't', type: 'x', data: null, createdAt: T0 }, deliveries });
      for (const d of deliveries) model.set(d.id, { id: d.id, endpointId: d.endpointId, status: 'pending', nextAttemptAt: d.nextAttemptAt });
    }
    const owners = ['w1', 'w2'];
    for (let step = 0; step < 400; step++) {
      now += Math.floor(rand() * 8);
      const leased = [...model.values()].filter((d) => d.status === 'pending' && d.leaseOwner !== undefined);
      const action = rand();
      if (action < 0.4 || leased.length === 0) {
        const owner = pick(owners);
        const limit = 1 + Math.floor(rand() * 5);
        const expected = modelClaim(model, now, limit, 2);
        const claimed = await store.claimDue({ now, owner, leaseMs: 20, limit, perEndpointLimit: 2 });
        expect(claimed.map((d) => d.id)).toEqual(expected);
        for (const id of expected) Object.assign(model.get(id)!, { leaseOwner: owner, leaseExpiresAt: now + 20 });
      } else {
        const d = pick(leased);
        const owner = d.leaseOwner!;
        if (action < 0.6) {
          expect(await store.renewLease(d.id, owner, now + 20)).toBe(true);
          d.leaseExpiresAt = now + 20;
        } else if (action < 0.7) {
          await store.releaseLease(d.id, owner);
          delete d.leaseOwner;
          delete d.leaseExpiresAt;
        } else {
          const retry = rand() < 0.6;
          const outcome = retry ? { status: 'pending' as const, nextAttemptAt: now + Math.floor(rand() * 30) } : { status: 'succeeded' as const };
          const attempt = {
            id: `att_${step}`, tenant: 't', endpointId: d.endpointId, deliveryId: d.id, number: 1, trigger: 'scheduled' as const,
            request: { method: 'POST', url: 'https://x.example', headers: {}, body: '' }, durationMs: 0, startedAt: now, succeeded: !retry,
          };
          expect(await store.finishAttempt({ owner, attempt, outcome })).toBe(true);
          d.status = outcome.status;
          if (outcome.status === 'pending') d.nextAttemptAt = outcome.nextAttemptAt!;
          delete d.leaseOwner;
          delete d.leaseExpiresAt;
        }
      }
      const pending = [...model.values()].filter((d) => d.status === 'pending');
      const expectedNext = pending.length === 0 ? undefined : Math.min(...pending.map((d) => (d.leaseOwner === undefined ? d.nextAttemptAt : d.leaseExpiresAt!)));
      const next = await store.nextDueAt();
      // Past due is past due: which of two past times is reported does not change what a worker does.
      if (expectedNext === undefined || expectedNext > now) expect(next).toBe(expectedNext);
      else expect(next).toBeLessThanOrEqual(now);
    }
  });
});
