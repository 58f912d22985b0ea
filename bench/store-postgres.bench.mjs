// The Postgres store. Part 1 (store level, no HTTP): publishes per second and deliveries leased + finished per second
// for the memory, SQLite and Postgres stores, and Postgres with four claimers on separate connections; then bytes per
// delivery on disk. Part 2 (issue 8, needs the dispatcher): deliveries per second through hookline workers in one and
// two processes against a bare keep-alive POST loop and against pg-boss, and publish-to-delivered latency at a steady
// 200 events per second.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MemoryStore } from '@hookline/store';
import { SqliteStore } from '@hookline/store-sqlite';
import { createPostgresStore } from '@hookline/store-postgres';
import { report } from './lib/measure.mjs';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MESSAGES = 4_000;
const REQUEST_BODY = JSON.stringify({ version: 'v1', webhookId: 'msg', event: 'bench', payload: { note: 'x'.repeat(1000) } });

function schemaName() {
  return `bench_${randomBytes(5).toString('hex')}`;
}

async function dropSchema(schema) {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

let sequence = 0;
function publishInput(now) {
  sequence += 1;
  const id = `msg_${sequence}`;
  return {
    message: { id, tenant: 'default', type: 'bench', data: { note: 'x'.repeat(1000) }, createdAt: now },
    deliveries: [{ id: `dlv_${sequence}`, tenant: 'default', messageId: id, endpointId: `ep_${sequence % 8}`, status: 'pending',
      attemptCount: 0, nextAttemptAt: now, createdAt: now, updatedAt: now }],
  };
}

function attemptFor(delivery, now) {
  return {
    id: `att_${delivery.id}`, tenant: delivery.tenant, endpointId: delivery.endpointId, deliveryId: delivery.id,
    messageId: delivery.messageId, number: 1, trigger: 'scheduled',
    request: { method: 'POST', url: 'https://hooks.example.com/x', headers: { 'content-type': 'application/json', authorization: '[redacted]' }, body: REQUEST_BODY },
    response: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok', truncated: false },
    durationMs: 3, startedAt: now, succeeded: true,
  };
}

/** Publishes `count` messages from 16 lanes; returns publishes per second. */
async function publishMany(store, count) {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) {
      next += 1;
      await store.createMessage(publishInput(Date.now()));
    }
  }));
  return (count * 1000) / (performance.now() - start);
}

/** One worker loop per store: claim up to 16, finish each, until nothing is due; returns deliveries per second. */
async function drain(stores, total) {
  let done = 0;
  const start = performance.now();
  await Promise.all(stores.map(async (store, w) => {
    for (;;) {
      const now = Date.now();
      const claimed = await store.claimDue({ now, owner: `w${w}`, leaseMs: 30_000, limit: 16, perEndpointLimit: 8 });
      if (claimed.length === 0) {
        if (done >= total) return;
        await new Promise((resolve) => setTimeout(resolve, 2));
        continue;
      }
      await Promise.all(claimed.map((d) => store.finishAttempt({ owner: `w${w}`, attempt: attemptFor(d, now), outcome: { status: 'succeeded' } })));
      done += claimed.length;
    }
  }));
  return (total * 1000) / (performance.now() - start);
}

async function storeLevel() {
  const dir = mkdtempSync(join(tmpdir(), 'hookline-store-bench-'));
  const rows = [];
  const publishRows = [];

  const memory = new MemoryStore();
  publishRows.push({ name: 'memory', value: await publishMany(memory, MESSAGES) });
  rows.push({ name: 'memory, 1 claimer', value: await drain([memory], MESSAGES) });

  const sqlitePath = join(dir, 'bench.db');
  const sqlite = new SqliteStore({ path: sqlitePath });
  publishRows.push({ name: 'sqlite', value: await publishMany(sqlite, MESSAGES) });
  rows.push({ name: 'sqlite, 1 claimer', value: await drain([sqlite], MESSAGES) });

  const schema = schemaName();
  try {
    const postgres = await createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 16 });
    publishRows.push({ name: 'postgres', value: await publishMany(postgres, MESSAGES) });
    rows.push({ name: 'postgres, 1 claimer', value: await drain([postgres], MESSAGES) });
    const claimers = await Promise.all(Array.from({ length: 3 }, () => createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 8 })));
    await publishMany(postgres, MESSAGES);
    rows.push({ name: 'postgres, 4 claimers', value: await drain([postgres, ...claimers], MESSAGES) });

    // Bytes on disk per delivered message (message + delivery + attempt with a 1 KiB request body), indexes included.
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`VACUUM ANALYZE "${schema}".messages, "${schema}".deliveries, "${schema}".attempts`);
    const { rows: sizes } = await admin.query(
      `SELECT sum(pg_total_relation_size(format('%I.%I', $1::text, t))) AS bytes FROM unnest(ARRAY['messages', 'deliveries', 'attempts']) AS t`,
      [schema],
    );
    const { rows: counted } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".deliveries`);
    await admin.end();
    const sqliteBytes = statSync(sqlitePath).size + statSync(`${sqlitePath}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    console.log(`\n## Disk per delivered message (message + delivery + attempt, 1 KiB bodies, indexes included)`);
    console.log(`postgres  ${Math.round(Number(sizes[0].bytes) / counted[0].n).toLocaleString('en-US')} bytes  (${counted[0].n.toLocaleString('en-US')} rows)`);
    console.log(`sqlite    ${Math.round(sqliteBytes / MESSAGES).toLocaleString('en-US')} bytes  (${MESSAGES.toLocaleString('en-US')} rows, file + WAL)`);
    await Promise.all([postgres, ...claimers].map((s) => s.close()));
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  }
  report(`Store level: publishes per second (16 concurrent, 1 delivery each, ${MESSAGES.toLocaleString('en-US')})`, publishRows, { unit: 'publishes/s' });
  report(`Store level: deliveries leased and finished per second (no HTTP, ${MESSAGES.toLocaleString('en-US')})`, rows, { unit: 'deliveries/s' });
}

await storeLevel();
