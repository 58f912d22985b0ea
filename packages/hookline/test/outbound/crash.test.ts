import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '@hookline/store-sqlite';
import { createDispatcher } from '../../src/outbound/index.js';
import { SECRET_KEY, startReceiver } from './helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '../../../..');
// The bundle sits in this folder so that `@hookline/*` and better-sqlite3 resolve from the workspace's node_modules.
const bundle = join(here, '.crash-dispatcher.mjs');
const workDir = mkdtempSync(join(tmpdir(), 'hookline-crash-'));

const dependencies = ['errors', 'signer', 'templater', 'matcher', 'schemas', 'store', 'store-sqlite'];

beforeAll(() => {
  // The worker runs the BUILT packages: build the dependencies when a dist is missing (`npm test` builds first),
  // then bundle the dispatcher from source against their dist.
  if (dependencies.some((name) => !existsSync(join(root, 'packages', name, 'dist', 'index.js')))) {
    execFileSync('npx', ['turbo', 'run', 'build', '--filter=@hookline/store-sqlite...', '--filter=hookline^...', '--output-logs=errors-only'], {
      cwd: root, stdio: 'ignore',
    });
  }
  execFileSync(join(root, 'node_modules/.bin/esbuild'), [
    join(here, '../../src/outbound/index.ts'), '--bundle', '--platform=node', '--format=esm', `--outfile=${bundle}`,
    '--packages=external', '--log-level=error',
  ], { cwd: root });
}, 240_000);

afterAll(() => {
  rmSync(bundle, { force: true });
  rmSync(workDir, { recursive: true, force: true });
});

function startWorker(dbPath: string, leaseMs: number): Promise<ChildProcess> {
  const child = fork(join(here, 'crash-worker.mjs'), [bundle, dbPath, String(leaseMs)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

/** Resolves when the child has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('crash safety with the SQLite store', () => {
  it('loses nothing when a worker is killed with SIGKILL mid-send: every one of 1,000 messages arrives', async () => {
    const received = new Set<string>();
    let requests = 0;
    // Slow answers keep sends in flight, so the kill lands mid-send.
    const receiver = await startReceiver((req, res) => {
      requests += 1;
      setTimeout(() => {
        received.add(String(req.headers['webhook-id']));
        res.writeHead(200).end();
      }, 20);
    });
    const dbPath = join(workDir, 'hookline.db');
    const store = new SqliteStore({ path: dbPath });
    const publisher = createDispatcher({ store, secretKey: SECRET_KEY, destinations: { allowHttp: true, allowPrivateNetworks: true } });
    await publisher.createEndpoint({ name: 'sink', url: receiver.url, triggers: ['*'] });
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) ids.push((await publisher.publish({ type: 'crash.test', data: { i } })).messageId);

    const leaseMs = 1_000;
    const first = await startWorker(dbPath, leaseMs);
    await until(() => requests >= 200, 60_000);
    expect(first.exitCode).toBeNull(); // still running: the kill lands mid-run, not after a crash of its own
    first.kill('SIGKILL');
    await exited(first);
    expect(first.signalCode).toBe('SIGKILL');
    const deliveredBeforeKill = received.size;
    expect(deliveredBeforeKill).toBeLessThan(1000);

    const second = await startWorker(dbPath, leaseMs);
    try {
      await until(() => received.size === 1000, 90_000);
      // Every delivery ends succeeded in the store too (the second worker records what the first could not).
      await until(async () => {
        for (const id of ids) {
          const { deliveries } = await publisher.getMessage(id);
          if (deliveries[0]?.status !== 'succeeded') return false;
        }
        return true;
      }, 30_000);
      expect(second.exitCode).toBeNull(); // an idle worker process stays up until stopped
    } finally {
      second.kill('SIGTERM');
      await exited(second);
    }
    expect([...received].sort()).toEqual([...ids].sort());
    // At least once: the sends cut by the kill were sent again.
    expect(requests).toBeGreaterThan(1000);
    await publisher.stop();
    await store.close();
    await receiver.close();
  }, 200_000);
});
