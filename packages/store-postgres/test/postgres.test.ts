import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '@hookline/store';
import { createPostgresStore, PostgresStore } from '@hookline/store-postgres';
import { migrations } from '../src/sql.js';
import { DATABASE_URL, dropSchema, freshSchemaName } from './helpers.js';

const T0 = 1_700_000_000_000;
const schemas: string[] = [];
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });

function schemaFor(prefix: string): string {
  const schema = freshSchemaName(prefix);
  schemas.push(schema);
  return schema;
}

afterAll(async () => {
  await admin.end();
  for (const schema of schemas) await dropSchema(schema);
});

function deliveriesFor(messageId: string, endpointIds: string[], perEndpoint: number): DeliveryRecord[] {
  return endpointIds.flatMap((endpointId) =>
    Array.from({ length: perEndpoint }, (_, i) => ({
      id: `dlv_${messageId}_${endpointId}_${i}`, tenant: 'acme', messageId, endpointId, status: 'pending' as const,
      attemptCount: 0, nextAttemptAt: T0 + i, createdAt: T0, updatedAt: T0,
    })),
  );
}

/** A fresh schema migrated by hand to `version`, as an earlier release of the store left it. */
async function schemaAtMigration(prefix: string, version: number): Promise<string> {
  const schema = schemaFor(prefix);
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.query(`CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  for (const [i, migration] of migrations(`"${schema}"`).slice(0, version).entries()) {
    await admin.query(migration);
    await admin.query(`INSERT INTO "${schema}".schema_migrations (version) VALUES ($1)`, [i + 1]);
  }
  return schema;
}

/** A store in a fresh schema holding one message with `perEndpoint` due deliveries for each endpoint. */
async function storeWithDeliveries(prefix: string, messageId: string, endpointIds: string[], perEndpoint: number) {
  const schema = schemaFor(prefix);
  const store = await createPostgresStore({ connectionString: DATABASE_URL, schema });
  await store.createMessage({
    message: { id: messageId, tenant: 'acme', type: 't', data: {}, createdAt: T0 },
    deliveries: deliveriesFor(messageId, endpointIds, perEndpoint),
  });
  return { schema, store };
}

describe('migrations', () => {
  it('migrate once when several stores start together on a fresh schema', async () => {
    const schema = schemaFor('migrate');
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 2 })),
    );
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    expect(rows).toEqual(migrations('x').map((_, i) => ({ version: i + 1 })));
    const tables = await admin.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'attempts', 'callbacks', 'deliveries', 'endpoints', 'messages', 'schema_migrations', 'seen_ids', 'sources',
    ]);
    await Promise.all(stores.map((store) => store.close()));
  });

  it('upgrades a schema migrated by an earlier version, and its callbacks still expire their deliveries', async () => {
    const schema = await schemaAtMigration('upgrade', 1);
    await admin.query(`INSERT INTO "${schema}".messages (id, tenant, type, created_at, data) VALUES ('msg_1', 'acme', 't', $1, '{}')`, [T0]);
    await admin.query(
      `INSERT INTO "${schema}".deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at, created_at, updated_at)
       VALUES ('dlv_1', 'acme', 'msg_1', 'ep_1', 'awaiting_callback', 1, $1, $1, $1)`,
      [T0],
    );
    await admin.query(
      `INSERT INTO "${schema}".callbacks (token_hash, tenant, delivery_id, message_id, endpoint_id, expires_at) VALUES ('h1', 'acme', 'dlv_1', 'msg_1', 'ep_1', $1)`,
      [T0 + 100],
    );
    const store = await createPostgresStore({ connectionString: DATABASE_URL, schema });
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(migrations('x').map((_, i) => i + 1));
    // `before` far ahead: only the callback recorded before the upgrade holds the delivery until T0 + 100.
    expect(await store.expireAwaitingCallbacks({ now: T0 + 99, before: T0 + 1_000, limit: 10, reason: 'expired' })).toEqual([]);
    expect((await store.expireAwaitingCallbacks({ now: T0 + 100, before: T0 + 1_000, limit: 10, reason: 'expired' })).map((d) => d.id)).toEqual(['dlv_1']);
    await store.close();
  });

  it('upgrades past migration 11 when the operator built its index beforehand (CONCURRENTLY, on a large table)', async () => {
    const schema = await schemaAtMigration('upgrade10', 10);
    await admin.query(
      `CREATE INDEX CONCURRENTLY deliveries_awaiting_by_endpoint ON "${schema}".deliveries (endpoint_id) WHERE status = 'awaiting_callback'`,
    );
    const store = await createPostgresStore({ connectionString: DATABASE_URL, schema });
    const { rows } = await admin.query(`SELECT max(version)::int AS version FROM "${schema}".schema_migrations`);
    expect(rows[0].version).toBe(migrations('x').length);
    const indexes = await admin.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'deliveries' ORDER BY indexname`, [schema]);
    expect(indexes.rows.map((r) => r.indexname)).toContain('deliveries_awaiting_by_endpoint');
    expect(indexes.rows.map((r) => r.indexname)).not.toContain('deliveries_unfinished_by_endpoint');
    await store.close();
  });

  it('upgrades a schema at migration 3: leases taken before the upgrade still count against the limit', async () => {
    const schema = await schemaAtMigration('upgrade3', 3);
    await admin.query(
      `INSERT INTO "${schema}".endpoints (id, tenant, active, created_at, record) VALUES ('ep_1', 'acme', true, $1, $2)`,
      [T0, JSON.stringify({ id: 'ep_1', tenant: 'acme' })],
    );
    await admin.query(`INSERT INTO "${schema}".messages (id, tenant, type, created_at, data) VALUES ('msg_1', 'acme', 't', $1, '{"n":1}')`, [T0]);
    // Three pending deliveries of one endpoint, the first leased by w0 before the upgrade.
    await admin.query(
      `INSERT INTO "${schema}".deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at,
         lease_owner, lease_expires_at, created_at, updated_at)
       SELECT 'dlv_' || i, 'acme', 'msg_1', 'ep_1', 'pending', 0, $1::bigint + i, CASE WHEN i = 0 THEN 'w0' END,
         CASE WHEN i = 0 THEN $1::bigint + 60000 END, $1, $1
       FROM generate_series(0, 2) AS i`,
      [T0],
    );
    const store = await createPostgresStore({ connectionString: DATABASE_URL, schema });
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(migrations('x').map((_, i) => i + 1));
    const claimed = await store.claimDue({ now: T0 + 10, owner: 'w1', leaseMs: 1000, limit: 10, perEndpointLimit: 2 });
    expect(claimed.map((d) => [d.id, d.leaseOwner])).toEqual([['dlv_1', 'w1']]);
    expect(await store.getMessage('acme', 'msg_1')).toEqual({ id: 'msg_1', tenant: 'acme', type: 't', data: { n: 1 }, createdAt: T0 });
    expect(await store.getEndpoint('acme', 'ep_1')).toEqual({ id: 'ep_1', tenant: 'acme' });
    expect((await store.getDelivery('dlv_0'))?.leaseOwner).toBe('w0');
    // dlv_2 is due and unleased (the limit held it back): the earliest time anything is due.
    expect(await store.nextDueAt()).toBe(T0 + 2);
    await store.close();
  });

  it('commits claims and batched finishes without waiting for the flush, and leaves the planner settings as they were', async () => {
    const schema = schemaFor('async_commit');
    await (await createPostgresStore({ connectionString: DATABASE_URL, schema })).close();
    const client = await admin.connect();
    try {
      for (const call of [
        `SELECT * FROM "${schema}".claim_due(1, 'w', 2, 1, 1, 'x')`,
        `SELECT "${schema}".finish_attempts('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')`,
      ]) {
        await client.query('BEGIN');
        await client.query(call);
        const settings = await client.query(`SELECT current_setting('synchronous_commit') AS sync, current_setting('enable_seqscan') AS seq,
          current_setting('plan_cache_mode') AS plans`);
        expect(settings.rows).toEqual([{ sync: 'off', seq: 'on', plans: 'auto' }]);
        await client.query('ROLLBACK');
      }
    } finally {
      client.release();
    }
  });

  it('locks at most as many rows per endpoint as the claim wants, however much room the per-endpoint limit leaves', async () => {
    const { schema, store } = await storeWithDeliveries('claim_locks', 'm_backlog', ['ep_a', 'ep_b'], 50);
    const claimed = await store.claimDue({ now: T0 + 100, owner: 'w', leaseMs: 60_000, limit: 3, perEndpointLimit: 1_000 });
    expect(claimed).toHaveLength(3);
    // A row a committed transaction only locked keeps that transaction's id in xmax; a row never touched has 0. Each
    // endpoint offers up to 3 (6 locked), the earliest 3 are taken: 3 locked and left. It was 97, all that the limit allowed.
    const { rows } = await admin.query(
      `SELECT count(*)::int AS locked FROM "${schema}".deliveries WHERE lease_owner IS NULL AND xmax::text <> '0'`,
    );
    expect(rows[0].locked).toBe(3);
    await store.close();
  });

  it('waits for a busy endpoint another claimer holds, then claims, rather than come back empty', async () => {
    const { schema, store } = await storeWithDeliveries('claim_wait', 'm_busy', ['ep_busy'], 2);
    // Another claimer mid-claim: it holds the endpoint's claim lock until its transaction ends.
    const other = await admin.connect();
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [`${schema}:claim`, 'ep_busy']);
    let settled = false;
    const claim = store.claimDue({ now: T0 + 100, owner: 'w', leaseMs: 60_000, limit: 2, perEndpointLimit: 4 }).finally(() => {
      settled = true;
    });
    await until(async () => {
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = $1`,
        [`hookline:${schema}`],
      );
      return rows[0].n === 1;
    });
    expect(settled).toBe(false);
    await other.query('COMMIT');
    other.release();
    expect((await claim).map((d) => d.id).sort()).toEqual(['dlv_m_busy_ep_busy_0', 'dlv_m_busy_ep_busy_1']);
    await store.close();
  });

  it('finishes then claims in one call: the room a finish frees goes to the claim that comes with it', async () => {
    const { store } = await storeWithDeliveries('finish_claim', 'm_fc', ['ep_a'], 3);
    const options = { now: T0 + 100, owner: 'w', leaseMs: 60_000, limit: 5, perEndpointLimit: 1 };
    const [first] = await store.claimDue(options);
    const finished = (deliveryId: string, attemptId: string) => ({
      owner: 'w',
      attempt: {
        id: attemptId, tenant: 'acme', endpointId: 'ep_a', deliveryId, messageId: 'm_fc', number: 1, trigger: 'scheduled' as const,
        request: { method: 'POST', url: 'https://example.com/hook', headers: {}, body: '{}' }, durationMs: 3, startedAt: T0 + 100,
        succeeded: true,
      },
      outcome: { status: 'succeeded' as const },
    });
    // Round trips: every query any client sends (the pool's and the wake-up listener's), for this call only.
    let queries = 0;
    const original = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      queries += 1;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    // The endpoint's one slot is taken: alone, a claim would find nothing.
    const result = await store.finishThenClaim([finished(first!.id, 'att_1')], { ...options, now: T0 + 200 }).finally(() => {
      pg.Client.prototype.query = original;
    });
    expect(queries).toBe(1);
    expect(result.held).toEqual([true]);
    expect(result.claim.deliveries.map((d) => d.id)).toEqual(['dlv_m_fc_ep_a_1']);
    expect(result.claim.nextDueAt).toBe(T0 + 2);
    expect((await store.getDelivery(first!.id))?.status).toBe('succeeded');
    // One delivery twice in a batch goes the long way: the second finish finds its lease gone.
    const second = result.claim.deliveries[0]!;
    const twice = await store.finishThenClaim([finished(second.id, 'att_2'), finished(second.id, 'att_3')], { ...options, now: T0 + 300 });
    expect(twice.held).toEqual([true, false]);
    expect(twice.claim.deliveries.map((d) => d.id)).toEqual(['dlv_m_fc_ep_a_2']);
    await store.close();
  });

  it('with refill, finishes then claims only on the finished deliveries\' endpoints, within their limit', async () => {
    const { store } = await storeWithDeliveries('refill', 'm_rf', ['ep_a', 'ep_b'], 3);
    const options = { now: T0 + 100, owner: 'w', leaseMs: 60_000, limit: 2, perEndpointLimit: 2 };
    const claimed = await store.claimDue(options);
    expect(claimed.map((d) => d.id).sort()).toEqual(['dlv_m_rf_ep_a_0', 'dlv_m_rf_ep_b_0']);
    const finish = (deliveryId: string) => ({
      owner: 'w',
      attempt: {
        id: `att_${deliveryId}`, tenant: 'acme', endpointId: deliveryId.includes('ep_a') ? 'ep_a' : 'ep_b', deliveryId,
        messageId: 'm_rf', number: 1, trigger: 'scheduled' as const,
        request: { method: 'POST', url: 'https://example.com/hook', headers: {}, body: '{}' }, durationMs: 3, startedAt: T0 + 100,
        succeeded: true,
      },
      outcome: { status: 'succeeded' as const },
    });
    // ep_b has room for one more and a delivery due, but only ep_a's room was freed: the refill looks at ep_a alone.
    const refilled = await store.finishThenClaim([finish('dlv_m_rf_ep_a_0')], { ...options, now: T0 + 200, limit: 5, refill: true });
    expect(refilled.held).toEqual([true]);
    expect(refilled.claim.deliveries.map((d) => d.id)).toEqual(['dlv_m_rf_ep_a_1', 'dlv_m_rf_ep_a_2']);
    expect(refilled.claim.nextDueAt).toBeUndefined();
    // Its limit holds too: one freed, one asked for.
    const more = await store.finishThenClaim([finish('dlv_m_rf_ep_b_0')], { ...options, now: T0 + 300, limit: 1, refill: true });
    expect(more.claim.deliveries.map((d) => d.id)).toEqual(['dlv_m_rf_ep_b_1']);
    // Claimed as usual instead, the same finish would have taken ep_b's too.
    const usual = await store.finishThenClaim([finish('dlv_m_rf_ep_a_1')], { ...options, now: T0 + 400, limit: 5 });
    expect(usual.claim.deliveries.map((d) => d.id)).toEqual(['dlv_m_rf_ep_b_2']);
    await store.close();
  });

  it('keeps each schema apart: a store sees only its own tables', async () => {
    const [a, b] = [schemaFor('iso_a'), schemaFor('iso_b')];
    const storeA = await createPostgresStore({ connectionString: DATABASE_URL, schema: a });
    const storeB = await createPostgresStore({ connectionString: DATABASE_URL, schema: b });
    await storeA.addSeenId('k', T0 + 10, T0);
    expect(await storeB.addSeenId('k', T0 + 10, T0)).toBe(true);
    expect(await storeA.addSeenId('k', T0 + 10, T0)).toBe(false);
    await storeA.close();
    await storeB.close();
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => new PostgresStore({ connectionString: DATABASE_URL, schema: 'x"; DROP TABLE y; --' })).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
    expect(() => new PostgresStore({ schema: 'ok' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses wakeMembershipMs %s', (wakeMembershipMs) => {
    expect(() => new PostgresStore({ connectionString: DATABASE_URL, schema: 'ok', wakeMembershipMs })).toThrow(
      expect.objectContaining({ code: 'invalid_config', details: { field: 'wakeMembershipMs' } }),
    );
  });

  it('answers store_unavailable when the server cannot be reached', async () => {
    await expect(
      createPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema: 'nowhere' }),
    ).rejects.toMatchObject({ code: 'store_unavailable', status: 503 });
  });

  it('works on a pool the app owns and leaves it open on close', async () => {
    const schema = schemaFor('ownpool');
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
    const store = await createPostgresStore({ pool, schema });
    expect(await store.nextDueAt()).toBeUndefined();
    await store.close();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await pool.end();
  });

  it('keeps the prepared statements of two schemas sharing one connection apart', async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    const stores = await Promise.all([schemaFor('prep_a'), schemaFor('prep_b')].map((schema) => createPostgresStore({ pool, schema })));
    for (const [i, store] of stores.entries()) {
      await store.createMessage({
        message: { id: `msg_${i}`, tenant: 'acme', type: 't', data: { store: i }, createdAt: T0 },
        deliveries: deliveriesFor(`msg_${i}`, ['ep_1'], 1 + i),
      });
    }
    // Twice each, on the one connection: the second run of a statement is the prepared one.
    for (let round = 0; round < 2; round++) {
      for (const [i, store] of stores.entries()) {
        const claimed = await store.claimDue({ now: T0 + 10, owner: `w${round}`, leaseMs: 1000, limit: 10, perEndpointLimit: 10 });
        expect(claimed.map((d) => d.messageId)).toEqual(round === 0 ? Array.from({ length: 1 + i }, () => `msg_${i}`) : []);
        expect((await store.getMessage('acme', `msg_${i}`))?.data).toEqual({ store: i });
      }
    }
    await Promise.all(stores.map((store) => store.close()));
    await pool.end();
  });
});

describe('several processes sharing one schema', () => {
  const schema = freshSchemaName('shared');
  let stores: PostgresStore[] = [];

  beforeAll(async () => {
    schemas.push(schema);
    // Separate pools stand in for separate processes: different sessions, real concurrency on the server.
    stores = await Promise.all(Array.from({ length: 4 }, () => createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 4 })));
  });

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });

  it('never leases one delivery twice and never exceeds perEndpointLimit across stores', async () => {
    const endpoints = ['ep_a', 'ep_b', 'ep_c'];
    const [first] = stores as [PostgresStore];
    await first.createMessage({ message: { id: 'm_shared', tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries: deliveriesFor('m_shared', endpoints, 40) });
    const rounds = await Promise.all(
      stores.flatMap((store, s) =>
        Array.from({ length: 5 }, (_, i) => store.claimDue({ now: T0 + 100, owner: `s${s}-c${i}`, leaseMs: 60_000, limit: 4, perEndpointLimit: 5 })),
      ),
    );
    const claimed = rounds.flat();
    expect(new Set(claimed.map((d) => d.id)).size).toBe(claimed.length);
    for (const endpointId of endpoints) expect(claimed.filter((d) => d.endpointId === endpointId).length).toBeLessThanOrEqual(5);
    const { rows } = await admin.query(
      `SELECT endpoint_id, count(*)::int AS n FROM "${schema}".deliveries WHERE lease_owner IS NOT NULL GROUP BY endpoint_id`,
    );
    for (const row of rows) expect(row.n).toBeLessThanOrEqual(5);
  });

  it('holds the limits when concurrent claims go endpoint by endpoint past a stalled backlog', async () => {
    // A fresh schema: 300 due deliveries of an endpoint at its limit (2 leased) ahead of four others' ten each, so
    // every claim's walk of the first 100 due deliveries finds nothing to lock and goes endpoint by endpoint.
    const stalledSchema = schemaFor('stalled');
    const claimers = await Promise.all(Array.from({ length: 4 }, () => createPostgresStore({ connectionString: DATABASE_URL, schema: stalledSchema, poolSize: 4 })));
    try {
      const stuck = Array.from({ length: 300 }, (_, i): DeliveryRecord => ({
        id: `dlv_stuck_${i}`, tenant: 'acme', messageId: 'm_stuck', endpointId: 'ep_stuck', status: 'pending', attemptCount: 0,
        nextAttemptAt: T0 - 1_000 + i, createdAt: T0, updatedAt: T0, ...(i < 2 ? { leaseOwner: 'w0', leaseExpiresAt: T0 + 600_000 } : {}),
      }));
      const others = ['ep_1', 'ep_2', 'ep_3', 'ep_4'];
      await claimers[0]!.createMessage({ message: { id: 'm_stuck', tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries: stuck });
      await claimers[0]!.createMessage({ message: { id: 'm_others', tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries: deliveriesFor('m_others', others, 10) });
      const rounds = await Promise.all(
        claimers.flatMap((store, s) =>
          Array.from({ length: 3 }, (_, i) => store.claimDue({ now: T0 + 100, owner: `s${s}-c${i}`, leaseMs: 60_000, limit: 4, perEndpointLimit: 2 })),
        ),
      );
      // Whatever the concurrent claims left, one more claim takes: every other endpoint ends exactly at its limit.
      const claimed = [...rounds.flat(), ...(await claimers[0]!.claimDue({ now: T0 + 100, owner: 'last', leaseMs: 60_000, limit: 16, perEndpointLimit: 2 }))];
      expect(new Set(claimed.map((d) => d.id)).size).toBe(claimed.length);
      expect(claimed.filter((d) => d.endpointId === 'ep_stuck')).toEqual([]);
      const { rows } = await admin.query(
        `SELECT endpoint_id, count(*)::int AS n FROM "${stalledSchema}".deliveries WHERE lease_owner IS NOT NULL GROUP BY endpoint_id ORDER BY endpoint_id`,
      );
      expect(rows).toEqual([...others.map((endpoint_id) => ({ endpoint_id, n: 2 })), { endpoint_id: 'ep_stuck', n: 2 }]);
    } finally {
      await Promise.all(claimers.map((store) => store.close()));
    }
  });

  it('wakes a listener in another store when a message is published', async () => {
    const [publisher, listener] = stores as [PostgresStore, PostgresStore];
    const woke = new Promise<void>((resolve) => {
      const stop = listener.onWake(() => {
        stop();
        resolve();
      });
    });
    await waitForListener(schema, 1);
    await publisher.createMessage({ message: { id: 'm_wake', tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries: deliveriesFor('m_wake', ['ep_w'], 1) });
    await expect(woke).resolves.toBeUndefined();
  });

  it('reconnects the wake-up listener after its connection is killed, and wakes on reconnect', async () => {
    const errors: unknown[] = [];
    const store = await createPostgresStore({ connectionString: DATABASE_URL, schema, reconnect: { initialMs: 20, maxMs: 200 }, onError: (e) => errors.push(e) });
    let wakes = 0;
    const stop = store.onWake(() => {
      wakes += 1;
    });
    await waitForListener(schema, 1);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`hookline-wake:${schema}`]);
    // The reconnect itself wakes once (notifications sent while down are lost), then NOTIFY works again.
    await until(() => wakes >= 1);
    await waitForListener(schema, 1);
    const before = wakes;
    await stores[0]!.createMessage({ message: { id: 'm_after', tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries: deliveriesFor('m_after', ['ep_r'], 1) });
    await until(() => wakes > before);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    stop();
    await store.close();
  });

  describe('one wake-up per publish for all the listening processes', () => {
    const wakeSchema = schemaFor('wake');
    let publisher: PostgresStore;
    let published = 0;
    beforeAll(async () => {
      publisher = await createPostgresStore({ connectionString: DATABASE_URL, schema: wakeSchema, poolSize: 2 });
    });
    afterAll(async () => {
      await publisher.close();
    });

    /** Three listening stores; `full[i]` makes the i-th say it has no room. Runs `work`, then closes them. */
    async function withListeners(full: boolean[], work: (wakes: number[]) => Promise<void>): Promise<void> {
      // Membership read on every notification, so a test never waits for a stale view to expire.
      const listeners = await Promise.all(full.map(() => createPostgresStore({ connectionString: DATABASE_URL, schema: wakeSchema, poolSize: 1, wakeMembershipMs: 0 })));
      const wakes = full.map(() => 0);
      const stops = listeners.map((store, i) => store.onWake(() => {
        wakes[i]! += 1;
        return !full[i];
      }));
      try {
        // Exactly these: a listener of the test before that has not gone yet would be counted for its share.
        await until(async () => {
          const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [`hookline-wake:${wakeSchema}`]);
          return rows[0].n === full.length;
        });
        await waitForListener(wakeSchema, full.length);
        await work(wakes);
      } finally {
        stops.forEach((stop) => stop());
        await Promise.all(listeners.map((store) => store.close()));
      }
    }

    async function publishOne(): Promise<string> {
      const id = `m_wake_${++published}`;
      await publisher.createMessage({ message: { id, tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries: deliveriesFor(id, ['ep_w'], 1) });
      return id;
    }

    const total = (wakes: number[]) => wakes.reduce((a, b) => a + b, 0);
    const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

    it('wakes exactly one of them per publish, spread over all, and every one for a lease handed back', async () => {
      await withListeners([false, false, false], async (wakes) => {
        for (let i = 0; i < 30; i++) {
          await publishOne();
          await until(() => total(wakes) === i + 1, () => ({ publish: i + 1, wakes }));
        }
        await settle();
        expect(total(wakes)).toBe(30);
        for (const count of wakes) expect(count).toBeGreaterThan(0);
        const [leased] = await publisher.claimDue({ now: T0 + 10, owner: 'w1', leaseMs: 60_000, limit: 1 });
        await publisher.releaseLease(leased!.id, 'w1');
        await until(() => total(wakes) === 33, () => ({ wakes }));
        expect(wakes.every((count) => count >= 2)).toBe(true);
      });
    });

    it('passes a wake-up on from a process without room, and stops after one round when none has room', async () => {
      await withListeners([true, true, false], async (wakes) => {
        for (let i = 0; i < 10; i++) {
          await publishOne();
          await until(() => wakes[2] === i + 1, () => ({ publish: i + 1, wakes }));
        }
        await settle();
        expect(wakes[2]).toBe(10);
        expect(wakes[0]! + wakes[1]!).toBeLessThanOrEqual(20);
      });
      await withListeners([true, true, true], async (wakes) => {
        for (let i = 0; i < 5; i++) await publishOne();
        await until(() => total(wakes) === 15, () => ({ wakes }));
        await settle();
        expect(wakes).toEqual([5, 5, 5]);
      });
    });
  });

  it('passes room between processes: an ask reaches the others, not the asker, and room given wakes the asker alone', async () => {
    const roomSchema = schemaFor('room');
    const stores = await Promise.all([0, 1, 2].map(() => createPostgresStore({ connectionString: DATABASE_URL, schema: roomSchema, poolSize: 1 })));
    const [a, b, c] = stores as [PostgresStore, PostgresStore, PostgresStore];
    const woken = [0, 0, 0];
    const asked = [0, 0, 0];
    const stops = stores.flatMap((store, i) => [
      store.onWake(() => {
        woken[i]! += 1;
      }),
      store.onRoomWanted(() => {
        asked[i]! += 1;
      }),
    ]);
    try {
      await waitForListener(roomSchema, 3);
      a.askForRoom();
      // Asked again at once: at most one ask per 50 ms goes out.
      a.askForRoom();
      await until(() => asked[1] === 1 && asked[2] === 1, () => ({ asked }));
      b.roomGiven();
      await until(() => woken[0] === 1, () => ({ woken }));
      // Each process asked answers once: c's room wakes a again; b, already answered, wakes no one a second time.
      c.roomGiven();
      b.roomGiven();
      await until(() => woken[0] === 2, () => ({ woken }));
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect({ woken, asked }).toEqual({ woken: [2, 0, 0], asked: [0, 1, 1] });
    } finally {
      stops.forEach((stop) => stop());
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('survives its pooled connections being killed: each dead connection fails one call with store_unavailable, then calls work', async () => {
    const errors: unknown[] = [];
    const store = await createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 3, onError: (e) => errors.push(e) });
    await Promise.all([store.nextDueAt(), store.nextDueAt(), store.nextDueAt()]);
    const { rowCount: killed } = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle'`,
      [`hookline:${schema}`],
    );
    expect(killed).toBeGreaterThanOrEqual(1);
    await until(() => errors.length >= 1);
    // A killed idle connection can still be handed out before its error event removes it from the pool: that call
    // fails with store_unavailable (never another error, never a crash), and the pool replaces the connection.
    let failures = 0;
    for (;;) {
      try {
        await store.nextDueAt();
        break;
      } catch (error) {
        expect(error).toMatchObject({ code: 'store_unavailable' });
        failures += 1;
        expect(failures).toBeLessThanOrEqual(3);
      }
    }
    await store.close();
  });
});

describe('a connection killed mid-claim', () => {
  it('rejects that claim with store_unavailable, never crashes the process, and the next claim works', async () => {
    const schema = schemaFor('killed');
    const errors: unknown[] = [];
    const store = await createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 2, onError: (e) => errors.push(e) });
    await store.createMessage({ message: { id: 'm_k', tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries: deliveriesFor('m_k', ['ep_k'], 2) });
    // Hold the endpoint's claim lock elsewhere, so the claim waits on it, then kill the waiting connection: the server
    // answers the in-flight statement with an error and closes the socket while the store rolls back.
    const holder = await admin.connect();
    await holder.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [`${schema}:claim`, 'ep_k']);
    // Asserted from the start: the claim may fail before the kill below is confirmed.
    const claim = expect(store.claimDue({ now: T0 + 10, owner: 'w1', leaseMs: 1000, limit: 1, perEndpointLimit: 2 })).rejects.toMatchObject({ code: 'store_unavailable' });
    await until(async () => {
      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [`hookline:${schema}`],
      );
      return rowCount === 1;
    });
    await claim;
    await holder.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', [`${schema}:claim`, 'ep_k']);
    holder.release();
    const next = await store.claimDue({ now: T0 + 10, owner: 'w1', leaseMs: 1000, limit: 1, perEndpointLimit: 2 });
    expect(next.map((d) => d.id)).toEqual(['dlv_m_k_ep_k_0']);
    await store.close();
  });
});

async function waitForListener(schema: string, count: number): Promise<void> {
  await until(async () => {
    const { rows } = await admin.query(
      // After LISTEN the connection reads who else listens (pg_backend_pid ... pg_stat_activity): either means listening.
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND (query LIKE 'LISTEN%' OR query LIKE '%pg_backend_pid()%')`,
      [`hookline-wake:${schema}`],
    );
    return rows[0].n >= count;
  });
}

/**
 * Waits for an event from another connection (a NOTIFY, a reconnect), failing after 10 s; `state` says in the failure
 * what was seen instead (these waits have failed rarely, on a loaded machine, with nothing else to go on).
 */
async function until(check: () => boolean | Promise<boolean>, state?: () => unknown): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 20) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`condition not met within 10 s${state === undefined ? '' : `; seen: ${JSON.stringify(state())}`}`);
}
