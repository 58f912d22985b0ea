import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { AttemptRecord, DeliveryRecord, EndpointRecord } from '@hookline/store';
import { createPostgresStore, type PostgresStore } from '@hookline/store-postgres';
import { DATABASE_URL, dropSchema, freshSchemaName } from './helpers.js';

const T0 = 1_700_000_000_000;
const schemas: string[] = [];
const stores: PostgresStore[] = [];
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await admin.end();
  for (const schema of schemas) await dropSchema(schema);
});

function endpoint(id: string): EndpointRecord {
  return {
    id, tenant: 'acme', name: id, url: `https://hooks.example.com/${id}`, method: 'POST', headers: {},
    auth: { type: 'standard-webhooks', secret: 'sealed:v1:abc' }, triggers: ['*'], active: true, createdAt: T0, updatedAt: T0,
  };
}

function attempt(delivery: DeliveryRecord, overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    id: `att_${delivery.id}`, tenant: 'acme', endpointId: delivery.endpointId, deliveryId: delivery.id, messageId: delivery.messageId,
    number: 1, trigger: 'scheduled',
    request: { method: 'POST', url: 'https://hooks.example.com/x', headers: {}, body: '{"a":1}' },
    response: { status: 200, headers: {}, body: 'ok', truncated: false },
    durationMs: 5, startedAt: T0 + 100, succeeded: true, ...overrides,
  };
}

/** A fresh store with `count` deliveries (one message each, over two endpoints) claimed by `w1`. */
async function claimed(count: number): Promise<{ store: PostgresStore; schema: string; deliveries: DeliveryRecord[] }> {
  const schema = freshSchemaName('batch');
  schemas.push(schema);
  const store = await createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 4 });
  stores.push(store);
  await store.createEndpoint(endpoint('ep_a'));
  await store.createEndpoint(endpoint('ep_b'));
  for (let i = 0; i < count; i++) {
    const messageId = `msg_${i}`;
    await store.createMessage({
      message: { id: messageId, tenant: 'acme', type: 't', data: { n: i, text: 'caf\u00e9 \u0000' }, createdAt: T0 },
      deliveries: [{ id: `dlv_${i}`, tenant: 'acme', messageId, endpointId: i % 2 === 0 ? 'ep_a' : 'ep_b', status: 'pending',
        attemptCount: 0, nextAttemptAt: T0 + i, createdAt: T0, updatedAt: T0 }],
    });
  }
  // The per-endpoint-limited claim, messages and endpoints included, is one call.
  const { result: deliveries, statements } = await statementsDuring(store, () =>
    store.claimDue({ now: T0 + 50, owner: 'w1', leaseMs: 60_000, limit: count, perEndpointLimit: count }));
  expect(deliveries.map((d) => d.id)).toEqual(Array.from({ length: count }, (_, i) => `dlv_${i}`));
  expect(statements).toBe(1);
  return { store, schema, deliveries };
}

/**
 * Counts the statements `store` sends while `work` runs. The coalesced post-commit wake-up (`pg_notify`) of an earlier
 * publish is sent in the background whenever it is due, so it is not counted as part of `work`.
 */
async function statementsDuring<T>(store: PostgresStore, work: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const original = store.pool.query.bind(store.pool);
  let statements = 0;
  store.pool.query = ((...args: Parameters<typeof original>) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text ?? '';
    if (!text.includes('pg_notify')) statements += 1;
    return original(...args);
  }) as typeof store.pool.query;
  try {
    return { result: await work(), statements };
  } finally {
    store.pool.query = original as typeof store.pool.query;
  }
}

describe('finishes from concurrent sends', () => {
  let store: PostgresStore;
  let schema: string;
  let deliveries: DeliveryRecord[];
  beforeEach(async () => {
    ({ store, schema, deliveries } = await claimed(6));
  });

  it('commit together in one statement, each resolving with its own outcome applied', async () => {
    const [a, b, c, d, e, f] = deliveries as [DeliveryRecord, DeliveryRecord, DeliveryRecord, DeliveryRecord, DeliveryRecord, DeliveryRecord];
    const { result, statements } = await statementsDuring(store, () => Promise.all([
      store.finishAttempt({ owner: 'w1', attempt: attempt(a), outcome: { status: 'succeeded' } }),
      store.finishAttempt({ owner: 'w1', attempt: attempt(b, { succeeded: false }), outcome: { status: 'pending', nextAttemptAt: T0 + 9000, lastError: 'HTTP 500' } }),
      store.finishAttempt({ owner: 'w1', attempt: attempt(c, { succeeded: false }), outcome: { status: 'exhausted', lastError: 'HTTP 503' } }),
      store.finishAttempt({ owner: 'w1', attempt: attempt(d), outcome: { status: 'awaiting_callback' } }),
      store.finishAttempt({ owner: 'w2', attempt: attempt(e), outcome: { status: 'succeeded' } }),
      store.finishAttempt({ owner: 'w1', attempt: attempt(f, { succeeded: false }), outcome: { status: 'cancelled', lastError: 'HTTP 410' } }),
    ]));
    expect(statements).toBe(1);
    expect(result).toEqual([true, true, true, true, false, true]);
    const { rows } = await admin.query(
      `SELECT id, status, attempt_count, next_attempt_at::float8 AS next, last_error, lease_owner, updated_at::float8 AS updated
       FROM "${schema}".deliveries ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: 'dlv_0', status: 'succeeded', attempt_count: 1, next: T0, last_error: null, lease_owner: null, updated: T0 + 105 },
      { id: 'dlv_1', status: 'pending', attempt_count: 1, next: T0 + 9000, last_error: 'HTTP 500', lease_owner: null, updated: T0 + 105 },
      { id: 'dlv_2', status: 'exhausted', attempt_count: 1, next: T0 + 2, last_error: 'HTTP 503', lease_owner: null, updated: T0 + 105 },
      { id: 'dlv_3', status: 'awaiting_callback', attempt_count: 1, next: T0 + 3, last_error: null, lease_owner: null, updated: T0 + 105 },
      // Leased by w1, finished by w2: untouched, but the attempt is recorded.
      { id: 'dlv_4', status: 'pending', attempt_count: 0, next: T0 + 4, last_error: null, lease_owner: 'w1', updated: T0 + 50 },
      { id: 'dlv_5', status: 'cancelled', attempt_count: 1, next: T0 + 5, last_error: 'HTTP 410', lease_owner: null, updated: T0 + 105 },
    ]);
    const page = await store.listAttempts({ tenant: 'acme', limit: 10 });
    expect(page.items.map((x) => x.id).sort()).toEqual(deliveries.map((x) => `att_${x.id}`).sort());
    expect(page.items.find((x) => x.id === 'att_dlv_1')).toEqual(attempt(b, { succeeded: false }));
  });

  it('keep every record byte for byte, separators, quotes, backslashes and NULs in bodies included', async () => {
    const [a, b] = deliveries as [DeliveryRecord, DeliveryRecord];
    const odd = 'a\u001eb "q" \\ \u0000 \u001f caf\u00e9 \ud83d\ude00';
    const records = [
      attempt(a, { request: { method: 'POST', url: 'https://hooks.example.com/x', headers: { 'x-odd': odd }, body: odd } }),
      attempt(b, { response: { status: 200, headers: {}, body: `${odd}\u001e`, truncated: false } }),
    ];
    const { result, statements } = await statementsDuring(store, () =>
      Promise.all(records.map((record) => store.finishAttempt({ owner: 'w1', attempt: record, outcome: { status: 'succeeded' } }))));
    expect(statements).toBe(1);
    expect(result).toEqual([true, true]);
    const page = await store.listAttempts({ tenant: 'acme', limit: 10 });
    expect(page.items.find((x) => x.id === records[0]!.id)).toEqual(records[0]);
    expect(page.items.find((x) => x.id === records[1]!.id)).toEqual(records[1]);
  });

  it('fail one bad finish alone: the others in its batch still commit', async () => {
    const [a, b, c] = deliveries as [DeliveryRecord, DeliveryRecord, DeliveryRecord];
    const results = await Promise.allSettled([
      store.finishAttempt({ owner: 'w1', attempt: attempt(a), outcome: { status: 'succeeded' } }),
      // A NUL in a text column: Postgres refuses this one row.
      store.finishAttempt({ owner: 'w1', attempt: attempt(b, { id: 'att_\u0000bad' }), outcome: { status: 'succeeded' } }),
      store.finishAttempt({ owner: 'w1', attempt: attempt(c), outcome: { status: 'succeeded' } }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[0]).toEqual({ status: 'fulfilled', value: true });
    expect(results[2]).toEqual({ status: 'fulfilled', value: true });
    expect((await store.getDelivery(b.id))?.status).toBe('pending');
    expect((await store.getDelivery(b.id))?.leaseOwner).toBe('w1');
    expect((await store.getDelivery(c.id))?.status).toBe('succeeded');
  });

  it('that arrive while a batch is on its way wait for it, then go together in one more statement', async () => {
    const [first, ...rest] = deliveries as [DeliveryRecord, ...DeliveryRecord[]];
    // Holds the first statement back until the later finishes have all been made, each in a turn of its own.
    const original = store.pool.query.bind(store.pool);
    const sent: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    store.pool.query = (async (...args: Parameters<typeof original>) => {
      sent.push((args[0] as { name?: string }).name ?? String(args[0]));
      if (sent.length === 1) await gate;
      return original(...args);
    }) as typeof store.pool.query;
    try {
      const results = [store.finishAttempt({ owner: 'w1', attempt: attempt(first), outcome: { status: 'succeeded' } })];
      while (sent.length === 0) await new Promise((resolve) => setImmediate(resolve));
      for (const delivery of rest) {
        results.push(store.finishAttempt({ owner: 'w1', attempt: attempt(delivery), outcome: { status: 'succeeded' } }));
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(sent).toHaveLength(1);
      release();
      expect(await Promise.all(results)).toEqual(deliveries.map(() => true));
      expect(sent).toEqual([expect.stringContaining(':finish'), expect.stringContaining(':finish-batch')]);
    } finally {
      store.pool.query = original as typeof store.pool.query;
    }
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".deliveries WHERE status = 'succeeded' AND lease_owner IS NULL`);
    expect(rows[0].n).toBe(deliveries.length);
  });

  it('let exactly one of two finishes of one delivery in the same turn win the lease', async () => {
    const [a] = deliveries as [DeliveryRecord];
    const results = await Promise.all([
      store.finishAttempt({ owner: 'w1', attempt: attempt(a, { id: 'att_first' }), outcome: { status: 'succeeded' } }),
      store.finishAttempt({ owner: 'w1', attempt: attempt(a, { id: 'att_second' }), outcome: { status: 'exhausted' } }),
    ]);
    expect(results).toEqual([true, false]);
    expect((await store.getDelivery(a.id))?.status).toBe('succeeded');
    expect((await store.getDelivery(a.id))?.attemptCount).toBe(1);
    expect((await store.listAttempts({ tenant: 'acme', deliveryId: a.id })).items.map((x) => x.id).sort()).toEqual(['att_first', 'att_second']);
  });
});

describe('reads that follow a claim', () => {
  it("answer each claimed delivery's message and endpoint without a round trip, equal to a fresh read", async () => {
    const { store, deliveries } = await claimed(4);
    const { result, statements } = await statementsDuring(store, () =>
      Promise.all(deliveries.map(async (d) => [await store.getMessage(d.tenant, d.messageId), await store.getEndpoint(d.tenant, d.endpointId)] as const)),
    );
    expect(statements).toBe(0);
    expect(result.map(([message]) => message)).toEqual(
      deliveries.map((d) => ({ id: d.messageId, tenant: 'acme', type: 't', data: { n: Number(d.id.slice(4)), text: 'caf\u00e9 \u0000' }, createdAt: T0 })),
    );
    expect(result.map(([, found]) => found)).toEqual(deliveries.map((d) => endpoint(d.endpointId)));
    // Used up: the next reads go to the database, and still agree.
    const again = await statementsDuring(store, () => store.getEndpoint('acme', 'ep_a'));
    expect(again).toEqual({ result: endpoint('ep_a'), statements: 1 });
  });

  it('never answer with an endpoint this store updated or deleted after the claim read it', async () => {
    const { store } = await claimed(4);
    const renamed = { ...endpoint('ep_a'), name: 'renamed', updatedAt: T0 + 1 };
    await store.updateEndpoint(renamed);
    await store.deleteEndpoint('acme', 'ep_b', T0 + 2);
    expect(await store.getEndpoint('acme', 'ep_a')).toEqual(renamed);
    expect(await store.getEndpoint('acme', 'ep_b')).toBeUndefined();
  });

  it('hand each reader its own object: changing one answer changes no other', async () => {
    const { store, deliveries } = await claimed(4);
    // Two deliveries per endpoint: both reads of ep_a come from the claim, and must not share an object.
    const [first, second] = [await store.getEndpoint('acme', 'ep_a'), await store.getEndpoint('acme', 'ep_a')];
    expect(first).not.toBe(second);
    first!.headers['x-changed'] = 'yes';
    expect(second).toEqual(endpoint('ep_a'));
    // The claim without a per-endpoint limit reads each message once for all its deliveries.
    const schema = freshSchemaName('batch_shared');
    schemas.push(schema);
    const other = await createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 2 });
    stores.push(other);
    await other.createMessage({
      message: { id: 'msg_x', tenant: 'acme', type: 't', data: { list: [1] }, createdAt: T0 },
      deliveries: deliveries.slice(0, 2).map((d) => ({ ...d, messageId: 'msg_x', leaseOwner: undefined, leaseExpiresAt: undefined })),
    });
    expect(await other.claimDue({ now: T0 + 50, owner: 'w1', leaseMs: 1000, limit: 10 })).toHaveLength(2);
    const [m1, m2] = [await other.getMessage('acme', 'msg_x'), await other.getMessage('acme', 'msg_x')];
    (m1!.data as { list: number[] }).list.push(2);
    expect(m2!.data).toEqual({ list: [1] });
  });

  it('do not answer for another tenant', async () => {
    const { store, deliveries } = await claimed(2);
    const [d] = deliveries as [DeliveryRecord];
    expect(await store.getMessage('other', d.messageId)).toBeUndefined();
    expect(await store.getEndpoint('other', d.endpointId)).toBeUndefined();
  });
});

describe('publishes from concurrent callers', () => {
  async function fresh(): Promise<PostgresStore> {
    const schema = freshSchemaName('publish');
    schemas.push(schema);
    const store = await createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 4 });
    stores.push(store);
    await store.createEndpoint(endpoint('ep_a'));
    await store.createEndpoint({ ...endpoint('ep_off'), active: false });
    return store;
  }

  function input(n: number, messageId = `msg_${n}`) {
    return {
      message: { id: messageId, tenant: 'acme', type: 't', data: { n }, createdAt: T0 + n },
      deliveries: [{ id: `dlv_${n}`, tenant: 'acme', messageId, endpointId: 'ep_a', status: 'pending' as const, attemptCount: 0,
        nextAttemptAt: T0 + n, createdAt: T0 + n, updatedAt: T0 + n }],
    };
  }

  it('go in as one statement, each answered with its own message', async () => {
    const store = await fresh();
    const { result, statements } = await statementsDuring(store, () => Promise.all([0, 1, 2, 3, 4].map((n) => store.createMessage(input(n)))));
    // One insert for all five (the coalesced wake-up NOTIFY that follows is background work, not counted).
    expect(statements).toBe(1);
    expect(result).toEqual([0, 1, 2, 3, 4].map((n) => ({ message: input(n).message, created: true })));
    const claimed = await store.claimDue({ now: T0 + 10, owner: 'w1', leaseMs: 1000, limit: 10 });
    expect(claimed.map((d) => d.id)).toEqual(['dlv_0', 'dlv_1', 'dlv_2', 'dlv_3', 'dlv_4']);
    expect(await store.getMessage('acme', 'msg_3')).toEqual(input(3).message);
  });

  it('keep each message\'s data byte for byte, separators and NULs included', async () => {
    const store = await fresh();
    const odd = (n: number) => ({ ...input(n), message: { ...input(n).message, data: { text: `x\u001ey "q" \\ \u0000 ${n}`, list: ['\u001e', n] } } });
    const { statements } = await statementsDuring(store, () => Promise.all([0, 1, 2].map((n) => store.createMessage(odd(n)))));
    expect(statements).toBe(1);
    for (const n of [0, 1, 2]) expect(await store.getMessage('acme', `msg_${n}`)).toEqual(odd(n).message);
  });

  it('fail alone when one reuses a message id: the rest are stored', async () => {
    const store = await fresh();
    await store.createMessage(input(0));
    const results = await Promise.allSettled([store.createMessage(input(1)), store.createMessage(input(2, 'msg_0')), store.createMessage(input(3))]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { message: input(1).message, created: true } });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'conflict' } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: { message: input(3).message, created: true } });
    expect(await store.getDelivery('dlv_2')).toBeUndefined();
    expect((await store.getMessage('acme', 'msg_0'))?.data).toEqual({ n: 0 });
  });

  it('share one read of the active endpoints, frozen so no caller can change what another got', async () => {
    const store = await fresh();
    const { result, statements } = await statementsDuring(store, () => Promise.all([1, 2, 3].map(() => store.activeEndpoints('acme'))));
    expect(statements).toBe(1);
    expect(result).toEqual([[endpoint('ep_a')], [endpoint('ep_a')], [endpoint('ep_a')]]);
    const first = result[0]![0]!;
    expect(Object.isFrozen(first) && Object.isFrozen(first.triggers)).toBe(true);
    expect(() => {
      (first as { name: string }).name = 'changed';
    }).toThrow(TypeError);
    expect(result[1]![0]!.name).toBe(endpoint('ep_a').name);
    // A write finished before the next call is always seen by it.
    await store.updateEndpoint({ ...endpoint('ep_a'), active: false });
    expect(await store.activeEndpoints('acme')).toEqual([]);
  });
});
