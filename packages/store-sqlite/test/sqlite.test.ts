import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore, type DeliveryStore } from '@hookline/store';
import { DEFAULT_SQLITE_PATH, createSqliteStore } from '@hookline/store-sqlite';
import { MIGRATIONS } from '../src/migrations.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hookline-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000;

describe('opening a SQLite file', () => {
  it('defaults to ./data/hookline.db', () => {
    expect(DEFAULT_SQLITE_PATH).toBe('./data/hookline.db');
  });

  it('creates missing directories, switches to WAL and runs the migrations once', async () => {
    const path = join(dir, 'nested', 'deeper', 'hookline.db');
    const store = createSqliteStore({ path });
    expect(existsSync(path)).toBe(true);
    expect(store.schemaVersion).toBe(MIGRATIONS.length);
    await store.close();

    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['attempts', 'callbacks', 'deliveries', 'endpoints', 'messages', 'seen_ids', 'sources']);
    raw.close();
  });

  it('keeps data across a reopen without migrating again', async () => {
    const path = join(dir, 'reopen.db');
    const first = createSqliteStore({ path });
    await first.addSeenId('github:1', T0 + 1000, T0);
    await first.close();
    const second = createSqliteStore({ path });
    expect(second.schemaVersion).toBe(MIGRATIONS.length);
    expect(await second.addSeenId('github:1', T0 + 1000, T0 + 1)).toBe(false);
    await second.close();
  });

  it('uses the claim, history and purge indexes', async () => {
    const path = join(dir, 'plans.db');
    (await createSqliteStore({ path }).close());
    const raw = new Database(path);
    const plan = (sql: string) => raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((row) => (row as { detail: string }).detail).join(' | ');
    expect(plan(`SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= 1 AND (lease_expires_at IS NULL OR lease_expires_at <= 1) ORDER BY next_attempt_at, id LIMIT 10`))
      .toContain('USING INDEX deliveries_due');
    // History listings walk the (ascending) indexes backwards: never a sort, with or without a cursor or a time range.
    const history = (where: string) => plan(`SELECT record FROM attempts WHERE ${where} ORDER BY started_at DESC, id DESC LIMIT 51`);
    const cursor = `(started_at < 5 OR (started_at = 5 AND id < 'x'))`;
    for (const [where, index] of [
      [`tenant = 'a'`, 'attempts_by_tenant'],
      [`tenant = 'a' AND ${cursor}`, 'attempts_by_tenant'],
      [`tenant = 'a' AND started_at >= 1 AND started_at < 9`, 'attempts_by_tenant'],
      [`tenant = 'a' AND endpoint_id = 'e'`, 'attempts_by_endpoint'],
      [`tenant = 'a' AND endpoint_id = 'e' AND ${cursor}`, 'attempts_by_endpoint'],
      [`tenant = 'a' AND message_id = 'm'`, 'attempts_by_message'],
      [`tenant = 'a' AND delivery_id = 'd'`, 'attempts_by_delivery'],
    ] as const) {
      expect(history(where)).toContain(`USING INDEX ${index}`);
      expect(history(where)).not.toContain('TEMP B-TREE');
    }
    expect(plan(`SELECT id FROM attempts WHERE started_at < 5 ORDER BY started_at LIMIT 10`)).toContain('INDEX attempts_by_started');
    expect(plan(`SELECT id FROM messages m WHERE created_at < 5 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status IN ('pending', 'awaiting_callback')) ORDER BY created_at, id LIMIT 10`))
      .toContain('SEARCH d USING INDEX deliveries_by_message (message_id=?)');
    expect(plan(`UPDATE deliveries SET status = 'cancelled' WHERE endpoint_id = 'e' AND status IN ('pending', 'awaiting_callback')`))
      .toContain('USING INDEX deliveries_unfinished_by_endpoint');
    expect(plan(`UPDATE deliveries SET lease_owner = 'w' WHERE id IN (SELECT value FROM json_each('["a"]'))`))
      .toContain('USING COVERING INDEX sqlite_autoindex_deliveries_1 (id=?)');
    expect(plan(`SELECT id FROM deliveries d WHERE status = 'awaiting_callback' AND (EXISTS (SELECT 1 FROM callbacks c WHERE c.delivery_id = d.id AND c.answered_at IS NULL AND c.expires_at <= 5) OR (updated_at < 5 AND NOT EXISTS (SELECT 1 FROM callbacks c WHERE c.delivery_id = d.id))) ORDER BY updated_at, id LIMIT 10`))
      .toMatch(/deliveries_awaiting_callback[\s\S]*callbacks_by_delivery/);
    raw.close();
  });

  it('upgrades a version-1 file so callbacks recorded before the upgrade still expire their deliveries', async () => {
    const path = join(dir, 'v1.db');
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0]!);
    raw.pragma('user_version = 1');
    raw.prepare(`INSERT INTO messages (id, tenant, type, created_at, data) VALUES ('msg_1', 'acme', 't', ?, '{}')`).run(T0);
    raw.prepare(
      `INSERT INTO deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at, created_at, updated_at)
       VALUES ('dlv_1', 'acme', 'msg_1', 'ep_1', 'awaiting_callback', 1, ?, ?, ?)`,
    ).run(T0, T0, T0);
    const callback = { tokenHash: 'h1', tenant: 'acme', deliveryId: 'dlv_1', messageId: 'msg_1', endpointId: 'ep_1', expiresAt: T0 + 100 };
    raw.prepare('INSERT INTO callbacks (token_hash, message_id, expires_at, answered_at, record) VALUES (?, ?, ?, NULL, ?)')
      .run('h1', 'msg_1', T0 + 100, JSON.stringify(callback));
    raw.close();

    const store = createSqliteStore({ path });
    expect(store.schemaVersion).toBe(MIGRATIONS.length);
    // `before` far in the future: only the backfilled callback's expiry can hold the delivery back until T0 + 100.
    expect(await store.expireAwaitingCallbacks({ now: T0 + 99, before: T0 + 1_000, limit: 10, reason: 'expired' })).toEqual([]);
    expect((await store.expireAwaitingCallbacks({ now: T0 + 100, before: T0 + 1_000, limit: 10, reason: 'expired' })).map((d) => d.id)).toEqual(['dlv_1']);
    await store.close();
  });
});

describe('schema version 3: cheaper finishes (issue 5)', () => {
  const fullAttempt = (id: string, extra: Record<string, unknown> = {}) => ({
    id, tenant: 'acme', endpointId: 'ep_1', deliveryId: 'dlv_1', messageId: 'msg_1', number: 1, trigger: 'scheduled' as const,
    request: { method: 'POST', url: 'https://x.example/hook', headers: { 'content-type': 'application/json' }, body: '{"say":"\\"hi\\""}' },
    response: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok "fine"', truncated: false },
    durationMs: 5, startedAt: T0 + 10, succeeded: true, ...extra,
  });

  it('upgrades a version-2 file: history, deliveries and purge read as before', async () => {
    const path = join(dir, 'v2.db');
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0]!);
    raw.exec(MIGRATIONS[1]!);
    raw.pragma('user_version = 2');
    raw.prepare(`INSERT INTO messages (id, tenant, type, created_at, data) VALUES ('msg_1', 'acme', 't', ?, '{"n":1}')`).run(T0);
    const insertDelivery = raw.prepare(
      `INSERT INTO deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at, created_at, updated_at)
       VALUES (?, 'acme', 'msg_1', 'ep_1', ?, ?, ?, ?, ?)`,
    );
    insertDelivery.run('dlv_1', 'succeeded', 1, T0, T0, T0 + 15);
    insertDelivery.run('dlv_2', 'pending', 0, T0, T0, T0);
    // Version 2 kept the whole attempt, bodies included, in the JSON record.
    const old = [fullAttempt('att_1'), fullAttempt('att_2', { startedAt: T0 + 20, response: undefined, succeeded: false, error: { code: 'timeout', message: 'no answer' } })];
    const insertAttempt = raw.prepare('INSERT INTO attempts (id, tenant, endpoint_id, message_id, delivery_id, started_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const a of old) insertAttempt.run(a.id, a.tenant, a.endpointId, a.messageId, a.deliveryId, a.startedAt, JSON.stringify(a));
    raw.close();

    const store = createSqliteStore({ path });
    expect(store.schemaVersion).toBe(MIGRATIONS.length);
    const newestFirst = [...old].reverse().map((a) => JSON.parse(JSON.stringify(a)) as unknown);
    expect((await store.listAttempts({ tenant: 'acme' })).items).toEqual(newestFirst);
    expect((await store.listAttempts({ tenant: 'acme', endpointId: 'ep_1' })).items).toEqual(newestFirst);
    expect((await store.listAttempts({ tenant: 'acme', messageId: 'msg_1' })).items).toEqual(newestFirst);
    expect((await store.listAttempts({ tenant: 'acme', deliveryId: 'dlv_1' })).items).toEqual(newestFirst);
    // Old and new rows list together, in order.
    await store.recordAttempt(fullAttempt('att_3', { startedAt: T0 + 30 }));
    expect((await store.listAttempts({ tenant: 'acme', limit: 2 })).items.map((a) => a.id)).toEqual(['att_3', 'att_2']);
    expect((await store.claimDue({ now: T0, owner: 'w1', leaseMs: 1000, limit: 10, perEndpointLimit: 4 })).map((d) => d.id)).toEqual(['dlv_2']);
    // The message has an unfinished delivery: its attempts go, it stays.
    expect(await store.purge({ before: T0 + 1_000, now: T0 + 1_000, limit: 10 })).toBe(3);
    expect(await store.getMessage('acme', 'msg_1')).toBeDefined();
    await store.close();

    const upgraded = new Database(path, { readonly: true });
    const indexes = upgraded.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).pluck().all();
    expect(indexes).toContain('attempts_by_delivery');
    expect(indexes).not.toContain('deliveries_unfinished_by_message');
    upgraded.close();
  });

  it('stores bodies as sent, outside the JSON record, and reads the attempt back whole', async () => {
    const path = join(dir, 'bodies.db');
    const store = createSqliteStore({ path });
    const attempt = fullAttempt('att_b');
    const test = { ...fullAttempt('att_t', { startedAt: T0 + 20 }), deliveryId: undefined, messageId: undefined, trigger: 'test' as const };
    await store.recordAttempt(attempt);
    await store.recordAttempt(test);
    expect((await store.listAttempts({ tenant: 'acme' })).items).toEqual([test, attempt]);
    await store.close();

    const raw = new Database(path, { readonly: true });
    const row = raw.prepare(`SELECT record, request_body, response_body FROM attempts WHERE id = 'att_b'`).get() as Record<string, string>;
    expect(row.request_body).toBe(attempt.request.body);
    expect(row.response_body).toBe(attempt.response.body);
    expect(JSON.parse(row.record!)).toEqual({
      number: 1, trigger: 'scheduled', durationMs: 5, succeeded: true,
      request: { method: 'POST', url: 'https://x.example/hook', headers: { 'content-type': 'application/json' } },
      response: { status: 200, headers: { 'content-type': 'text/plain' }, truncated: false },
    });
    raw.close();
  });
});

describe('claims take lapsed leases in due order with the rest', () => {
  it('merges deliveries nobody holds with those whose lease lapsed, earliest due first', async () => {
    const store = createSqliteStore({ path: join(dir, 'lapsed.db') });
    const deliveries = [3, 1, 2, 4].map((n) => ({
      id: `dlv_${n}`, tenant: 'acme', messageId: 'msg_1', endpointId: 'ep_1', status: 'pending' as const, attemptCount: 0,
      nextAttemptAt: T0 + n, createdAt: T0, updatedAt: T0,
    }));
    await store.createMessage({ message: { id: 'msg_1', tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries });
    // dlv_1 leased by a worker that goes away; dlv_2 leased and given back; its live lease holds the endpoint at 1.
    expect((await store.claimDue({ now: T0 + 1, owner: 'gone', leaseMs: 10, limit: 1 })).map((d) => d.id)).toEqual(['dlv_1']);
    expect((await store.claimDue({ now: T0 + 3, owner: 'gone', leaseMs: 10, limit: 1, perEndpointLimit: 2 })).map((d) => d.id)).toEqual(['dlv_2']);
    await store.releaseLease('dlv_2', 'gone');
    expect(await store.claimDue({ now: T0 + 5, owner: 'w1', leaseMs: 10, limit: 10, perEndpointLimit: 1 })).toEqual([]);
    // After the lapse: all four, in due order, lapsed leases taken over.
    const claimed = await store.claimDue({ now: T0 + 20, owner: 'w1', leaseMs: 1000, limit: 10, perEndpointLimit: 10 });
    expect(claimed.map((d) => [d.id, d.leaseOwner])).toEqual([['dlv_1', 'w1'], ['dlv_2', 'w1'], ['dlv_3', 'w1'], ['dlv_4', 'w1']]);
    expect(await store.nextDueAt()).toBe(T0 + 1_020);
    await store.close();
  });
});

describe('claims read their messages and endpoints', () => {
  const endpoint = { id: 'ep_1', tenant: 'acme', name: 'e', url: 'https://x.example/hook', method: 'POST' as const, headers: {},
    auth: { type: 'none' }, triggers: ['*'], active: true, createdAt: T0, updatedAt: T0 };

  async function claimedStore() {
    const store = createSqliteStore({ path: join(dir, `prefetch-${Math.random().toString(36).slice(2)}.db`) });
    await store.createEndpoint(endpoint);
    const deliveries = ['dlv_1', 'dlv_2'].map((id) => ({
      id, tenant: 'acme', messageId: 'msg_1', endpointId: 'ep_1', status: 'pending' as const, attemptCount: 0, nextAttemptAt: T0,
      createdAt: T0, updatedAt: T0,
    }));
    await store.createMessage({ message: { id: 'msg_1', tenant: 'acme', type: 't', data: { n: 1 }, createdAt: T0 }, deliveries });
    expect(await store.claimDue({ now: T0, owner: 'w1', leaseMs: 1000, limit: 10, perEndpointLimit: 4 })).toHaveLength(2);
    return store;
  }

  it('hands each claimed delivery its own copy of the records, and reads the file after that', async () => {
    const store = await claimedStore();
    const first = await store.getEndpoint('acme', 'ep_1');
    const second = await store.getEndpoint('acme', 'ep_1');
    expect(first).toEqual(endpoint);
    expect(second).toEqual(endpoint);
    expect(first).not.toBe(second);
    first!.name = 'changed by its reader';
    expect(await store.getEndpoint('acme', 'ep_1')).toEqual(endpoint);
    for (let i = 0; i < 3; i++) expect(await store.getMessage('acme', 'msg_1')).toMatchObject({ id: 'msg_1', data: { n: 1 } });
    expect(await store.getMessage('globex', 'msg_1')).toBeUndefined();
    expect(await store.getEndpoint('globex', 'ep_1')).toBeUndefined();
    await store.close();
  });

  it('never serves an endpoint read with a claim after this store updated or deleted it', async () => {
    const store = await claimedStore();
    await store.updateEndpoint({ ...endpoint, name: 'renamed', updatedAt: T0 + 1 });
    expect(await store.getEndpoint('acme', 'ep_1')).toMatchObject({ name: 'renamed' });
    await store.claimDue({ now: T0 + 2_000, owner: 'w2', leaseMs: 1000, limit: 10, perEndpointLimit: 4 });
    await store.deleteEndpoint('acme', 'ep_1', T0 + 2_000);
    expect(await store.getEndpoint('acme', 'ep_1')).toBeUndefined();
    await store.close();
  });
});

describe('WAL checkpoints', () => {
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  it('run on a thread that lets the WAL start over, and leave no WAL behind on close', async () => {
    const path = join(dir, 'checkpoints.db');
    const store = createSqliteStore({ path });
    await until(() => store.checkpointMode === 'background');
    expect(store.checkpointMode).toBe('background');
    let n = 0;
    const write = async (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        await store.recordAttempt({
          id: `att_${String(n).padStart(6, '0')}`, tenant: 'acme', endpointId: 'ep_1', number: 1, trigger: 'test',
          request: { method: 'POST', url: 'https://x.example/hook', headers: {}, body: 'x'.repeat(3_000) }, durationMs: 1, startedAt: T0 + n,
          succeeded: true,
        });
        if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    // ~7,000 frames: past the thread's restart point (4,096), short of the backstop in commits (16,384).
    await write(800);
    // Once the thread has copied the burst, the WAL starts over: a write lands at its start instead of growing the file.
    let size = statSync(`${path}-wal`).size;
    let restarted = false;
    for (let i = 0; i < 100 && !restarted; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await write(1);
      const now = statSync(`${path}-wal`).size;
      restarted = now === size;
      size = now;
    }
    expect(restarted).toBe(true);
    // Fewer frames than the burst's: they fit in the file as it is.
    await write(300);
    expect(statSync(`${path}-wal`).size).toBe(size);
    await store.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    const reopened = createSqliteStore({ path, checkpoint: 'inline' });
    expect(reopened.checkpointMode).toBe('inline');
    expect((await reopened.listAttempts({ tenant: 'acme', limit: 1 })).items[0]?.id).toBe(`att_${String(n - 1).padStart(6, '0')}`);
    await reopened.close();
  });

  it('stay in commits for :memory:', async () => {
    const memory = createSqliteStore({ path: ':memory:' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(memory.checkpointMode).toBe('inline');
    await memory.close();
  });
});

describe('finishing attempts', () => {
  async function leasedDeliveries(count: number) {
    const store = createSqliteStore({ path: join(dir, `finish-${count}-${Math.random().toString(36).slice(2)}.db`) });
    const deliveries = Array.from({ length: count }, (_, i) => ({
      id: `dlv_${i}`, tenant: 'acme', messageId: 'msg_1', endpointId: 'ep_1', status: 'pending' as const, attemptCount: 0,
      nextAttemptAt: T0, createdAt: T0, updatedAt: T0,
    }));
    await store.createMessage({ message: { id: 'msg_1', tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries });
    await store.claimDue({ now: T0, owner: 'w1', leaseMs: 60_000, limit: count });
    return store;
  }
  const attempt = (deliveryId: string, extra: Record<string, unknown> = {}) => ({
    id: `att_${deliveryId}`, tenant: 'acme', endpointId: 'ep_1', deliveryId, messageId: 'msg_1', number: 1, trigger: 'scheduled' as const,
    request: { method: 'POST', url: 'https://x.example/hook', headers: {}, body: '{}' }, durationMs: 5, startedAt: T0 + 10, succeeded: true, ...extra,
  });

  it('commits finishes arriving together, each answering for its own lease', async () => {
    const store = await leasedDeliveries(3);
    const results = await Promise.all([
      store.finishAttempt({ owner: 'w1', attempt: attempt('dlv_0'), outcome: { status: 'succeeded' } }),
      store.finishAttempt({ owner: 'w2', attempt: attempt('dlv_1'), outcome: { status: 'succeeded' } }),
      store.finishAttempt({ owner: 'w1', attempt: attempt('dlv_2'), outcome: { status: 'pending', nextAttemptAt: T0 + 5_000, lastError: 'HTTP 500' } }),
    ]);
    expect(results).toEqual([true, false, true]);
    expect(await store.getDelivery('dlv_0')).toMatchObject({ status: 'succeeded', attemptCount: 1, updatedAt: T0 + 15 });
    expect(await store.getDelivery('dlv_1')).toMatchObject({ status: 'pending', attemptCount: 0, leaseOwner: 'w1' });
    expect(await store.getDelivery('dlv_2')).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 5_000, lastError: 'HTTP 500' });
    expect((await store.listAttempts({ tenant: 'acme' })).items.map((a) => a.id).sort()).toEqual(['att_dlv_0', 'att_dlv_1', 'att_dlv_2']);
    await store.close();
  });

  it('fails only the finish whose write fails, not the others committed with it', async () => {
    const store = await leasedDeliveries(2);
    const [good, bad] = await Promise.allSettled([
      store.finishAttempt({ owner: 'w1', attempt: attempt('dlv_0'), outcome: { status: 'succeeded' } }),
      // A record that cannot be stored (not JSON) makes its own write throw.
      store.finishAttempt({ owner: 'w1', attempt: attempt('dlv_1', { durationMs: 1n as unknown as number }), outcome: { status: 'succeeded' } }),
    ]);
    expect(good).toEqual({ status: 'fulfilled', value: true });
    expect(bad.status).toBe('rejected');
    expect(await store.getDelivery('dlv_0')).toMatchObject({ status: 'succeeded' });
    expect(await store.getDelivery('dlv_1')).toMatchObject({ status: 'pending', leaseOwner: 'w1' });
    await store.close();
  });

  it('writes finishes already accepted before the file closes', async () => {
    const store = await leasedDeliveries(1);
    const path = store.path;
    const finished = store.finishAttempt({ owner: 'w1', attempt: attempt('dlv_0'), outcome: { status: 'succeeded' } });
    await store.close();
    expect(await finished).toBe(true);
    const reopened = createSqliteStore({ path });
    expect(await reopened.getDelivery('dlv_0')).toMatchObject({ status: 'succeeded' });
    await reopened.close();
  });
});

/** Bundles a child-process script with the workspace sources, so a child never runs a stale dist/. */
async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['better-sqlite3'],
    alias: {
      '@hookline/store-sqlite': join(root, 'packages/store-sqlite/src/index.ts'),
      '@hookline/store': join(root, 'packages/store/src/index.ts'),
      '@hookline/errors': join(root, 'packages/errors/src/index.ts'),
    },
    nodePaths: [join(root, 'node_modules')],
    logLevel: 'silent',
  });
}

function runChild(script: string, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_PATH: join(root, 'node_modules') } });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(out.split('\n').filter(Boolean)) : reject(new Error(`child exited with ${code}`))));
  });
}

describe('several processes sharing one file', () => {
  it('never lease one delivery twice when claiming at the same time', async () => {
    const path = join(dir, 'shared.db');
    const store = createSqliteStore({ path });
    const deliveries = Array.from({ length: 600 }, (_, i) => ({
      id: `dlv_${String(i).padStart(4, '0')}`, tenant: 'acme', messageId: 'msg_shared', endpointId: `ep_${i % 3}`,
      status: 'pending' as const, attemptCount: 0, nextAttemptAt: T0 + i, createdAt: T0, updatedAt: T0,
    }));
    await store.createMessage({ message: { id: 'msg_shared', tenant: 'acme', type: 't', data: {}, createdAt: T0 }, deliveries });
    await store.close();
    const entry = join(dir, 'claimer-entry.ts');
    const claimer = join(dir, 'claimer.cjs');
    writeFileSync(
      entry,
      `
      import { readdirSync, writeFileSync } from 'node:fs';
      import { basename, dirname } from 'node:path';
      import { createSqliteStore } from '@hookline/store-sqlite';
      const [path, owner, claimers] = process.argv.slice(2);
      const store = createSqliteStore({ path });
      void (async () => {
        // A barrier: no claimer starts before every claimer has opened the file, so their transactions really overlap
        // however slowly the processes start on a loaded machine.
        writeFileSync(path + '.ready-' + owner, '');
        const ready = () => readdirSync(dirname(path)).filter((f) => f.startsWith(basename(path) + '.ready-')).length;
        while (ready() < Number(claimers)) await new Promise((resolve) => setTimeout(resolve, 1));
        for (;;) {
          const claimed = await store.claimDue({ now: ${T0 + 10_000}, owner, leaseMs: 60_000, limit: 3, perEndpointLimit: 1000 });
          if (claimed.length === 0) break;
          for (const d of claimed) process.stdout.write(d.id + '\\n');
          // A worker sends between claims. Without a pause, one process could take all 600 in the time another's
          // busy handler sleeps before its first retry, and the test would no longer show claims interleaving.
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        await store.close();
      })();
      `,
    );
    await bundle(entry, claimer);
    const owners = ['p1', 'p2', 'p3', 'p4'];
    const outputs = await Promise.all(owners.map((owner) => runChild(claimer, [path, owner, String(owners.length)])));
    const claimed = outputs.flat();
    expect(claimed).toHaveLength(600);
    expect(new Set(claimed).size).toBe(600);
    expect(outputs.every((lines) => lines.length > 0)).toBe(true);
  });
});

describe('a process killed mid-run', () => {
  let worker: string;

  beforeAll(async () => {
    // The child runs the store from source, bundled here, so the test never depends on a stale dist/.
    worker = join(dir, 'crash-worker.cjs');
    const entry = join(dir, 'crash-entry.ts');
    writeFileSync(
      entry,
      `
      import { createSqliteStore } from '@hookline/store-sqlite';
      void (async () => {
      const [path] = process.argv.slice(2);
      const T0 = ${T0};
      const store = createSqliteStore({ path });
      const endpoint = { id: 'ep_1', tenant: 'acme', name: 'e', url: 'https://example.com', method: 'POST', headers: {},
        auth: { type: 'none' }, triggers: ['*'], active: true, createdAt: T0, updatedAt: T0 };
      await store.createEndpoint(endpoint);
      let n = 0;
      async function publishOne() {
        n += 1;
        const id = 'msg_' + String(n).padStart(6, '0');
        await store.createMessage({
          message: { id, tenant: 'acme', type: 't', data: { n }, createdAt: T0 },
          deliveries: [{ id: 'dlv_' + id, tenant: 'acme', messageId: id, endpointId: 'ep_1', status: 'pending',
            attemptCount: 0, nextAttemptAt: T0 + n, createdAt: T0, updatedAt: T0 }],
        });
        process.stdout.write('committed ' + id + '\\n');
      }
      for (let i = 0; i < 200; i++) await publishOne();
      const leased = await store.claimDue({ now: T0 + 1000, owner: 'doomed', leaseMs: 30_000, limit: 60 });
      for (const d of leased.slice(0, 10)) {
        await store.finishAttempt({ owner: 'doomed', outcome: { status: 'succeeded' }, attempt: {
          id: 'att_' + d.id, tenant: 'acme', endpointId: 'ep_1', deliveryId: d.id, messageId: d.messageId, number: 1,
          trigger: 'scheduled', request: { method: 'POST', url: 'https://example.com', headers: {}, body: '{}' },
          durationMs: 1, startedAt: T0 + 1000, succeeded: true } });
        process.stdout.write('succeeded ' + d.id + '\\n');
      }
      process.stdout.write('ready\\n');
      for (;;) await publishOne();
      })();
      `,
    );
    await bundle(entry, worker);
  });

  it('leaves every pending delivery claimable after SIGKILL, including those it held leases on', async () => {
    const path = join(dir, 'crash.db');
    const child = spawn(process.execPath, [worker, path], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_PATH: join(root, 'node_modules') } });
    const committed = new Set<string>();
    const succeeded = new Set<string>();
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      let readySeen = false;
      let afterReady = 0;
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (line.startsWith('committed ')) {
            committed.add(line.slice('committed '.length));
            if (readySeen) afterReady += 1;
          } else if (line.startsWith('succeeded ')) succeeded.add(line.slice('succeeded '.length));
          else if (line === 'ready') readySeen = true;
        }
        // Kill while it is busy writing, some way into the post-ready publishing.
        if (readySeen && afterReady >= 150 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited with ${code}`))));
    });

    const store = createSqliteStore({ path });
    const raw = new Database(path, { readonly: true });
    const messages = raw.prepare('SELECT id FROM messages').pluck().all() as string[];
    const pendingIds = raw.prepare(`SELECT id FROM deliveries WHERE status = 'pending'`).pluck().all() as string[];
    expect(raw.prepare('SELECT count(*) FROM deliveries').pluck().get()).toBe(messages.length);
    raw.close();

    for (const id of committed) expect(messages).toContain(id);
    expect(succeeded.size).toBe(10);
    expect(pendingIds).toHaveLength(messages.length - 10);

    // Leases held by the killed process block only until they lapse.
    const early = await store.claimDue({ now: T0 + 1000, owner: 'survivor', leaseMs: 60_000, limit: 100_000 });
    expect(early).toHaveLength(pendingIds.length - 50);
    const afterLapse = await store.claimDue({ now: T0 + 31_000, owner: 'survivor', leaseMs: 30_000, limit: 100_000 });
    expect(afterLapse).toHaveLength(50);
    expect(new Set([...early, ...afterLapse].map((d) => d.id))).toEqual(new Set(pendingIds));
    for (const id of succeeded) expect((await store.getDelivery(id))?.status).toBe('succeeded');
    await store.close();
  });
});

describe('claims past an endpoint at its limit with a deep due backlog', () => {
  // More due deliveries of the blocked endpoint than a claim walks past before going endpoint by endpoint.
  const BACKLOG = 300;
  const delivery = (id: string, endpointId: string, messageId: string, nextAttemptAt: number) => ({
    id, tenant: 'acme', messageId, endpointId, status: 'pending' as const, attemptCount: 0, nextAttemptAt, createdAt: T0, updatedAt: T0,
  });
  const message = (id: string) => ({ id, tenant: 'acme', type: 't', data: {}, createdAt: T0 });

  async function fill(store: DeliveryStore): Promise<void> {
    for (let i = 0; i < BACKLOG; i++) {
      const id = `m_slow_${String(i).padStart(4, '0')}`;
      await store.createMessage({ message: message(id), deliveries: [delivery(`d_slow_${String(i).padStart(4, '0')}`, 'ep_slow', id, T0 - 10_000 + i)] });
    }
    // Three other endpoints, due at times spread among and after the backlog's, some not due yet.
    for (let i = 0; i < 24; i++) {
      const id = `m_other_${String(i).padStart(2, '0')}`;
      const at = T0 - 10_000 + ((i * 37) % 400) + (i % 5 === 4 ? 20_000 : 0);
      await store.createMessage({ message: message(id), deliveries: [delivery(`d_other_${String(i).padStart(2, '0')}`, `ep_${i % 3}`, id, at)] });
    }
  }

  it('claims what the memory store claims, in the same order, whether it walks or goes endpoint by endpoint', async () => {
    const sqlite = createSqliteStore({ path: join(dir, 'deep-backlog.db') });
    const memory = new MemoryStore();
    await fill(sqlite);
    await fill(memory);
    // The other endpoints' deliveries succeed at once; the blocked endpoint's stay leased (until their leases lapse).
    const claim = async (store: DeliveryStore, now: number, limit: number) => {
      const claimed = await store.claimDue({ now, owner: 'w1', leaseMs: 60_000, limit, perEndpointLimit: 2 });
      for (const d of claimed) if (d.endpointId !== 'ep_slow') await store.setDeliveryStatus(d.id, 'succeeded', now);
      return claimed.map((d) => d.id);
    };
    // The first claim takes the blocked endpoint's two leases; every later one has to get past its backlog.
    const rounds: Array<[number, number]> = [[T0, 2], [T0, 3], [T0, 5], [T0 + 100, 4], [T0 + 30_000, 10], [T0 + 40_000, 10]];
    let others = 0;
    for (const [now, limit] of rounds) {
      const expected = await claim(memory, now, limit);
      expect(await claim(sqlite, now, limit)).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
      others += expected.filter((id) => id.startsWith('d_other')).length;
    }
    // Every other endpoint's delivery got out past the blocked backlog.
    expect(others).toBe(24);
    // Leases lapse: the blocked endpoint's first deliveries come back first, in due order, next to the others.
    expect(await claim(sqlite, T0 + 200_000, 6)).toEqual(await claim(memory, T0 + 200_000, 6));
    await sqlite.close();
  });

  it('finds each endpoint by one index seek, and its due deliveries through the same index', async () => {
    const path = join(dir, 'deep-plans.db');
    (await createSqliteStore({ path }).close());
    const raw = new Database(path);
    const plan = (sql: string) => raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((row) => (row as { detail: string }).detail).join(' | ');
    expect(plan(`SELECT min(endpoint_id) FROM deliveries WHERE status IN ('pending', 'awaiting_callback') AND endpoint_id > 'e'`))
      .toContain('USING INDEX deliveries_unfinished_by_endpoint (endpoint_id>?)');
    const due = plan(`SELECT id, next_attempt_at FROM deliveries INDEXED BY deliveries_unfinished_by_endpoint
      WHERE endpoint_id = 'e' AND status IN ('pending', 'awaiting_callback') AND status = 'pending' AND next_attempt_at <= 5
        AND (lease_expires_at IS NULL OR lease_expires_at <= 5) ORDER BY next_attempt_at, id LIMIT 4`);
    expect(due).toContain('deliveries_unfinished_by_endpoint (endpoint_id=? AND next_attempt_at<?)');
    expect(due).not.toContain('TEMP B-TREE');
    raw.close();
  });
});
