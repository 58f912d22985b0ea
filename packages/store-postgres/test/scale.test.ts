import { mkdtempSync, rmSync } from 'node:fs';
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

describe('four worker processes sharing one Postgres', () => {
  it('deliver 5,000 messages exactly once each, spread over all four workers', async () => {
    const config = await prepare('scale', ['/a', '/b', '/c', '/d']);
    for (let i = 0; i < 4; i++) await startWorker(config, i);
    await runToEnd(worker, 'publish', { ...config, messages: 5000 });
    await until(() => receiver.distinct === 5000, 50_000, '5,000 distinct messages');

    expect(receiver.duplicates).toBe(0);
    expect([...receiver.byWorker.keys()].sort()).toEqual(['worker-0', 'worker-1', 'worker-2', 'worker-3']);
    for (const count of receiver.byWorker.values()) expect(count).toBeGreaterThan(100);
    await until(() => false === false, 0, 'nothing');
    expect(await statusCounts(config.schema)).toEqual({ succeeded: 5000 });
  }, 60_000);
});
