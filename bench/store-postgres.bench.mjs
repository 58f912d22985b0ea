// The Postgres store. Part 1 (store level, no HTTP): publishes per second and deliveries leased + finished per second
// for the memory, SQLite and Postgres stores, and Postgres with four claimers on separate connections; then bytes per
// delivery on disk. Part 2 (issue 8, needs the dispatcher): deliveries per second through hookline workers in one and
// two processes against a bare keep-alive POST loop and against pg-boss, and publish-to-delivered latency at a steady
// 200 events per second. A minimal durable queue (the least SQL a sender that keeps every attempt must run, written
// here) runs in the same turns as a floor: what durable delivery allows at all on this machine, in this run.
import { fork } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, request, Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MemoryStore } from '@hookline/store';
import { SqliteStore } from '@hookline/store-sqlite';
// BENCH_STORE_POSTGRES: another build of the store (a path to its index.js), to compare builds in one machine state.
const { createPostgresStore } = await import(process.env.BENCH_STORE_POSTGRES ?? '@hookline/store-postgres');
import { report } from './lib/measure.mjs';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MESSAGES = 3_000;
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

// ---------------------------------------------------------------------------------------------------- part 2

const SELF = fileURLToPath(import.meta.url);
const CONCURRENCY = 16;
const ENDPOINTS = 8;
const DELIVERIES = 3_000;
/** Deliveries sent through each contender before it is measured, and the measured rounds (the median is reported). */
const WARM_UP = 1_000;
const ROUNDS = 3;
const EVENT_DATA = { id: 'AR-123', note: 'x'.repeat(1024 - 40) };
const now = () => performance.timeOrigin + performance.now();

/** The receiver, in its own process so it costs every contender the same: counts distinct ids, times arrivals. */
function receiverProcess() {
  let expected = Infinity;
  let seen = new Set();
  let arrivals = [];
  let track = false;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const at = now();
      res.writeHead(200, { 'content-length': '2' }).end('ok');
      const header = req.headers['webhook-id'];
      const id = typeof header === 'string' ? header : `bare_${seen.size}_${Math.random()}`;
      if (track) arrivals.push([id, at]);
      seen.add(id);
      if (seen.size === expected) {
        expected = Infinity;
        process.send({ done: at, arrivals });
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (command) => {
    seen = new Set();
    arrivals = [];
    expected = command.expect;
    track = command.track === true;
  });
  process.on('disconnect', () => process.exit(0));
}

/** A hookline worker process: its own store and dispatcher, started on command. */
async function hooklineWorker(config) {
  const counter = countQueries();
  answerStats(counter);
  const { createDispatcher } = await import('hookline');
  const store = await createPostgresStore({ connectionString: DATABASE_URL, schema: config.schema, poolSize: 8 });
  const dispatcher = createDispatcher({
    store, secretKey: config.secretKey, destinations: { allowHttp: true, allowPrivateNetworks: true, allowCustomPorts: true },
    concurrency: CONCURRENCY, perEndpointConcurrency: 4, pollIntervalMs: 500,
  });
  process.on('message', (command) => {
    if (command === 'start') dispatcher.start();
  });
  process.on('disconnect', () => void dispatcher.stop().then(() => store.close()).then(() => process.exit(0)));
  process.send('ready');
}

/**
 * A pg-boss worker process doing the same work as a hookline worker: batches of 16 POSTed at once (fetched again at
 * once while full), each body signed as Standard Webhooks do (HMAC-SHA256 over id, timestamp and body). What only
 * hookline does (opening the sealed secret per send, recording each attempt with its request and response) is its own cost.
 */
async function pgBossWorker(config) {
  const counter = countQueries();
  answerStats(counter);
  const { default: PgBoss } = await import('pg-boss');
  const boss = new PgBoss({ connectionString: DATABASE_URL, schema: config.schema, supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const secret = randomBytes(32);
  const workerId = await boss.work('deliveries', { batchSize: CONCURRENCY, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    await Promise.all(jobs.map((job) => {
      const body = Buffer.from(JSON.stringify(job.data.body));
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = createHmac('sha256', secret).update(`${job.data.id}.${timestamp}.`).update(body).digest('base64');
      return post(config.url, agent, body, {
        'webhook-id': job.data.id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}`, 'user-agent': 'pg-boss-bench',
      });
    }));
    // Without this pg-boss sleeps its polling interval after every batch, even with a backlog.
    if (jobs.length === CONCURRENCY) boss.notifyWorker(workerId);
  });
  process.on('disconnect', () => void boss.stop({ graceful: false, wait: false }).finally(() => process.exit(0)));
  process.send('ready');
}

/** The minimal durable queue's tables: a delivery per message, an attempt per send, primary keys and the due index only. */
function floorSchemaSql(schema) {
  const s = `"${schema}"`;
  return `CREATE SCHEMA ${s};
    CREATE TABLE ${s}.messages (id text COLLATE "C" PRIMARY KEY, created_at bigint NOT NULL, data json NOT NULL);
    CREATE TABLE ${s}.deliveries (id text COLLATE "C" PRIMARY KEY, message_id text COLLATE "C" NOT NULL, status text NOT NULL,
      next_attempt_at bigint NOT NULL, lease_owner text, lease_expires_at bigint, updated_at bigint NOT NULL);
    CREATE INDEX deliveries_due ON ${s}.deliveries (next_attempt_at, id) WHERE status = 'pending';
    CREATE TABLE ${s}.attempts (id text COLLATE "C" PRIMARY KEY, delivery_id text COLLATE "C" NOT NULL, started_at bigint NOT NULL, record json NOT NULL);`;
}

/**
 * A worker of the minimal durable queue: the least any Postgres-backed sender that keeps every attempt must do, as a
 * floor to read the targets against. Per batch of up to 16: one statement leases due deliveries (SKIP LOCKED) and
 * returns their messages, the sends go at once (signed as the pg-boss worker signs), and one statement records the
 * attempts with request and response and marks the deliveries done. No per-endpoint limit, no templates, no sealed
 * secrets, no retries; woken by NOTIFY, as hookline is.
 */
async function floorWorker(config) {
  const counter = countQueries();
  answerStats(counter);
  const s = `"${config.schema}"`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2, application_name: `floor:${config.schema}` });
  const listener = new pg.Client({ connectionString: DATABASE_URL, application_name: `floor:${config.schema}` });
  await listener.connect();
  let kick = () => {};
  listener.on('notification', () => kick());
  await listener.query(`LISTEN "${config.schema}_wake"`);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const secret = randomBytes(32);
  const owner = `floor_${process.pid}`;
  let running = false;
  const loop = async () => {
    while (running) {
      const at = Date.now();
      const { rows } = await pool.query({
        name: 'claim',
        text: `WITH c AS (UPDATE ${s}.deliveries d SET lease_owner = $1, lease_expires_at = $2 + 60000, updated_at = $2
                 WHERE id IN (SELECT id FROM ${s}.deliveries WHERE status = 'pending' AND next_attempt_at <= $2 AND lease_owner IS NULL
                              ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING d.id, d.message_id)
               SELECT c.id, c.message_id, m.data::text AS data FROM c JOIN ${s}.messages m ON m.id = c.message_id`,
        values: [owner, at, CONCURRENCY],
      });
      if (rows.length === 0) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 500);
          kick = () => { clearTimeout(timer); resolve(); };
        });
        kick = () => {};
        continue;
      }
      const records = await Promise.all(rows.map(async (row) => {
        const body = Buffer.from(`{"version":"v1","webhookId":${JSON.stringify(row.message_id)},"payload":${row.data}}`);
        const timestamp = String(Math.floor(Date.now() / 1000));
        const signature = createHmac('sha256', secret).update(`${row.message_id}.${timestamp}.`).update(body).digest('base64');
        const headers = { 'webhook-id': row.message_id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
        const startedAt = Date.now();
        await post(config.url, agent, body, headers);
        return JSON.stringify({
          request: { method: 'POST', url: config.url, headers: { ...headers, 'webhook-signature': '[redacted]' }, body: body.toString() },
          response: { status: 200, headers: { 'content-length': '2' }, body: 'ok' }, durationMs: Date.now() - startedAt, startedAt,
        });
      }));
      await pool.query({
        name: 'finish',
        text: `WITH a AS (INSERT INTO ${s}.attempts SELECT 'att_' || id, id, $2, record::json FROM unnest($1::text[], $3::text[]) AS t(id, record))
               UPDATE ${s}.deliveries SET status = 'succeeded', lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
               WHERE id = ANY($1) AND lease_owner = $4`,
        values: [rows.map((row) => row.id), at, records, owner],
      });
    }
  };
  process.on('message', (command) => {
    if (command !== 'start' || running) return;
    running = true;
    void loop();
  });
  process.on('disconnect', () => {
    running = false;
    kick();
    void Promise.allSettled([listener.end(), pool.end()]).finally(() => process.exit(0));
  });
  process.send('ready');
}

function post(url, agent, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function spawnRole(role, config) {
  const child = fork(SELF, [role, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise((resolve) => child.once('message', resolve));
  return { child, ready };
}

async function lanes(count, work) {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) await work(next++);
  }));
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** CPU time (ms) of a process from /proc: user + system. Undefined where /proc is missing or the process is gone. */
function procCpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * CPU spent by the Postgres backends serving `applicationName` (pg_stat_activity) and by the WAL writer, read from /proc
 * (Postgres runs on this machine). Backends that connect during a phase count from zero; each phase ends before any
 * pool closes an idle connection (10 s).
 */
async function postgresCpu(applicationName) {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const { rows } = await admin.query(
    `SELECT pid, backend_type FROM pg_stat_activity WHERE application_name LIKE $1 OR backend_type = 'walwriter'`,
    [applicationName],
  );
  await admin.end();
  const backends = new Map();
  let walWriter = 0;
  for (const row of rows) {
    const ms = procCpuMs(row.pid);
    if (ms === undefined) continue;
    if (row.backend_type === 'walwriter') walWriter += ms;
    else backends.set(row.pid, ms);
  }
  return { backends, walWriter };
}

function cpuSince(before, after) {
  let backends = 0;
  for (const [pid, ms] of after.backends) backends += ms - (before.backends.get(pid) ?? 0);
  return { backends, walWriter: after.walWriter - before.walWriter };
}

/** Asks each worker process for its CPU time and the pg queries it sent since its start. */
function workerStats(children) {
  return Promise.all(children.map((child) => new Promise((resolve) => {
    child.once('message', resolve);
    child.send('stats');
  })));
}

/** Counts the queries a process sends through pg (each one a round trip, a multi-statement text one too). */
function countQueries() {
  const counter = { queries: 0 };
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (...args) {
    counter.queries += 1;
    return original.apply(this, args);
  };
  return counter;
}

function answerStats(counter) {
  process.on('message', (command) => {
    if (command !== 'stats') return;
    const { user, system } = process.cpuUsage();
    process.send({ cpuMs: (user + system) / 1000, systemMs: system / 1000, queries: counter.queries });
  });
}

/** One line of CPU per delivery by role, and worker round trips per delivery, for a phase that delivered `count`. */
function printCost(label, count, { workersBefore, workersAfter, publisherMs, postgres }) {
  const sum = (list, key) => list.reduce((total, item) => total + item[key], 0);
  const per = (ms) => ((ms * 1000) / count).toFixed(0);
  const workerMs = sum(workersAfter, 'cpuMs') - sum(workersBefore, 'cpuMs');
  const workerSystemMs = sum(workersAfter, 'systemMs') - sum(workersBefore, 'systemMs');
  const queries = sum(workersAfter, 'queries') - sum(workersBefore, 'queries');
  console.log(
    `(${label}, CPU per delivery in µs: workers ${per(workerMs)} (kernel ${per(workerSystemMs)}), publisher ${per(publisherMs)}, Postgres backends ${per(postgres.backends)},`
      + ` WAL writer ${per(postgres.walWriter)}; worker round trips per delivery ${(queries / count).toFixed(2)})`,
  );
}

async function endToEnd() {
  const { createDispatcher } = await import('hookline');
  const receiver = spawnRole('--receiver', {});
  const { port } = await receiver.ready;
  const url = `http://127.0.0.1:${port}/hook`;
  const arrivalOf = (expect, track = false) => {
    const finished = new Promise((resolve) => receiver.child.once('message', resolve));
    receiver.child.send({ expect, track });
    return finished;
  };
  /**
   * Contenders with their worker processes running, measured in turns: a warm-up round each (connections open, code
   * compiled; a worker is a long-running process), then `ROUNDS` rounds of `DELIVERIES`, the contenders taking turns
   * within each, so a machine that slows down mid-run weighs on both alike. A round is published by the contender's
   * `run` and timed to the last arrival. Returns each contender's median rate; prints its CPU per delivery over its rounds.
   */
  const measureInTurns = async (contenders) => {
    for (const contender of contenders) {
      const arrived = arrivalOf(WARM_UP);
      await contender.run(WARM_UP);
      await arrived;
      contender.rates = [];
      contender.phases = [];
      contender.cost = { cpuMs: 0, systemMs: 0, queries: 0, publisherMs: 0, backends: 0, walWriter: 0 };
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const contender of contenders) {
        const workersBefore = await workerStats(contender.children);
        const postgresBefore = await postgresCpu(contender.postgresApplication);
        const publisherBefore = process.cpuUsage();
        const arrived = arrivalOf(DELIVERIES);
        const start = now();
        await contender.run(DELIVERIES);
        const publishedAt = now();
        const lastAt = (await arrived).done;
        const publisherCpu = process.cpuUsage(publisherBefore);
        const workersAfter = await workerStats(contender.children);
        const postgres = cpuSince(postgresBefore, await postgresCpu(contender.postgresApplication));
        const sum = (list, key) => list.reduce((total, item) => total + item[key], 0);
        for (const key of ['cpuMs', 'systemMs', 'queries']) contender.cost[key] += sum(workersAfter, key) - sum(workersBefore, key);
        contender.cost.publisherMs += (publisherCpu.user + publisherCpu.system) / 1000;
        contender.cost.backends += postgres.backends;
        contender.cost.walWriter += postgres.walWriter;
        contender.rates.push((DELIVERIES * 1000) / (lastAt - start));
        contender.phases.push(`${Math.round(publishedAt - start)} / ${Math.round(lastAt - publishedAt)}`);
      }
    }
    for (const { label, cost, rates, phases, tail } of contenders) {
      printCost(label, DELIVERIES * ROUNDS, {
        workersBefore: [{ cpuMs: 0, systemMs: 0, queries: 0 }], workersAfter: [cost],
        publisherMs: cost.publisherMs, postgres: { backends: cost.backends, walWriter: cost.walWriter },
      });
      console.log(`(${label}: ${rates.map((r) => Math.round(r).toLocaleString('en-US')).join(', ')}/s; publishing took / ${tail} after, ms: ${phases.join(', ')})`);
    }
    return contenders.map(({ rates }) => [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)]);
  };
  const schema = schemaName();
  const bossSchema = schemaName();
  const floorSchema = schemaName();
  const secretKey = randomBytes(32).toString('hex');
  const children = [];
  const rows = [];
  try {
    // Bare loop: the same receiver, keep-alive, 16 at a time. Warmed up (connections open, code compiled), then the
    // best of three runs: a cold single run would understate the baseline and flatter every ratio against it.
    const bareBody = Buffer.from(JSON.stringify({ version: 'v1', webhookId: 'msg', event: 'bench.0', payload: EVENT_DATA }));
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    let done = arrivalOf(500);
    await lanes(500, () => post(url, agent, bareBody));
    await done;
    let best = 0;
    let start = 0;
    for (let round = 0; round < 3; round++) {
      done = arrivalOf(DELIVERIES);
      start = now();
      await lanes(DELIVERIES, () => post(url, agent, bareBody));
      best = Math.max(best, (DELIVERIES * 1000) / ((await done).done - start));
    }
    rows.push({ name: 'bare keep-alive POST loop', value: best });
    agent.destroy();

    // hookline: publish from this process, deliver from worker processes (Standard Webhooks signatures).
    const store = await createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: CONCURRENCY });
    const publisher = createDispatcher({ store, secretKey, destinations: { allowHttp: true, allowPrivateNetworks: true, allowCustomPorts: true } });
    for (let i = 0; i < ENDPOINTS; i++) {
      await publisher.createEndpoint({ name: `bench ${i}`, url, triggers: [`bench.${i}`], auth: { type: 'standard-webhooks' } });
    }
    const publishRun = (count) => lanes(count, (n) => publisher.publish({ type: `bench.${n % ENDPOINTS}`, data: EVENT_DATA }));
    // pg-boss: send the same number of jobs from this process, worked in the same number of worker processes.
    const { default: PgBoss } = await import('pg-boss');
    const boss = new PgBoss({ connectionString: DATABASE_URL, schema: bossSchema, supervise: false, schedule: false });
    boss.on('error', () => {});
    await boss.start();
    await boss.createQueue('deliveries');
    let job = 0;
    const sendRun = (count) => lanes(count, (n) => {
      const id = `job_${job++}`;
      return boss.send('deliveries', { id, body: { version: 'v1', webhookId: id, event: `bench.${n % ENDPOINTS}`, payload: EVENT_DATA } });
    });

    // The minimal durable queue (the floor): published in statements of 16 from two lanes, with a NOTIFY each.
    const floorPublisher = new pg.Pool({ connectionString: DATABASE_URL, max: 2, application_name: `floor:${floorSchema}` });
    await floorPublisher.query(floorSchemaSql(floorSchema));
    const floorData = JSON.stringify({ type: 'bench.0', data: EVENT_DATA });
    let floorMessage = 0;
    const floorRun = async (count) => {
      let left = count;
      await Promise.all([0, 1].map(async () => {
        while (left > 0) {
          const batch = Math.min(16, left);
          left -= batch;
          const ids = Array.from({ length: batch }, () => `floor_${floorMessage++}`);
          await floorPublisher.query({
            name: 'publish',
            text: `WITH m AS (INSERT INTO "${floorSchema}".messages SELECT id, $2, $3::json FROM unnest($1::text[]) AS id RETURNING id),
                     d AS (INSERT INTO "${floorSchema}".deliveries SELECT 'dlv_' || id, id, 'pending', $2, NULL, NULL, $2 FROM m)
                   SELECT pg_notify($4, '')`,
            values: [ids, Date.now(), floorData, `${floorSchema}_wake`],
          });
        }
      }));
    };

    for (const workers of [1, 2]) {
      const plural = workers > 1 ? 's' : '';
      const hooklineWorkers = Array.from({ length: workers }, () => spawnRole('--hookline-worker', { schema, secretKey }));
      const bossWorkers = Array.from({ length: workers }, () => spawnRole('--pgboss-worker', { schema: bossSchema, url }));
      const floorWorkers = Array.from({ length: workers }, () => spawnRole('--floor-worker', { schema: floorSchema, url }));
      const spawned = [...hooklineWorkers, ...bossWorkers, ...floorWorkers];
      children.push(...spawned.map((s) => s.child));
      await Promise.all(spawned.map((s) => s.ready));
      for (const s of [...hooklineWorkers, ...floorWorkers]) s.child.send('start');
      const [hooklineRate, bossRate, floorRate] = await measureInTurns([
        { label: `hookline, ${workers} worker${plural}`, children: hooklineWorkers.map((s) => s.child), run: publishRun, postgresApplication: `%${schema}`, tail: 'the last delivery came' },
        { label: `pg-boss, ${workers} worker${plural}`, children: bossWorkers.map((s) => s.child), run: sendRun, postgresApplication: 'pgboss', tail: 'the last job was worked' },
        { label: `minimal durable queue, ${workers} worker${plural}`, children: floorWorkers.map((s) => s.child), run: floorRun, postgresApplication: `floor:${floorSchema}`, tail: 'the last delivery came' },
      ]);
      rows.push({ name: `hookline postgres, ${workers} worker process${workers > 1 ? 'es' : ''}`, value: hooklineRate });
      rows.push({ name: `pg-boss, ${workers} worker process${workers > 1 ? 'es' : ''}`, value: bossRate });
      rows.push({ name: `minimal durable queue, ${workers} worker process${workers > 1 ? 'es' : ''}`, value: floorRate });
      for (const s of [...bossWorkers, ...floorWorkers]) s.child.disconnect();
      await Promise.all([...bossWorkers, ...floorWorkers].map((s) => new Promise((resolve) => s.child.once('exit', resolve))));
      if (workers === 2) {
        // Latency at a steady 200 events per second, both hookline workers running (pg-boss's stopped).
        const events = 1_000;
        const published = new Map();
        const steadyWorkersBefore = await workerStats(hooklineWorkers.map((s) => s.child));
        const steadyPostgresBefore = await postgresCpu(`%${schema}`);
        const steadyPublisherBefore = process.cpuUsage();
        const tracked = arrivalOf(events, true);
        const t0 = now();
        const inFlight = [];
        for (let i = 0; i < events; i++) {
          const due = t0 + i * 5;
          const wait = due - now();
          if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
          const at = now();
          inFlight.push(publisher.publish({ type: `bench.${i % ENDPOINTS}`, data: EVENT_DATA }).then((r) => published.set(r.messageId, at)));
        }
        await Promise.all(inFlight);
        const { arrivals } = await tracked;
        const steadyPublisherCpu = process.cpuUsage(steadyPublisherBefore);
        // Each operation costs more at a low rate (no batching, every wake-up its own); the round trips are what scale.
        printCost('steady 200/s, 2 workers', events, {
          workersBefore: steadyWorkersBefore, workersAfter: await workerStats(hooklineWorkers.map((s) => s.child)),
          publisherMs: (steadyPublisherCpu.user + steadyPublisherCpu.system) / 1000, postgres: cpuSince(steadyPostgresBefore, await postgresCpu(`%${schema}`)),
        });
        const latencies = arrivals.map(([id, at]) => at - published.get(id)).filter(Number.isFinite).sort((a, b) => a - b);
        const rate = (events * 1000) / (now() - t0);
        console.log(`\n## Publish to delivered at a steady ${Math.round(rate)} events/s (2 worker processes, ${latencies.length} events)`);
        console.log(`p50 ${percentile(latencies, 50).toFixed(1)} ms   p95 ${percentile(latencies, 95).toFixed(1)} ms   p99 ${percentile(latencies, 99).toFixed(1)} ms   (target p95 < 25 ms: ${percentile(latencies, 95) < 25 ? 'PASS' : 'MISS'})`);
      }
      for (const s of hooklineWorkers) s.child.disconnect();
      await Promise.all(hooklineWorkers.map((s) => new Promise((resolve) => s.child.once('exit', resolve))));
    }
    await store.close();
    await boss.stop({ graceful: false, wait: true });
    await floorPublisher.end();
  } finally {
    for (const child of children) if (child.connected) child.disconnect();
    receiver.child.disconnect();
    await dropSchema(schema);
    await dropSchema(bossSchema);
    await dropSchema(floorSchema);
  }
  report(`End to end: ${DELIVERIES.toLocaleString("en-US")} events published and delivered to a local receiver (1 KiB, ${CONCURRENCY} in flight per process; warmed up, median of ${ROUNDS} rounds taken in turns)`, rows, {
    unit: 'deliveries/s',
    targets: {
      'hookline postgres, 1 worker process': { against: 'bare keep-alive POST loop', atLeast: 0.3 },
      // Like for like: the same number of worker processes on each side.
      'hookline postgres, 2 worker processes': { against: 'pg-boss, 2 worker processes', atLeast: 2 },
      // The floor, for reading the targets: what the least durable work allows on this machine in this run.
      'minimal durable queue, 1 worker process': { against: 'bare keep-alive POST loop' },
      'minimal durable queue, 2 worker processes': { against: 'pg-boss, 2 worker processes' },
    },
  });
  const value = (name) => rows.find((r) => r.name === name)?.value ?? NaN;
  const ratio = (a, b) => (value(a) / value(b)).toFixed(2);
  console.log(`(one worker process each: hookline ${ratio('hookline postgres, 1 worker process', 'pg-boss, 1 worker process')}x pg-boss)`);
  console.log(`(hookline against the minimal durable queue: ${ratio('hookline postgres, 1 worker process', 'minimal durable queue, 1 worker process')}x with one worker process, `
    + `${ratio('hookline postgres, 2 worker processes', 'minimal durable queue, 2 worker processes')}x with two)`);
}

const [role, rawConfig] = process.argv.slice(2);
if (role === '--receiver') receiverProcess();
else if (role === '--hookline-worker') await hooklineWorker(JSON.parse(rawConfig));
else if (role === '--pgboss-worker') await pgBossWorker(JSON.parse(rawConfig));
else if (role === '--floor-worker') await floorWorker(JSON.parse(rawConfig));
else {
  // BENCH_PARTS=2 runs the end-to-end part alone.
  const parts = (process.env.BENCH_PARTS ?? '1,2').split(',');
  if (parts.includes('1')) await storeLevel();
  if (parts.includes('2')) await endToEnd();
}
