import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_URL, dropSchema, freshSchemaName } from './helpers.js';
import {
  bundleWorker, CountingReceiver, newSecretKey, runToEnd, spawnProcess, until, waitForLine, type Child, type ProcessConfig,
} from './scale-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'hookline-scale-'));
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
// The restart test drops every connection; an idle one erroring must not take the test process down.
admin.on('error', () => {});
const schemas: string[] = [];
let worker: string;
let children: Child[] = [];
let receiver: CountingReceiver;

beforeAll(async () => {
  worker = await bundleWorker(dir);
}, 60_000);

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children = [];
  await receiver?.close();
});

afterAll(async () => {
  await admin.end();
  for (const schema of schemas) await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

async function prepare(prefix: string, endpoints: string[]): Promise<ProcessConfig> {
  const schema = freshSchemaName(prefix);
  schemas.push(schema);
  receiver = new CountingReceiver();
  const receiverUrl = await receiver.listen();
  const config: ProcessConfig = { connectionString: DATABASE_URL, schema, secretKey: newSecretKey(), receiverUrl, endpoints };
  await runToEnd(worker, 'setup', config);
  return config;
}

async function startWorker(config: ProcessConfig, workerIndex: number): Promise<{ child: Child; stderr: string[] }> {
  const started = spawnProcess(worker, 'worker', { ...config, workerIndex });
  children.push(started.child);
  await waitForLine(started.lines, 'ready');
  return started;
}

async function statusCounts(schema: string): Promise<Record<string, number>> {
  const { rows } = await admin.query(`SELECT status, count(*)::int AS n FROM "${schema}".deliveries GROUP BY status`);
  return Object.fromEntries(rows.map((r) => [r.status as string, r.n as number]));
}

/**
 * The store's view once every delivery is finished. A worker killed after its send reached the receiver leaves that
 * delivery pending until its lease lapses and another worker sends it again, so this waits for that.
 */
async function settledCounts(schema: string, total: number): Promise<Record<string, number>> {
  for (let waited = 0; waited < 20_000; waited += 100) {
    const counts = await statusCounts(schema);
    if (counts.succeeded === total) return counts;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return statusCounts(schema);
}

describe('four worker processes sharing one Postgres', () => {
  it('deliver 5,000 messages exactly once each, spread over all four workers', async () => {
    const config = await prepare('scale', ['/a', '/b', '/c', '/d']);
    for (let i = 0; i < 4; i++) await startWorker(config, i);
    await runToEnd(worker, 'publish', { ...config, messages: 5000 });
    await until(() => receiver.distinct === 5000, 50_000, '5,000 distinct messages');

    expect(receiver.duplicates).toBe(0);
    expect([...receiver.byWorker.keys()].sort()).toEqual(['worker-0', 'worker-1', 'worker-2', 'worker-3']);
    for (const count of receiver.byWorker.values()) expect(count).toBeGreaterThan(100);
    expect(await settledCounts(config.schema, 5000)).toEqual({ succeeded: 5000 });
  }, 60_000);
});

describe('faults', () => {
  it('loses nothing when workers are killed with SIGKILL at random', async () => {
    const config = { ...(await prepare('kill', ['/a', '/b', '/c', '/d'])), leaseMs: 2_000 };
    // Published before any worker runs, so the kills land while the backlog drains.
    await runToEnd(worker, 'publish', { ...config, messages: 3000 });
    const workers: Child[] = [];
    for (let i = 0; i < 4; i++) workers.push((await startWorker(config, i)).child);
    let kills = 0;
    let nextIndex = 4;
    while (kills < 3 && receiver.distinct < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1200));
      const victim = workers.splice(Math.floor(Math.random() * workers.length), 1)[0]!;
      victim.kill('SIGKILL');
      kills += 1;
      workers.push((await startWorker(config, nextIndex++)).child);
    }
    await until(() => receiver.distinct === 3000, 45_000, '3,000 distinct messages');

    expect(kills).toBe(3);
    expect(receiver.distinct).toBe(3000);
    expect(await settledCounts(config.schema, 3000)).toEqual({ succeeded: 3000 });
    // Duplicates are allowed here (at least once): a killed worker may have sent before recording the attempt.
    console.info(`SIGKILL test: ${kills} kills, ${receiver.duplicates} duplicate arrivals of 3,000 messages`);
  }, 60_000);

  it('keeps a slow endpoint within its per-endpoint limit across processes without stalling the others', async () => {
    const config = { ...(await prepare('slow', ['/slow', '/fast'])), perEndpointConcurrency: 3 };
    receiver.delayMs = { '/slow': 250 };
    for (let i = 0; i < 4; i++) await startWorker(config, i);
    await runToEnd(worker, 'publish', { ...config, messages: 240 });
    await until(() => (receiver.byPath.get('/fast')?.size ?? 0) === 120, 20_000, 'every fast delivery');
    const slowWhenFastDone = receiver.byPath.get('/slow')?.size ?? 0;
    await until(() => receiver.distinct === 240, 30_000, 'every slow delivery');

    expect(slowWhenFastDone).toBeLessThan(120);
    expect(receiver.maxInFlight.get('/slow')).toBe(3);
    expect(receiver.duplicates).toBe(0);
  }, 60_000);

  it('rides out a Postgres restart mid-run: workers reconnect, nothing is lost, no process dies', async () => {
    const version = readdirSync('/etc/postgresql')[0]!;
    const config = { ...(await prepare('restart', ['/a', '/b', '/c', '/d'])), leaseMs: 3_000 };
    const started: Array<{ child: Child; stderr: string[] }> = [];
    for (let i = 0; i < 4; i++) started.push(await startWorker(config, i));
    await runToEnd(worker, 'publish', { ...config, messages: 2000 });
    await until(() => receiver.distinct >= 300, 20_000, 'the run to be under way');
    const before = (await admin.query('SELECT pg_postmaster_start_time() AS at')).rows[0].at as Date;
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { stdio: 'ignore' });
    await until(() => receiver.distinct === 2000, 45_000, '2,000 distinct messages after the restart').catch((error: unknown) => {
      console.info(`restart test stuck at ${receiver.distinct}: ${started.flatMap((s) => s.stderr).join('').slice(-2000)}`);
      throw error;
    });

    for (const { child, stderr } of started) expect(child.exitCode, stderr.join('').slice(-3000)).toBeNull();
    expect(await settledCounts(config.schema, 2000)).toEqual({ succeeded: 2000 });
    const after = (await admin.query('SELECT pg_postmaster_start_time() AS at')).rows[0].at as Date;
    expect(after.getTime()).toBeGreaterThan(before.getTime());
    console.info(`restart test: ${receiver.duplicates} duplicate arrivals of 2,000 messages`);
  }, 60_000);
});
