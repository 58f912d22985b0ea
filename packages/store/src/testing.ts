/**
 * The store conformance suite: the same cases for every {@link DeliveryStore} implementation, so memory, SQLite and
 * Postgres behave alike. Register it from a vitest test file:
 *
 * @example
 * ```ts
 * import { MemoryStore } from '@hookline/store';
 * import { runStoreConformance } from '@hookline/store/testing';
 * runStoreConformance('MemoryStore', async () => ({ store: new MemoryStore() }));
 * ```
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  AttemptRecord, CallbackRecord, DeliveryRecord, DeliveryStore, EndpointRecord, InboundSourceRecord, MessageRecord,
  Page, PageQuery,
} from './types.js';

/** What a factory hands the suite: a fresh, empty store, and how to dispose of what it created besides `close()`. */
export interface StoreUnderTest {
  store: DeliveryStore;
  cleanup?: () => Promise<void>;
}

/** A fixed epoch for every case: times come from the caller, never from the wall clock. */
const T0 = 1_700_000_000_000;

let sequence = 0;
function nextId(prefix: string): string {
  sequence += 1;
  return `${prefix}_${String(sequence).padStart(6, '0')}`;
}

function endpoint(overrides: Partial<EndpointRecord> = {}): EndpointRecord {
  return {
    id: nextId('ep'),
    tenant: 'acme',
    name: 'Orders',
    description: 'Order events for the warehouse',
    url: 'https://hooks.example.com/orders',
    method: 'POST',
    headers: { 'x-team': 'warehouse' },
    auth: { type: 'standard-webhooks', secret: 'sealed:v1:abc' },
    triggers: ['order.created', 'order.*'],
    filter: { '$.order.total': 10 },
    active: true,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function message(overrides: Partial<MessageRecord> = {}): MessageRecord {
  return {
    id: nextId('msg'),
    tenant: 'acme',
    type: 'order.created',
    data: { order: { id: 42, total: 10.5, items: ['a', 'b'], gift: null, paid: true } },
    createdAt: T0,
    ...overrides,
  };
}

function delivery(messageId: string, endpointId: string, overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    id: nextId('dlv'),
    tenant: 'acme',
    messageId,
    endpointId,
    status: 'pending',
    attemptCount: 0,
    nextAttemptAt: T0,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function attempt(overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    id: nextId('att'),
    tenant: 'acme',
    endpointId: 'ep_x',
    deliveryId: 'dlv_x',
    messageId: 'msg_x',
    number: 1,
    trigger: 'scheduled',
    request: { method: 'POST', url: 'https://hooks.example.com/orders', headers: { authorization: '[redacted]' }, body: '{"a":1}' },
    response: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok', truncated: false },
    durationMs: 25,
    startedAt: T0,
    succeeded: true,
    ...overrides,
  };
}

function source(overrides: Partial<InboundSourceRecord> = {}): InboundSourceRecord {
  return {
    id: nextId('src'),
    tenant: 'acme',
    name: 'GitHub pushes',
    platform: 'github',
    config: { secrets: ['sealed:v1:xyz'] },
    matches: { '$.ref': 'refs/heads/main' },
    state: 'unverified',
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function callback(overrides: Partial<CallbackRecord> = {}): CallbackRecord {
  return {
    tokenHash: nextId('hash'),
    tenant: 'acme',
    deliveryId: 'dlv_x',
    messageId: 'msg_x',
    endpointId: 'ep_x',
    expiresAt: T0 + 60_000,
    ...overrides,
  };
}

/** Publishes one message with `count` pending deliveries to `endpointId`, due at the given times (T0 by default). */
async function publish(
  store: DeliveryStore,
  endpointId: string,
  dueAt: number[] = [T0],
  overrides: Partial<MessageRecord> = {},
): Promise<{ message: MessageRecord; deliveries: DeliveryRecord[] }> {
  const m = message(overrides);
  const deliveries = dueAt.map((at) => delivery(m.id, endpointId, { tenant: m.tenant, nextAttemptAt: at }));
  await store.createMessage({ message: m, deliveries });
  return { message: m, deliveries };
}

async function collectPages<T>(fetch: (page: PageQuery) => Promise<Page<T>>, limit: number): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor === undefined ? { limit } : { limit, cursor });
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 100);
  return pages;
}

function ids(items: ReadonlyArray<{ readonly id: string }>): string[] {
  return items.map((item) => item.id);
}

/**
 * Registers the conformance cases (describe/it) for one store implementation. `factory` is called before every case
 * and must return an empty store; after the case the suite calls `store.close()` and then `cleanup()`.
 */
export function runStoreConformance(name: string, factory: () => Promise<StoreUnderTest>): void {
  describe(`${name}: DeliveryStore conformance`, () => {
    let store: DeliveryStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      const created = await factory();
      store = created.store;
      cleanup = created.cleanup;
    });

    afterEach(async () => {
      await store.close();
      await cleanup?.();
    });

    describe('endpoints', () => {
      it('reads back a created endpoint exactly', async () => {
        const ep = endpoint({ bodyTemplate: '{"id": {{json event.id}} }', failingSince: T0 - 5 });
        expect(await store.createEndpoint(ep)).toEqual(ep);
        expect(await store.getEndpoint('acme', ep.id)).toEqual(ep);
      });

      it('refuses a second endpoint with the same id with a conflict error', async () => {
        const ep = endpoint();
        await store.createEndpoint(ep);
        await expect(store.createEndpoint(ep)).rejects.toMatchObject({ name: 'HooklineError', code: 'conflict' });
      });

      it("never shows, updates or deletes another tenant's endpoint", async () => {
        const ep = await store.createEndpoint(endpoint({ tenant: 'acme' }));
        expect(await store.getEndpoint('globex', ep.id)).toBeUndefined();
        expect(await store.updateEndpoint({ ...ep, tenant: 'globex', name: 'Stolen' })).toBeUndefined();
        expect(await store.deleteEndpoint('globex', ep.id)).toBe(false);
        expect((await store.listEndpoints('globex')).items).toEqual([]);
        expect(await store.activeEndpoints('globex')).toEqual([]);
        expect(await store.getEndpoint('acme', ep.id)).toEqual(ep);
      });

      it('replaces the stored record on update and answers undefined for an unknown id', async () => {
        const ep = await store.createEndpoint(endpoint());
        const changed: EndpointRecord = {
          ...ep, name: 'Renamed', active: false, disabledReason: 'gone', headers: {}, filter: undefined, updatedAt: T0 + 1,
        };
        expect(await store.updateEndpoint(changed)).toEqual(changed);
        const read = await store.getEndpoint('acme', ep.id);
        expect(read).toEqual(changed);
        expect(read?.filter).toBeUndefined();
        expect(await store.updateEndpoint({ ...ep, id: 'ep_missing' })).toBeUndefined();
      });

      it('hands out copies, so mutating a returned record changes nothing stored', async () => {
        const ep = endpoint();
        const created = await store.createEndpoint(ep);
        ep.headers['x-team'] = 'mutated-input';
        created.headers['x-team'] = 'mutated-output';
        const read = await store.getEndpoint('acme', ep.id);
        expect(read?.headers).toEqual({ 'x-team': 'warehouse' });
        read!.triggers.push('evil.*');
        expect((await store.getEndpoint('acme', ep.id))?.triggers).toEqual(['order.created', 'order.*']);
      });

      it('lists only active endpoints of the tenant, oldest first', async () => {
        const second = await store.createEndpoint(endpoint({ createdAt: T0 + 2 }));
        const first = await store.createEndpoint(endpoint({ createdAt: T0 + 1 }));
        await store.createEndpoint(endpoint({ active: false }));
        await store.createEndpoint(endpoint({ tenant: 'globex' }));
        expect(ids(await store.activeEndpoints('acme'))).toEqual([first.id, second.id]);
      });

      it('deletes an endpoint and cancels its unfinished deliveries, keeping finished ones and history', async () => {
        const ep = await store.createEndpoint(endpoint());
        const other = await store.createEndpoint(endpoint());
        const m = message();
        const pending = delivery(m.id, ep.id);
        const awaiting = delivery(m.id, ep.id, { status: 'awaiting_callback' });
        const done = delivery(m.id, ep.id, { status: 'succeeded', attemptCount: 1 });
        const otherPending = delivery(m.id, other.id);
        await store.createMessage({ message: m, deliveries: [pending, awaiting, done, otherPending] });
        await store.claimDue({ now: T0, owner: 'w1', leaseMs: 30_000, limit: 10 });
        await store.recordAttempt(attempt({ endpointId: ep.id, deliveryId: done.id, messageId: m.id }));

        expect(await store.deleteEndpoint('acme', ep.id, T0 + 50)).toBe(true);
        expect(await store.getEndpoint('acme', ep.id)).toBeUndefined();
        expect(await store.deleteEndpoint('acme', ep.id, T0 + 60)).toBe(false);

        const byId = new Map((await store.listDeliveries('acme', m.id)).map((d) => [d.id, d]));
        expect(byId.get(pending.id)).toMatchObject({ status: 'cancelled', updatedAt: T0 + 50 });
        expect(byId.get(pending.id)?.leaseOwner).toBeUndefined();
        expect(byId.get(awaiting.id)?.status).toBe('cancelled');
        expect(byId.get(done.id)?.status).toBe('succeeded');
        expect(byId.get(otherPending.id)?.status).toBe('pending');
        expect((await store.listAttempts({ tenant: 'acme', endpointId: ep.id })).items).toHaveLength(1);
        const claimable = await store.claimDue({ now: T0 + 60_000, owner: 'w2', leaseMs: 1000, limit: 10 });
        expect(ids(claimable)).toEqual([otherPending.id]);
      });
    });

    describe('paging', () => {
      it('pages endpoints newest first with no duplicates or gaps, ties broken by id', async () => {
        const created: EndpointRecord[] = [];
        for (const at of [T0 + 5, T0 + 1, T0 + 3, T0 + 3, T0 + 3, T0 + 9, T0 + 2]) {
          created.push(await store.createEndpoint(endpoint({ createdAt: at })));
        }
        const expected = [...created]
          .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
          .map((e) => e.id);
        const pages = await collectPages((page) => store.listEndpoints('acme', page), 3);
        expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
        expect(pages.flat().map((e) => e.id)).toEqual(expected);
      });

      it('keeps the next page stable when newer rows arrive between pages', async () => {
        const older: string[] = [];
        for (let i = 0; i < 4; i++) older.push((await store.createEndpoint(endpoint({ createdAt: T0 + i }))).id);
        const first = await store.listEndpoints('acme', { limit: 2 });
        expect(ids(first.items)).toEqual([older[3], older[2]]);
        await store.createEndpoint(endpoint({ createdAt: T0 + 100 }));
        const second = await store.listEndpoints('acme', { limit: 2, cursor: first.nextCursor! });
        expect(ids(second.items)).toEqual([older[1], older[0]]);
        expect(second.nextCursor).toBeUndefined();
      });

      it('gives no cursor when the last page is exactly full', async () => {
        for (let i = 0; i < 2; i++) await store.createEndpoint(endpoint({ createdAt: T0 + i }));
        const page = await store.listEndpoints('acme', { limit: 2 });
        expect(page.items).toHaveLength(2);
        expect(page.nextCursor).toBeUndefined();
      });

      it('clamps the page size to at least one and defaults to 50', async () => {
        for (let i = 0; i < 55; i++) await store.createEndpoint(endpoint({ createdAt: T0 + i }));
        const tiny = await store.listEndpoints('acme', { limit: 0 });
        expect(tiny.items).toHaveLength(1);
        expect(tiny.nextCursor).toBeDefined();
        expect((await store.listEndpoints('acme')).items).toHaveLength(50);
      });

      it('refuses a malformed cursor with a bad_request error', async () => {
        await expect(store.listEndpoints('acme', { cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'bad_request' });
        await expect(store.listAttempts({ tenant: 'acme', cursor: 'W10' })).rejects.toMatchObject({ code: 'bad_request' });
      });
    });

    describe('publish', () => {
      it('stores a message and its deliveries in one call', async () => {
        const ep = await store.createEndpoint(endpoint());
        const m = message({ idempotencyKey: 'order-42' });
        const deliveries = [delivery(m.id, ep.id, { createdAt: T0 }), delivery(m.id, ep.id, { createdAt: T0 + 1 })];
        expect(await store.createMessage({ message: m, deliveries, idempotentSince: T0 - 1000 })).toEqual({ message: m, created: true });
        expect(await store.getMessage('acme', m.id)).toEqual(m);
        expect(await store.listDeliveries('acme', m.id)).toEqual(deliveries);
        expect(await store.getDelivery(deliveries[0]!.id)).toEqual(deliveries[0]);
        expect(await store.getMessage('globex', m.id)).toBeUndefined();
        expect(await store.listDeliveries('globex', m.id)).toEqual([]);
      });

      it('returns the first message for an idempotency key used within the window and stores nothing', async () => {
        const ep = await store.createEndpoint(endpoint());
        const first = message({ idempotencyKey: 'order-42', createdAt: T0 });
        await store.createMessage({ message: first, deliveries: [delivery(first.id, ep.id)], idempotentSince: T0 - 1 });
        const again = message({ idempotencyKey: 'order-42', createdAt: T0 + 1000 });
        const result = await store.createMessage({ message: again, deliveries: [delivery(again.id, ep.id)], idempotentSince: T0 });
        expect(result).toEqual({ message: first, created: false });
        expect(await store.getMessage('acme', again.id)).toBeUndefined();
        expect(await store.listDeliveries('acme', again.id)).toEqual([]);
        expect(await store.claimDue({ now: T0 + 1000, owner: 'w', leaseMs: 1000, limit: 10 })).toHaveLength(1);
      });

      it('stores a new message when the key was last used before the window, and keys are per tenant', async () => {
        const first = message({ idempotencyKey: 'k', createdAt: T0 });
        await store.createMessage({ message: first, deliveries: [], idempotentSince: T0 - 1 });
        const later = message({ idempotencyKey: 'k', createdAt: T0 + 10_000 });
        expect(await store.createMessage({ message: later, deliveries: [], idempotentSince: T0 + 1 })).toEqual({ message: later, created: true });
        const otherTenant = message({ idempotencyKey: 'k', tenant: 'globex', createdAt: T0 + 10_001 });
        expect((await store.createMessage({ message: otherTenant, deliveries: [], idempotentSince: T0 })).created).toBe(true);
        const third = message({ idempotencyKey: 'k', createdAt: T0 + 10_002 });
        expect(await store.createMessage({ message: third, deliveries: [], idempotentSince: T0 + 1 })).toEqual({ message: later, created: false });
      });

      it('stores one message when publishes with one key race', async () => {
        const ep = await store.createEndpoint(endpoint());
        const racers = Array.from({ length: 8 }, () => {
          const m = message({ idempotencyKey: 'race' });
          return { message: m, deliveries: [delivery(m.id, ep.id)], idempotentSince: T0 - 1 };
        });
        const results = await Promise.all(racers.map((input) => store.createMessage(input)));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const winner = results.find((r) => r.created)!.message.id;
        expect(new Set(results.map((r) => r.message.id))).toEqual(new Set([winner]));
        expect(await store.claimDue({ now: T0, owner: 'w', leaseMs: 1000, limit: 100 })).toHaveLength(1);
      });

      it('adds deliveries to an existing message for a manual redelivery', async () => {
        const ep = await store.createEndpoint(endpoint());
        const { message: m, deliveries } = await publish(store, ep.id);
        const extra = delivery(m.id, ep.id, { createdAt: T0 + 5, nextAttemptAt: T0 + 5 });
        await store.addDeliveries([extra]);
        expect(ids(await store.listDeliveries('acme', m.id))).toEqual([deliveries[0]!.id, extra.id]);
      });
    });

    describe('claimDue and leases', () => {
      it('claims due deliveries earliest first, up to the limit, and leases them', async () => {
        const ep = await store.createEndpoint(endpoint());
        const { deliveries } = await publish(store, ep.id, [T0 + 5, T0 + 1, T0 + 3, T0 + 100]);
        const claimed = await store.claimDue({ now: T0 + 10, owner: 'w1', leaseMs: 30_000, limit: 2 });
        expect(ids(claimed)).toEqual([deliveries[1]!.id, deliveries[2]!.id]);
        expect(claimed[0]).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 1, leaseOwner: 'w1', leaseExpiresAt: T0 + 30_010 });
        expect(await store.getDelivery(deliveries[1]!.id)).toMatchObject({ leaseOwner: 'w1', leaseExpiresAt: T0 + 30_010 });
        const rest = await store.claimDue({ now: T0 + 10, owner: 'w1', leaseMs: 30_000, limit: 10 });
        expect(ids(rest)).toEqual([deliveries[0]!.id]);
      });

      it('never claims deliveries due later or no longer pending', async () => {
        const ep = await store.createEndpoint(endpoint());
        const m = message();
        await store.createMessage({
          message: m,
          deliveries: [
            delivery(m.id, ep.id, { nextAttemptAt: T0 + 1 }),
            delivery(m.id, ep.id, { status: 'succeeded' }),
            delivery(m.id, ep.id, { status: 'awaiting_callback' }),
            delivery(m.id, ep.id, { status: 'exhausted' }),
            delivery(m.id, ep.id, { status: 'cancelled' }),
          ],
        });
        expect(await store.claimDue({ now: T0, owner: 'w1', leaseMs: 1000, limit: 10 })).toEqual([]);
        expect(await store.claimDue({ now: T0 + 1, owner: 'w1', leaseMs: 1000, limit: 10 })).toHaveLength(1);
      });

      it('keeps a leased delivery from another owner until the lease expires, then hands it over', async () => {
        const ep = await store.createEndpoint(endpoint());
        const { deliveries } = await publish(store, ep.id);
        expect(await store.claimDue({ now: T0, owner: 'w1', leaseMs: 1000, limit: 10 })).toHaveLength(1);
        expect(await store.claimDue({ now: T0 + 999, owner: 'w2', leaseMs: 1000, limit: 10 })).toEqual([]);
        const taken = await store.claimDue({ now: T0 + 1000, owner: 'w2', leaseMs: 1000, limit: 10 });
        expect(taken).toEqual([{ ...deliveries[0], leaseOwner: 'w2', leaseExpiresAt: T0 + 2000, updatedAt: T0 + 1000 }]);
      });

      it('holds at most perEndpointLimit live leases per endpoint across owners', async () => {
        const a = await store.createEndpoint(endpoint());
        const b = await store.createEndpoint(endpoint());
        const { deliveries: forA } = await publish(store, a.id, [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]);
        const { deliveries: forB } = await publish(store, b.id, [T0 + 5, T0 + 6]);
        const options = { now: T0 + 10, leaseMs: 1000, limit: 10, perEndpointLimit: 2 };
        const first = await store.claimDue({ ...options, owner: 'w1' });
        expect(ids(first)).toEqual([forA[0]!.id, forA[1]!.id, forB[0]!.id, forB[1]!.id]);
        expect(await store.claimDue({ ...options, owner: 'w2' })).toEqual([]);
        await store.finishAttempt({
          owner: 'w1',
          attempt: attempt({ endpointId: a.id, deliveryId: forA[0]!.id, startedAt: T0 + 10 }),
          outcome: { status: 'succeeded' },
        });
        expect(ids(await store.claimDue({ ...options, owner: 'w2' }))).toEqual([forA[2]!.id]);
        // Leases that lapsed no longer count against the endpoint.
        const later = await store.claimDue({ ...options, now: T0 + 1010, owner: 'w3' });
        expect(later.filter((d) => d.endpointId === a.id)).toHaveLength(2);
      });

      it("does not let one endpoint's backlog hold back the others", async () => {
        const slow = await store.createEndpoint(endpoint());
        const fast = await store.createEndpoint(endpoint());
        await publish(store, slow.id, Array.from({ length: 40 }, (_, i) => T0 + i));
        const { deliveries: forFast } = await publish(store, fast.id, [T0 + 100]);
        const claimed = await store.claimDue({ now: T0 + 200, owner: 'w1', leaseMs: 1000, limit: 5, perEndpointLimit: 3 });
        expect(claimed.filter((d) => d.endpointId === slow.id)).toHaveLength(3);
        expect(claimed.filter((d) => d.endpointId === fast.id).map((d) => d.id)).toEqual([forFast[0]!.id]);
      });

      // Optional (the dispatcher falls back to claimDue and nextDueAt); every store in this repository has it.
      it('claimDueWithNext: leases as claimDue, and when short, tells when the next delivery falls due', async () => {
        if (store.claimDueWithNext === undefined) return;
        expect(await store.claimDueWithNext({ now: T0, owner: 'w1', leaseMs: 1000, limit: 5 })).toEqual({ deliveries: [] });
        const ep = await store.createEndpoint(endpoint());
        const { deliveries } = await publish(store, ep.id, [T0, T0 + 1, T0 + 500]);
        const full = await store.claimDueWithNext({ now: T0 + 10, owner: 'w1', leaseMs: 1000, limit: 2 });
        expect(ids(full.deliveries)).toEqual([deliveries[0]!.id, deliveries[1]!.id]);
        expect(full.deliveries[0]).toMatchObject({ leaseOwner: 'w1', leaseExpiresAt: T0 + 1010 });
        expect(full.nextDueAt).toBeUndefined();
        // Nothing due: the next is the retry at T0 + 500, before the leases lapse at T0 + 1010.
        expect(await store.claimDueWithNext({ now: T0 + 10, owner: 'w1', leaseMs: 1000, limit: 5 })).toEqual({ deliveries: [], nextDueAt: T0 + 500 });
        const last = await store.claimDueWithNext({ now: T0 + 500, owner: 'w2', leaseMs: 1000, limit: 5 });
        expect(ids(last.deliveries)).toEqual([deliveries[2]!.id]);
        expect(last.nextDueAt).toBe(T0 + 1010);
        expect(await store.getDelivery(deliveries[2]!.id)).toMatchObject({ leaseOwner: 'w2', leaseExpiresAt: T0 + 1500 });
      });

      it('claimDueWithNext: a delivery held back by its endpoint limit is due at or before now', async () => {
        if (store.claimDueWithNext === undefined) return;
        const ep = await store.createEndpoint(endpoint());
        await publish(store, ep.id, [T0, T0 + 1, T0 + 2]);
        const claim = await store.claimDueWithNext({ now: T0 + 10, owner: 'w1', leaseMs: 1000, limit: 10, perEndpointLimit: 2 });
        expect(claim.deliveries).toHaveLength(2);
        expect(claim.nextDueAt).toBe(T0 + 2);
        const other = await store.claimDueWithNext({ now: T0 + 10, owner: 'w2', leaseMs: 1000, limit: 10, perEndpointLimit: 2 });
        expect(other).toEqual({ deliveries: [], nextDueAt: T0 + 2 });
      });

      it('never hands one delivery to two concurrent claimers', async () => {
        const ep = await store.createEndpoint(endpoint());
        await publish(store, ep.id, Array.from({ length: 60 }, (_, i) => T0 + i));
        const claims = await Promise.all(
          Array.from({ length: 12 }, (_, i) => store.claimDue({ now: T0 + 100, owner: `w${i}`, leaseMs: 10_000, limit: 7 })),
        );
        const claimed = claims.flat().map((d) => d.id);
        expect(new Set(claimed).size).toBe(claimed.length);
        claims.forEach((batch, i) => batch.forEach((d) => expect(d.leaseOwner).toBe(`w${i}`)));
        const rest = await store.claimDue({ now: T0 + 100, owner: 'late', leaseMs: 10_000, limit: 100 });
        expect(claimed.length + rest.length).toBe(60);
        expect(new Set([...claimed, ...ids(rest)]).size).toBe(60);
      });

      it('keeps perEndpointLimit under concurrent claimers', async () => {
        const endpoints = await Promise.all(Array.from({ length: 4 }, () => store.createEndpoint(endpoint())));
        for (const ep of endpoints) await publish(store, ep.id, Array.from({ length: 15 }, (_, i) => T0 + i));
        const claims = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            store.claimDue({ now: T0 + 100, owner: `w${i}`, leaseMs: 10_000, limit: 5, perEndpointLimit: 3 }),
          ),
        );
        const claimed = claims.flat();
        expect(new Set(ids(claimed)).size).toBe(claimed.length);
        for (const ep of endpoints) expect(claimed.filter((d) => d.endpointId === ep.id).length).toBeLessThanOrEqual(3);
        const more = await store.claimDue({ now: T0 + 100, owner: 'late', leaseMs: 10_000, limit: 100, perEndpointLimit: 3 });
        expect(claimed.length + more.length).toBe(12);
      });

      it('renews a lease only for its holder, and refuses once the lease was lost', async () => {
        const ep = await store.createEndpoint(endpoint());
        const { deliveries } = await publish(store, ep.id);
        const id = deliveries[0]!.id;
        await store.claimDue({ now: T0, owner: 'w1', leaseMs: 1000, limit: 1 });
        expect(await store.renewLease(id, 'w2', T0 + 9000)).toBe(false);
        expect(await store.renewLease(id, 'w1', T0 + 5000)).toBe(true);
        expect(await store.getDelivery(id)).toMatchObject({ leaseOwner: 'w1', leaseExpiresAt: T0 + 5000 });
        expect(await store.claimDue({ now: T0 + 2000, owner: 'w2', leaseMs: 1000, limit: 1 })).toEqual([]);
        expect(await store.claimDue({ now: T0 + 5000, owner: 'w2', leaseMs: 1000, limit: 1 })).toHaveLength(1);
        expect(await store.renewLease(id, 'w1', T0 + 9000)).toBe(false);
        expect(await store.renewLease('dlv_missing', 'w1', T0 + 9000)).toBe(false);
      });

      it('releases a lease so the delivery is due again at once; a stranger cannot release it', async () => {
        const ep = await store.createEndpoint(endpoint());
        const { deliveries } = await publish(store, ep.id);
        const id = deliveries[0]!.id;
        await store.claimDue({ now: T0, owner: 'w1', leaseMs: 60_000, limit: 1 });
        await store.releaseLease(id, 'w2');
        expect(await store.claimDue({ now: T0 + 1, owner: 'w2', leaseMs: 1000, limit: 1 })).toEqual([]);
        await store.releaseLease(id, 'w1');
        const released = await store.getDelivery(id);
        expect(released?.leaseOwner).toBeUndefined();
        expect(released?.leaseExpiresAt).toBeUndefined();
        expect(released).toMatchObject({ status: 'pending', nextAttemptAt: T0, attemptCount: 0 });
        expect(ids(await store.claimDue({ now: T0 + 1, owner: 'w2', leaseMs: 1000, limit: 1 }))).toEqual([id]);
      });

      it('applies an outcome only while the owner holds the lease, and always records the attempt', async () => {
        const ep = await store.createEndpoint(endpoint());
        const { message: m, deliveries } = await publish(store, ep.id);
        const id = deliveries[0]!.id;
        await store.claimDue({ now: T0, owner: 'w1', leaseMs: 1000, limit: 1 });
        await store.claimDue({ now: T0 + 1000, owner: 'w2', leaseMs: 1000, limit: 1 });
        const late = attempt({ endpointId: ep.id, deliveryId: id, messageId: m.id, startedAt: T0 + 1, durationMs: 1500 });
        expect(await store.finishAttempt({ owner: 'w1', attempt: late, outcome: { status: 'succeeded' } })).toBe(false);
        expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', attemptCount: 0, leaseOwner: 'w2' });

        const won = attempt({ endpointId: ep.id, deliveryId: id, messageId: m.id, startedAt: T0 + 1001, durationMs: 40 });
        expect(await store.finishAttempt({ owner: 'w2', attempt: won, outcome: { status: 'succeeded' } })).toBe(true);
        const finished = await store.getDelivery(id);
        expect(finished).toMatchObject({ status: 'succeeded', attemptCount: 1, updatedAt: T0 + 1041 });
        expect(finished?.leaseOwner).toBeUndefined();
        expect(finished?.leaseExpiresAt).toBeUndefined();
        const history = await store.listAttempts({ tenant: 'acme', deliveryId: id });
        expect(history.items).toEqual([won, late]);
        expect(await store.finishAttempt({ owner: 'w2', attempt: attempt({ deliveryId: id }), outcome: { status: 'exhausted' } })).toBe(false);
      });

      it('schedules the next try from a pending outcome', async () => {
        const ep = await store.createEndpoint(endpoint());
        const { deliveries } = await publish(store, ep.id);
        const id = deliveries[0]!.id;
        await store.claimDue({ now: T0, owner: 'w1', leaseMs: 1000, limit: 1 });
        const failed = attempt({ deliveryId: id, endpointId: ep.id, succeeded: false, error: { code: 'timeout', message: 'No answer in 15 s' } });
        expect(
          await store.finishAttempt({ owner: 'w1', attempt: failed, outcome: { status: 'pending', nextAttemptAt: T0 + 5000, lastError: 'timeout' } }),
        ).toBe(true);
        expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', attemptCount: 1, nextAttemptAt: T0 + 5000, lastError: 'timeout' });
        expect(await store.claimDue({ now: T0 + 4999, owner: 'w2', leaseMs: 1000, limit: 1 })).toEqual([]);
        expect(await store.nextDueAt()).toBe(T0 + 5000);
        const again = await store.claimDue({ now: T0 + 5000, owner: 'w2', leaseMs: 1000, limit: 1 });
        expect(again).toMatchObject([{ id, attemptCount: 1, leaseOwner: 'w2' }]);
      });

      it('leaves a delivery awaiting its callback unclaimable', async () => {
        const ep = await store.createEndpoint(endpoint());
        const { deliveries } = await publish(store, ep.id);
        await store.claimDue({ now: T0, owner: 'w1', leaseMs: 1000, limit: 1 });
        await store.finishAttempt({ owner: 'w1', attempt: attempt({ deliveryId: deliveries[0]!.id }), outcome: { status: 'awaiting_callback' } });
        expect(await store.getDelivery(deliveries[0]!.id)).toMatchObject({ status: 'awaiting_callback', attemptCount: 1 });
        expect(await store.claimDue({ now: T0 + 100_000, owner: 'w2', leaseMs: 1000, limit: 1 })).toEqual([]);
        expect(await store.nextDueAt()).toBeUndefined();
      });

      it('sets a status outside a lease and clears any lease', async () => {
        const ep = await store.createEndpoint(endpoint());
        const { deliveries } = await publish(store, ep.id, [T0, T0]);
        await store.claimDue({ now: T0, owner: 'w1', leaseMs: 1000, limit: 1 });
        await store.setDeliveryStatus(deliveries[0]!.id, 'cancelled', T0 + 7);
        await store.setDeliveryStatus(deliveries[1]!.id, 'succeeded', T0 + 8);
        const first = await store.getDelivery(deliveries[0]!.id);
        expect(first).toMatchObject({ status: 'cancelled', updatedAt: T0 + 7 });
        expect(first?.leaseOwner).toBeUndefined();
        expect(await store.getDelivery(deliveries[1]!.id)).toMatchObject({ status: 'succeeded', updatedAt: T0 + 8 });
        expect(await store.claimDue({ now: T0 + 10_000, owner: 'w2', leaseMs: 1000, limit: 5 })).toEqual([]);
        expect(await store.getDelivery('dlv_missing')).toBeUndefined();
      });

      it('tells when the next delivery becomes claimable', async () => {
        expect(await store.nextDueAt()).toBeUndefined();
        const ep = await store.createEndpoint(endpoint());
        await publish(store, ep.id, [T0 + 500, T0 + 100]);
        const m = message();
        await store.createMessage({ message: m, deliveries: [delivery(m.id, ep.id, { status: 'succeeded', nextAttemptAt: T0 })] });
        expect(await store.nextDueAt()).toBe(T0 + 100);
        await store.claimDue({ now: T0 + 100, owner: 'w1', leaseMs: 1000, limit: 1 });
        expect(await store.nextDueAt()).toBe(T0 + 500);
        await store.claimDue({ now: T0 + 500, owner: 'w1', leaseMs: 100, limit: 1 });
        expect(await store.nextDueAt()).toBe(T0 + 600);
      });
    });

    describe('attempt history', () => {
      async function seedHistory() {
        const a = [
          attempt({ endpointId: 'ep_a', messageId: 'msg_1', deliveryId: 'dlv_1a', startedAt: T0 + 10 }),
          attempt({ endpointId: 'ep_a', messageId: 'msg_1', deliveryId: 'dlv_1a', number: 2, startedAt: T0 + 20, succeeded: false, response: undefined, error: { code: 'timeout', message: 'no answer' } }),
          attempt({ endpointId: 'ep_b', messageId: 'msg_1', deliveryId: 'dlv_1b', startedAt: T0 + 20 }),
          attempt({ endpointId: 'ep_a', messageId: 'msg_2', deliveryId: 'dlv_2a', startedAt: T0 + 30, trigger: 'manual' }),
          attempt({ endpointId: 'ep_a', messageId: undefined, deliveryId: undefined, startedAt: T0 + 40, trigger: 'test' }),
          attempt({ tenant: 'globex', endpointId: 'ep_a', messageId: 'msg_1', deliveryId: 'dlv_1a', startedAt: T0 + 50 }),
        ];
        for (const one of a) await store.recordAttempt(one);
        return a;
      }

      it('reads attempts back exactly, newest first, scoped to the tenant', async () => {
        const a = await seedHistory();
        const all = await store.listAttempts({ tenant: 'acme' });
        const tied = [a[1]!, a[2]!].sort((x, y) => (x.id < y.id ? 1 : -1));
        expect(all.items).toEqual([a[4], a[3], ...tied, a[0]]);
        expect((await store.listAttempts({ tenant: 'globex' })).items).toEqual([a[5]]);
      });

      it('filters by endpoint, message and delivery', async () => {
        const a = await seedHistory();
        expect(ids((await store.listAttempts({ tenant: 'acme', endpointId: 'ep_a' })).items)).toEqual([a[4]!.id, a[3]!.id, a[1]!.id, a[0]!.id]);
        expect(ids((await store.listAttempts({ tenant: 'acme', messageId: 'msg_1' })).items).sort()).toEqual([a[0]!.id, a[1]!.id, a[2]!.id].sort());
        expect(ids((await store.listAttempts({ tenant: 'acme', deliveryId: 'dlv_1a' })).items)).toEqual([a[1]!.id, a[0]!.id]);
        expect(ids((await store.listAttempts({ tenant: 'acme', endpointId: 'ep_b', messageId: 'msg_1' })).items)).toEqual([a[2]!.id]);
        expect((await store.listAttempts({ tenant: 'acme', endpointId: 'ep_zzz' })).items).toEqual([]);
      });

      it('filters by time: since is inclusive, until exclusive', async () => {
        const a = await seedHistory();
        expect(ids((await store.listAttempts({ tenant: 'acme', endpointId: 'ep_a', since: T0 + 20, until: T0 + 40 })).items)).toEqual([a[3]!.id, a[1]!.id]);
        expect(ids((await store.listAttempts({ tenant: 'acme', since: T0 + 40 })).items)).toEqual([a[4]!.id]);
        expect(ids((await store.listAttempts({ tenant: 'acme', until: T0 + 11 })).items)).toEqual([a[0]!.id]);
      });

      it('pages history with no duplicates or gaps while filters hold', async () => {
        const made: AttemptRecord[] = [];
        for (let i = 0; i < 11; i++) {
          const one = attempt({ endpointId: 'ep_p', startedAt: T0 + Math.floor(i / 3) });
          made.push(one);
          await store.recordAttempt(one);
        }
        await store.recordAttempt(attempt({ endpointId: 'ep_other', startedAt: T0 + 1 }));
        const expected = [...made].sort((x, y) => y.startedAt - x.startedAt || (x.id < y.id ? 1 : -1)).map((x) => x.id);
        const pages = await collectPages((page) => store.listAttempts({ tenant: 'acme', endpointId: 'ep_p', ...page }), 4);
        expect(pages.map((p) => p.length)).toEqual([4, 4, 3]);
        expect(pages.flat().map((x) => x.id)).toEqual(expected);
      });
    });

    describe('callbacks', () => {
      it('reads back a created callback', async () => {
        const cb = callback();
        await store.createCallback(cb);
        expect(await store.getCallback(cb.tokenHash)).toEqual(cb);
        expect(await store.getCallback('unknown')).toBeUndefined();
      });

      it('records the first answer and refuses a second', async () => {
        const cb = callback();
        await store.createCallback(cb);
        const answer = { version: 'v1', approve: { comment: 'ok' } };
        const first = await store.answerCallback(cb.tokenHash, answer, T0 + 10);
        expect(first).toEqual({ ok: true, callback: { ...cb, answeredAt: T0 + 10, answer } });
        expect(await store.getCallback(cb.tokenHash)).toEqual({ ...cb, answeredAt: T0 + 10, answer });
        expect(await store.answerCallback(cb.tokenHash, { version: 'v1', deny: {} }, T0 + 11)).toEqual({ ok: false, reason: 'already_answered' });
        expect((await store.getCallback(cb.tokenHash))?.answer).toEqual(answer);
      });

      it('refuses an expired or unknown token', async () => {
        const cb = callback({ expiresAt: T0 + 100 });
        await store.createCallback(cb);
        expect(await store.answerCallback(cb.tokenHash, { version: 'v1' }, T0 + 100)).toEqual({ ok: false, reason: 'expired' });
        expect(await store.answerCallback('nope', { version: 'v1' }, T0)).toEqual({ ok: false, reason: 'not_found' });
        expect((await store.getCallback(cb.tokenHash))?.answeredAt).toBeUndefined();
        expect((await store.answerCallback(cb.tokenHash, { version: 'v1' }, T0 + 99)).ok).toBe(true);
      });

      it('lets exactly one of many concurrent answers win', async () => {
        const cb = callback();
        await store.createCallback(cb);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.answerCallback(cb.tokenHash, { version: 'v1', approve: { comment: `#${i}` } }, T0 + i)),
        );
        const winners = results.filter((r) => r.ok);
        expect(winners).toHaveLength(1);
        expect(results.filter((r) => !r.ok && r.reason === 'already_answered')).toHaveLength(9);
        const stored = await store.getCallback(cb.tokenHash);
        expect(stored?.answer).toEqual(winners[0]!.ok ? winners[0]!.callback.answer : undefined);
      });
    });

    describe('callback expiry', () => {
      it('ends awaiting deliveries whose callback lapsed unanswered, oldest first, bounded by limit, and no others', async () => {
        const ep = await store.createEndpoint(endpoint());
        const m = message();
        const awaiting = (updatedAt: number) => delivery(m.id, ep.id, { status: 'awaiting_callback', attemptCount: 1, updatedAt });
        const [first, second, open, answered, orphan, youngOrphan] = [T0 + 1, T0 + 2, T0 + 3, T0, T0 + 10, T0 + 20].map(awaiting) as DeliveryRecord[];
        const stillPending = delivery(m.id, ep.id, { status: 'pending' });
        const succeeded = delivery(m.id, ep.id, { status: 'succeeded' });
        const all = [first!, second!, open!, answered!, orphan!, youngOrphan!, stillPending, succeeded];
        await store.createMessage({ message: m, deliveries: all });
        const callbackOf = (d: DeliveryRecord, expiresAt: number) => callback({ deliveryId: d.id, messageId: m.id, endpointId: ep.id, expiresAt });
        for (const d of [first!, second!, stillPending, succeeded]) await store.createCallback(callbackOf(d, T0 + 100));
        const openCallback = callbackOf(open!, T0 + 101);
        const answeredCallback = callbackOf(answered!, T0 + 100);
        await store.createCallback(openCallback);
        await store.createCallback(answeredCallback);
        expect((await store.answerCallback(answeredCallback.tokenHash, { version: 'v1', approve: {} }, T0 + 50)).ok).toBe(true);

        const options = { now: T0 + 100, before: T0 + 20, limit: 2, reason: 'callback_expired: no answer in time' };
        const ended = (d: DeliveryRecord): DeliveryRecord => ({ ...d, status: 'exhausted', lastError: options.reason, updatedAt: T0 + 100 });
        expect(await store.expireAwaitingCallbacks(options)).toEqual([ended(first!), ended(second!)]);
        expect(await store.expireAwaitingCallbacks(options)).toEqual([ended(orphan!)]);
        expect(await store.expireAwaitingCallbacks(options)).toEqual([]);

        expect(await store.getDelivery(first!.id)).toEqual(ended(first!));
        expect(await store.getDelivery(orphan!.id)).toEqual(ended(orphan!));
        for (const untouched of [open!, answered!, youngOrphan!, stillPending, succeeded]) expect(await store.getDelivery(untouched.id)).toEqual(untouched);
        expect(await store.answerCallback(openCallback.tokenHash, { version: 'v1', deny: {} }, T0 + 100)).toMatchObject({ ok: true });
        expect(await store.expireAwaitingCallbacks({ ...options, now: T0 + 1_000 })).toEqual([]);
      });

      it('leaves an expired delivery unclaimable and lets purge remove its finished message', async () => {
        const ep = await store.createEndpoint(endpoint());
        const m = message({ createdAt: T0 });
        const d = delivery(m.id, ep.id, { status: 'awaiting_callback', attemptCount: 1 });
        await store.createMessage({ message: m, deliveries: [d] });
        await store.createCallback(callback({ deliveryId: d.id, messageId: m.id, endpointId: ep.id, expiresAt: T0 + 100 }));
        expect(await store.purge({ before: T0 + 5_000, now: T0 + 5_000, limit: 10 })).toBe(0);

        expect(await store.expireAwaitingCallbacks({ now: T0 + 100, before: T0, limit: 10, reason: 'expired' })).toHaveLength(1);
        expect(await store.claimDue({ now: T0 + 200, owner: 'w1', leaseMs: 1_000, limit: 10 })).toEqual([]);
        expect(await store.nextDueAt()).toBeUndefined();
        // message + delivery + callback
        expect(await store.purge({ before: T0 + 5_000, now: T0 + 5_000, limit: 10 })).toBe(3);
        expect(await store.getDelivery(d.id)).toBeUndefined();
      });
    });

    describe('inbound sources', () => {
      it('creates, reads by id alone, updates and deletes a source', async () => {
        const s = source();
        expect(await store.createSource(s)).toEqual(s);
        expect(await store.getSource(s.id)).toEqual(s);
        const verified: InboundSourceRecord = { ...s, state: 'verified', verifiedAt: T0 + 5, matches: {}, updatedAt: T0 + 5 };
        expect(await store.updateSource(verified)).toEqual(verified);
        expect(await store.getSource(s.id)).toEqual(verified);
        expect(await store.deleteSource('acme', s.id)).toBe(true);
        expect(await store.getSource(s.id)).toBeUndefined();
        expect(await store.deleteSource('acme', s.id)).toBe(false);
        expect(await store.updateSource(verified)).toBeUndefined();
      });

      it('updates a source with ifUpdatedAt only while the stored record still has that updatedAt', async () => {
        const s = await store.createSource(source({ updatedAt: T0 }));
        const edited: InboundSourceRecord = { ...s, name: 'edited by an admin', updatedAt: T0 + 10 };
        expect(await store.updateSource(edited, T0)).toEqual(edited);
        // A write based on the record as it was before that edit changes nothing.
        expect(await store.updateSource({ ...s, state: 'verified', verifiedAt: T0 + 5 }, T0)).toBeUndefined();
        expect(await store.getSource(s.id)).toEqual(edited);
        const verified: InboundSourceRecord = { ...edited, state: 'verified', verifiedAt: T0 + 20 };
        expect(await store.updateSource(verified, T0 + 10)).toEqual(verified);
        expect(await store.getSource(s.id)).toEqual(verified);
      });

      it("never updates, deletes or lists another tenant's source", async () => {
        const s = await store.createSource(source());
        expect(await store.updateSource({ ...s, tenant: 'globex', name: 'x' })).toBeUndefined();
        expect(await store.deleteSource('globex', s.id)).toBe(false);
        expect((await store.listSources('globex')).items).toEqual([]);
        expect(await store.getSource(s.id)).toEqual(s);
      });

      it('pages sources newest first', async () => {
        const made: InboundSourceRecord[] = [];
        for (let i = 0; i < 5; i++) made.push(await store.createSource(source({ createdAt: T0 + i })));
        const pages = await collectPages((page) => store.listSources('acme', page), 2);
        expect(pages.flat().map((s) => s.id)).toEqual(made.map((s) => s.id).reverse());
        expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      });
    });

    describe('seen ids', () => {
      it('adds a key once, refuses it until it expires, then takes it again', async () => {
        expect(await store.addSeenId('github:d1', T0 + 1000, T0)).toBe(true);
        expect(await store.addSeenId('github:d1', T0 + 5000, T0 + 999)).toBe(false);
        expect(await store.addSeenId('github:d2', T0 + 1000, T0 + 999)).toBe(true);
        expect(await store.addSeenId('github:d1', T0 + 2000, T0 + 1000)).toBe(true);
        expect(await store.addSeenId('github:d1', T0 + 3000, T0 + 1999)).toBe(false);
      });

      it('lets exactly one of many concurrent adds of one key through', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, () => store.addSeenId('stripe:evt_1', T0 + 1000, T0)));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('purge', () => {
      it('deletes old attempts, finished old messages with their deliveries and callbacks, and expired seen ids, bounded by limit', async () => {
        const ep = await store.createEndpoint(endpoint());
        const finished: MessageRecord[] = [];
        for (let i = 1; i <= 3; i++) {
          const m = message({ createdAt: T0 + i });
          finished.push(m);
          await store.createMessage({ message: m, deliveries: [delivery(m.id, ep.id, { status: i === 2 ? 'exhausted' : 'succeeded' })] });
        }
        await store.createCallback(callback({ messageId: finished[0]!.id }));
        const unfinished = message({ createdAt: T0 });
        await store.createMessage({
          message: unfinished,
          deliveries: [delivery(unfinished.id, ep.id, { status: 'succeeded' }), delivery(unfinished.id, ep.id, { status: 'awaiting_callback' })],
        });
        const fresh = message({ createdAt: T0 + 10_000 });
        await store.createMessage({ message: fresh, deliveries: [delivery(fresh.id, ep.id, { status: 'succeeded' })] });
        const oldAttempts = [1, 2, 3, 4].map((i) => attempt({ startedAt: T0 + i }));
        const newAttempt = attempt({ startedAt: T0 + 10_000 });
        for (const a of [...oldAttempts, newAttempt]) await store.recordAttempt(a);
        await store.addSeenId('old-1', T0 + 5, T0);
        await store.addSeenId('old-2', T0 + 6, T0);
        await store.addSeenId('live', T0 + 100_000, T0);

        const options = { before: T0 + 5000, now: T0 + 5000, limit: 2 };
        // 2 attempts + 2 messages + 2 deliveries + 1 callback + 2 seen ids
        expect(await store.purge(options)).toBe(9);
        expect(await store.getMessage('acme', finished[0]!.id)).toBeUndefined();
        expect(await store.getMessage('acme', finished[1]!.id)).toBeUndefined();
        expect(await store.getMessage('acme', finished[2]!.id)).toBeDefined();
        // 2 attempts + 1 message + 1 delivery
        expect(await store.purge(options)).toBe(4);
        expect(await store.purge(options)).toBe(0);

        expect(await store.getMessage('acme', unfinished.id)).toEqual(unfinished);
        expect(await store.listDeliveries('acme', unfinished.id)).toHaveLength(2);
        expect(await store.getMessage('acme', fresh.id)).toEqual(fresh);
        expect((await store.listAttempts({ tenant: 'acme' })).items).toEqual([newAttempt]);
        expect(await store.addSeenId('live', T0 + 200_000, T0 + 5000)).toBe(false);
        expect(await store.addSeenId('old-1', T0 + 200_000, T0 + 5000)).toBe(true);
      });
    });

    describe('wake-ups', () => {
      it('calls wake listeners when a publish makes deliveries due', async () => {
        if (store.onWake === undefined) return;
        const ep = await store.createEndpoint(endpoint());
        const woke = new Promise<void>((resolve) => {
          const stop = store.onWake!(() => {
            stop();
            resolve();
          });
        });
        // Listeners may attach asynchronously (LISTEN); publish until one wake arrives.
        let published = 0;
        let done = false;
        void woke.then(() => (done = true));
        while (!done && published < 50) {
          await publish(store, ep.id);
          published += 1;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(done).toBe(true);
      });
    });
  });
}
