// Shared by the scale-out tests: a bundled worker, a counting receiver, fresh schemas, and cleanup after each test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { DATABASE_URL, dropSchema, freshSchemaName } from './helpers.js';
import {
  bundleWorker, CountingReceiver, newSecretKey, runToEnd, spawnProcess, waitForLine, type Child, type ProcessConfig,
} from './scale-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'hookline-scale-'));
export const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
// The restart test drops every connection; an idle one erroring must not take the test process down.
admin.on('error', () => {});
const schemas: string[] = [];
export let worker: string;
let children: Child[] = [];
export let receiver: CountingReceiver;

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

export async function prepare(prefix: string, endpoints: string[]): Promise<ProcessConfig> {
  const schema = freshSchemaName(prefix);
  schemas.push(schema);
  receiver = new CountingReceiver();
  const receiverUrl = await receiver.listen();
  const config: ProcessConfig = { connectionString: DATABASE_URL, schema, secretKey: newSecretKey(), receiverUrl, endpoints };
  await runToEnd(worker, 'setup', config);
  return config;
}

export async function startWorker(config: ProcessConfig, workerIndex: number): Promise<{ child: Child; lines: string[]; stderr: string[] }> {
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
export async function settledCounts(schema: string, total: number): Promise<Record<string, number>> {
  for (let waited = 0; waited < 20_000; waited += 100) {
    const counts = await statusCounts(schema);
    if (counts.succeeded === total) return counts;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return statusCounts(schema);
}

