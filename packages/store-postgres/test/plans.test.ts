import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '@hookline/store-postgres';
import { statements } from '../src/sql.js';
import { DATABASE_URL, dropSchema, freshSchemaName } from './helpers.js';

const T0 = 1_700_000_000_000;
const ROWS = 100_000;
const schema = freshSchemaName('plans');
const sql = statements(`"${schema}"`);
const client = new pg.Client({ connectionString: DATABASE_URL });

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function scans(node: PlanNode, found: PlanNode[] = []): PlanNode[] {
  if (node['Relation Name'] !== undefined) found.push(node);
  for (const child of node.Plans ?? []) scans(child, found);
  return found;
}

async function plan(text: string, values: unknown[]): Promise<PlanNode[]> {
  const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
  if (process.env.SHOW_PLANS) console.log(JSON.stringify(rows[0]['QUERY PLAN'], null, 1));
  return scans((rows[0]['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan);
}

/**
 * The plans of the statements a server-side function runs (auto_explain, nested statements, sent back as notices),
 * executed in a transaction that is rolled back.
 */
async function nestedPlans(text: string, values: unknown[], { analyze = false } = {}): Promise<PlanNode[]> {
  const found: PlanNode[] = [];
  const onNotice = (notice: { message?: string }) => {
    const at = notice.message?.indexOf('{') ?? -1;
    if (at >= 0) scans((JSON.parse((notice.message as string).slice(at)) as { Plan: PlanNode }).Plan, found);
  };
  client.on('notice', onNotice);
  try {
    await client.query('BEGIN');
    await client.query(`LOAD 'auto_explain'`);
    await client.query(`SET LOCAL auto_explain.log_min_duration = 0; SET LOCAL auto_explain.log_nested_statements = on;
      SET LOCAL auto_explain.log_format = json; SET LOCAL client_min_messages = log;
      SET LOCAL auto_explain.log_analyze = ${analyze ? 'on' : 'off'}`);
    await client.query(text, values);
  } finally {
    await client.query('ROLLBACK');
    client.off('notice', onNotice);
  }
  return found;
}

/**
 * A fresh schema with one message and `count` due deliveries of `endpoint`, the first two leased by another worker
 * until long after the tests (at its limit of 2), ids `prefix` + a five-digit number in due order.
 */
async function backlogAtItsLimit(schema: string, endpoint: string, prefix: string, count: number): Promise<void> {
  await (await createPostgresStore({ connectionString: DATABASE_URL, schema })).close();
  const s = `"${schema}"`;
  await client.query(`INSERT INTO ${s}.messages (id, tenant, type, created_at, data) VALUES ('msg_0', 'acme', 't', ${T0}, '{}'::json)`);
  await client.query(`
    INSERT INTO ${s}.deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at,
      lease_owner, lease_expires_at, created_at, updated_at)
    SELECT $1 || lpad(i::text, 5, '0'), 'acme', 'msg_0', $2, 'pending', 0, ${T0} + i,
      CASE WHEN i < 2 THEN 'w0' END, CASE WHEN i < 2 THEN ${T0} + 600000 END, ${T0}, ${T0}
    FROM generate_series(0, ${count - 1}) AS i`, [prefix, endpoint]);
}

function seqScans(nodes: PlanNode[]): string[] {
  return nodes.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'] as string);
}

beforeAll(async () => {
  await (await createPostgresStore({ connectionString: DATABASE_URL, schema })).close();
  await client.connect();
  const s = `"${schema}"`;
  // 100,000 deliveries over 50,000 messages and 200 endpoints: 5 % pending (a fifth of those leased), 5 % awaiting
  // a callback, the rest finished, as in a store that has been running for a week.
  await client.query(`
    INSERT INTO ${s}.messages (id, tenant, type, idempotency_key, created_at, data)
    SELECT 'msg_' || i, 'acme', 'order.created', CASE WHEN i % 3 = 0 THEN 'key_' || i END, ${T0} + i * 2, '{}'::json
    FROM generate_series(0, ${ROWS / 2 - 1}) AS i`);
  await client.query(`
    INSERT INTO ${s}.deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at,
      lease_owner, lease_expires_at, last_error, created_at, updated_at)
    SELECT 'dlv_' || i, 'acme', 'msg_' || (i / 2), 'ep_' || (i % 200),
      CASE WHEN i % 20 = 0 THEN 'pending' WHEN i % 20 = 1 THEN 'awaiting_callback' ELSE 'succeeded' END,
      1, ${T0} + i,
      CASE WHEN i % 100 = 0 THEN 'worker_' || (i % 7) END, CASE WHEN i % 100 = 0 THEN ${T0} + i + 60000 END,
      NULL, ${T0} + i, ${T0} + i
    FROM generate_series(0, ${ROWS - 1}) AS i`);
  await client.query(`
    INSERT INTO ${s}.attempts (id, tenant, endpoint_id, message_id, delivery_id, started_at, record)
    SELECT 'att_' || i, 'acme', 'ep_' || (i % 200), 'msg_' || (i / 2), 'dlv_' || i, ${T0} + i, '{}'::json
    FROM generate_series(0, ${ROWS - 1}) AS i`);
  await client.query(`
    INSERT INTO ${s}.seen_ids (key, expires_at) SELECT 'seen_' || i, ${T0} + i FROM generate_series(0, ${ROWS - 1}) AS i`);
  // Every awaiting delivery has its callback; half of them have lapsed by `now`.
  await client.query(`
    INSERT INTO ${s}.callbacks (token_hash, tenant, delivery_id, message_id, endpoint_id, expires_at)
    SELECT 'hash_' || i, 'acme', 'dlv_' || i, 'msg_' || (i / 2), 'ep_' || (i % 200), ${T0} + i
    FROM generate_series(1, ${ROWS - 1}, 20) AS i`);
  // 20,000 endpoints (the 200 above have deliveries): a table past a few pages, where a scan would cost.
  await client.query(`
    INSERT INTO ${s}.endpoints (id, tenant, active, created_at, record)
    SELECT 'ep_' || i, 'acme', true, ${T0} + i, json_build_object('id', 'ep_' || i, 'tenant', 'acme')
    FROM generate_series(0, 19999) AS i`);
  await client.query(`ANALYZE ${s}.endpoints, ${s}.messages, ${s}.deliveries, ${s}.attempts, ${s}.seen_ids, ${s}.callbacks`);
}, 120_000);

afterAll(async () => {
  await client.end();
  await dropSchema(schema);
});

const now = T0 + ROWS / 2;

describe(`query plans at ${ROWS.toLocaleString('en-US')} deliveries`, () => {
  it('claims through the due index, never scanning deliveries', async () => {
    const nodes = await plan(sql.claimDue, [now, 'w1', now + 30_000, 50]);
    expect(seqScans(nodes)).toEqual([]);
    expect(nodes.map((n) => n['Index Name'])).toContain('deliveries_due');
  });

  it('claims within per-endpoint limits through partial indexes', async () => {
    expect(seqScans(await plan(sql.claimCandidates, [now, 5, ['ep_1', 'ep_2'], 200, 'plans:claim', 16]))).toEqual([]);
    expect(seqScans(await plan(sql.claimCandidatesByEndpoint, [now, 5, ['ep_1', 'ep_2'], 'plans:claim', 16]))).toEqual([]);
    const endpoints = Array.from({ length: 20 }, (_, i) => `ep_${i * 10}`);
    const nodes = await plan(sql.claimWithinLimits, [now, 'w1', now + 30_000, 50, 5, endpoints]);
    expect(seqScans(nodes)).toEqual([]);
    expect(nodes.map((n) => n['Index Name'])).toContain('deliveries_due_by_endpoint');
  });

  it('runs the claim function\'s statements through indexes, walking the due index in order', async () => {
    const nodes = await nestedPlans(sql.claimDueLimited, [now, 'w1', now + 30_000, 16, 4, 'plans:claim']);
    expect(seqScans(nodes)).toEqual([]);
    expect(nodes.filter((n) => n['Node Type'] === 'Bitmap Heap Scan')).toEqual([]);
    const indexes = nodes.map((n) => n['Index Name']);
    expect(indexes).toContain('deliveries_due');
    expect(indexes).toContain('deliveries_due_by_endpoint');
  });

  it('plans the claim and finish functions once per session (generic plans), not on every call', async () => {
    const { rows } = await client.query(
      `SELECT proname, proconfig FROM pg_proc WHERE pronamespace = $1::regnamespace
       AND proname IN ('claim_due', 'finish_attempts', 'finish_then_refill') ORDER BY proname`,
      [`"${schema}"`],
    );
    expect(rows.map((r) => [r.proname, (r.proconfig as string[]).includes('plan_cache_mode=force_generic_plan')])).toEqual([
      ['claim_due', true], ['finish_attempts', true], ['finish_then_refill', true],
    ]);
  });

  it('refills the finished endpoints by key and through the per-endpoint due index, never walking the due queue', async () => {
    // Inside a transaction rolled back by nestedPlans: the finishes and the refill change nothing here.
    const ids = ['dlv_20', 'dlv_40'];
    const column = (value: unknown) => ids.map(() => value);
    const nodes = await nestedPlans(sql.finishThenRefill, [
      ids.map((id) => `att_refill_${id}`), column('acme'), ['ep_20', 'ep_40'], column('msg_10'), ids, column(now), column('{}').join('\u001e'),
      column('succeeded'), column(null), column(null), column(now + 5), column('worker_0'),
      now, 'w1', now + 30_000, 2, 4, 'plans:claim',
    ]);
    expect(seqScans(nodes)).toEqual([]);
    expect(nodes.filter((n) => n['Node Type'] === 'Bitmap Heap Scan')).toEqual([]);
    const indexes = nodes.map((n) => n['Index Name']);
    expect(indexes).toContain('deliveries_due_by_endpoint');
    expect(indexes).not.toContain('deliveries_due');
  });

  it("reads the claimed deliveries' messages and endpoints by key", async () => {
    const nodes = await plan(sql.claimContext, [['msg_10', 'msg_11', 'msg_500'], ['ep_1', 'ep_7']]);
    expect(seqScans(nodes)).toEqual([]);
    expect(nodes.map((n) => n['Index Name']).sort()).toEqual(['endpoints_pkey', 'messages_pkey']);
  });

  it('finishes a batch of attempts by key, never scanning deliveries', async () => {
    const ids = ['dlv_20', 'dlv_40', 'dlv_60'];
    const column = (value: unknown) => ids.map(() => value);
    const nodes = await plan(sql.finishAttempts, [
      ids.map((id) => `att_new_${id}`), column('acme'), column('ep_0'), column('msg_10'), ids, column(now), column('{}'),
      column('succeeded'), column(null), column(null), column(now + 5), column('worker_0'),
    ]);
    expect(seqScans(nodes)).toEqual([]);
    expect(nodes.map((n) => n['Index Name'])).toContain('deliveries_pkey');
    const called = await nestedPlans(sql.finishAttemptsCall, [
      ids.map((id) => `att_new_${id}`), column('acme'), column('ep_0'), column('msg_10'), ids, column(now), column('{}').join('\u001e'),
      column('succeeded'), column(null), column(null), column(now + 5), column('worker_0'),
    ]);
    expect(seqScans(called)).toEqual([]);
    expect(called.filter((n) => n['Relation Name'] === 'deliveries' && n['Node Type'] !== 'ModifyTable')).toEqual([
      expect.objectContaining({ 'Node Type': 'Index Scan', 'Index Name': 'deliveries_pkey' }),
    ]);
  });

  it('finds the next due time without scanning deliveries', async () => {
    expect(seqScans(await plan(sql.nextDueAt, []))).toEqual([]);
    expect(seqScans(await nestedPlans(sql.nextDueAtCall, []))).toEqual([]);
  });

  it('reads history by endpoint, message, delivery and time through indexes', async () => {
    const queries = [
      sql.listAttempts({ tenant: 'acme', endpointId: 'ep_7', limit: 51 }),
      sql.listAttempts({ tenant: 'acme', endpointId: 'ep_7', since: T0, until: T0 + 5000, cursor: { at: T0 + 4000, id: 'att_4000' }, limit: 51 }),
      sql.listAttempts({ tenant: 'acme', messageId: 'msg_77', limit: 51 }),
      sql.listAttempts({ tenant: 'acme', deliveryId: 'dlv_77', limit: 51 }),
      sql.listAttempts({ tenant: 'acme', since: T0 + 10, limit: 51 }),
    ];
    for (const query of queries) {
      const nodes = await plan(query.text, query.values);
      expect(seqScans(nodes)).toEqual([]);
      expect(nodes.every((n) => n['Relation Name'] === 'attempts')).toBe(true);
    }
  });

  it('expires lapsed callbacks through the awaiting index, never scanning deliveries or callbacks', async () => {
    const nodes = await plan(sql.expireAwaitingCallbacks, [now, now - 1000, 500, 'expired']);
    expect(seqScans(nodes)).toEqual([]);
    expect(nodes.map((n) => n['Index Name'])).toContain('deliveries_awaiting_callback');
  });

  it("deletes an endpoint and cancels its pending and awaiting deliveries through partial indexes, never scanning deliveries", async () => {
    expect(seqScans(await plan(sql.deleteEndpoint, ['ep_7', 'acme', now]))).toEqual([]);
    const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${sql.deleteEndpoint}`, ['ep_7', 'acme', now]);
    const text = JSON.stringify(rows[0]['QUERY PLAN']);
    expect(text).toContain('"deliveries_due_by_endpoint"');
    expect(text).toContain('"deliveries_awaiting_by_endpoint"');
  });

  it('purges in bounded batches without scanning deliveries, attempts or messages', async () => {
    for (const [text, values] of [
      [sql.purgeAttempts, [T0 + 40_000, 1000]],
      [sql.purgeMessages, [T0 + 40_000, 1000]],
      [sql.purgeSeenIds, [T0 + 40_000, 1000]],
    ] as const) {
      expect(seqScans(await plan(text, [...values]))).toEqual([]);
    }
  });
});

describe('the claim on a table the planner has no statistics for', () => {
  // A store filling faster than autovacuum analyses it (a new deployment, a burst): the planner then guesses a
  // handful of due rows, and the claim once read and sorted every due delivery to find the first hundred.
  const fresh = freshSchemaName('plans_fresh');

  beforeAll(async () => {
    await (await createPostgresStore({ connectionString: DATABASE_URL, schema: fresh })).close();
    const s = `"${fresh}"`;
    await client.query(`
      INSERT INTO ${s}.messages (id, tenant, type, created_at, data)
      SELECT 'msg_' || i, 'acme', 'order.created', ${T0}, '{}'::json FROM generate_series(0, 2999) AS i`);
    await client.query(`
      INSERT INTO ${s}.deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at, created_at, updated_at)
      SELECT 'dlv_' || i, 'acme', 'msg_' || i, 'ep_' || (i % 8), 'pending', 0, ${T0} + i, ${T0}, ${T0}
      FROM generate_series(0, 2999) AS i`);
  });

  afterAll(async () => {
    await dropSchema(fresh);
  });

  it('still walks the due index in order and reads deliveries by key', async () => {
    const s = `"${fresh}"`;
    const freshSql = statements(s);
    const nodes = await nestedPlans(freshSql.claimDueLimited, [T0 + 5000, 'w1', T0 + 60_000, 16, 4, `${fresh}:claim`]);
    expect(seqScans(nodes)).toEqual([]);
    expect(nodes.filter((n) => n['Node Type'] === 'Bitmap Heap Scan')).toEqual([]);
    expect(nodes.map((n) => n['Index Name'])).toContain('deliveries_due');
  });

  it('finishes a batch by key and finds the next due time without reading every pending delivery', async () => {
    const s = `"${fresh}"`;
    const freshSql = statements(s);
    const ids = ['dlv_20', 'dlv_40', 'dlv_60'];
    const column = (value: unknown) => ids.map(() => value);
    const finish = [
      ids.map((id) => `att_${id}`), column('acme'), column('ep_0'), column('msg_10'), ids, column(T0), column('{}').join('\u001e'),
      column('succeeded'), column(null), column(null), column(T0 + 5), column('w1'),
    ];
    const finishing = await nestedPlans(freshSql.finishAttemptsCall, finish);
    expect(seqScans(finishing)).toEqual([]);
    expect(finishing.filter((n) => n['Relation Name'] === 'deliveries' && n['Node Type'] !== 'ModifyTable')).toEqual([
      expect.objectContaining({ 'Node Type': 'Index Scan', 'Index Name': 'deliveries_pkey' }),
    ]);
    const due = await nestedPlans(freshSql.nextDueAtCall, []);
    expect(seqScans(due)).toEqual([]);
    expect(due.filter((n) => n['Node Type'] === 'Bitmap Heap Scan')).toEqual([]);
    expect(due.map((n) => n['Index Name'])).toContain('deliveries_due');
  });
});

describe('the claim past an endpoint at its limit with a deep due backlog', () => {
  // A stalled endpoint at its limit with 5,000 due deliveries ahead of everyone else's: the claim once walked all of
  // them on every call (about 12 ms of server time at 20,000).
  const stuck = freshSchemaName('plans_stuck');
  const BACKLOG = 5_000;

  beforeAll(async () => {
    await backlogAtItsLimit(stuck, 'ep_stuck', 'dlv_stuck_', BACKLOG);
    const s = `"${stuck}"`;
    await client.query(`
      INSERT INTO ${s}.deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at, created_at, updated_at)
      SELECT 'dlv_' || e || '_' || i, 'acme', 'msg_0', 'ep_' || e, 'pending', 0, ${T0} + ${BACKLOG} + i, ${T0}, ${T0}
      FROM unnest(ARRAY['a', 'b']) AS e, generate_series(0, 9) AS i`);
    await client.query(`ANALYZE ${s}.deliveries`);
  });

  afterAll(async () => {
    await dropSchema(stuck);
  });

  const now = T0 + 2 * BACKLOG;
  const claim = statements(`"${stuck}"`).claimDueLimited;
  const args = [now, 'w1', now + 60_000, 4, 2, `${stuck}:claim`];

  it('claims the other endpoints\' deliveries', async () => {
    const store = await createPostgresStore({ connectionString: DATABASE_URL, schema: stuck });
    try {
      const claimed = await store.claimDue({ now, owner: 'w1', leaseMs: 60_000, limit: 4, perEndpointLimit: 2 });
      expect(claimed.map((d) => d.id).sort()).toEqual(['dlv_a_0', 'dlv_a_1', 'dlv_b_0', 'dlv_b_1']);
    } finally {
      await store.close();
    }
  });

  it('reads a bounded stretch of the backlog, not all of it, through indexes', async () => {
    const nodes = await nestedPlans(claim, args, { analyze: true });
    expect(seqScans(nodes)).toEqual([]);
    const read = nodes
      .filter((n) => n['Relation Name'] === 'deliveries' && n['Node Type'] !== 'ModifyTable')
      .reduce((total, n) => total + ((n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0)) * (n['Actual Loops'] ?? 1), 0);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(BACKLOG / 10);
  });
});

describe('a claim when everything due is at its limit', () => {
  // One endpoint at its limit with a backlog behind it, nothing else due: the claim comes back empty. It used to walk
  // the due queue twice and go endpoint by endpoint twice (the second time of each to find an endpoint to wait for).
  const saturated = freshSchemaName('plans_saturated');

  beforeAll(async () => {
    await backlogAtItsLimit(saturated, 'ep_full', 'dlv_', 1_000);
    await client.query(`ANALYZE "${saturated}".deliveries`);
  });

  afterAll(async () => {
    await dropSchema(saturated);
  });

  it('comes back empty after one walk and one look endpoint by endpoint', async () => {
    const now = T0 + 2_000;
    const nodes = await nestedPlans(statements(`"${saturated}"`).claimDueLimited, [now, 'w1', now + 60_000, 4, 2, `${saturated}:claim`]);
    expect(seqScans(nodes)).toEqual([]);
    const walks = nodes.filter((n) => n['Index Name'] === 'deliveries_due');
    expect(walks).toHaveLength(1);
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${saturated}".deliveries WHERE lease_owner = 'w1'`);
    expect(rows[0].n).toBe(0);
  });
});
