// Restarts the machine's PostgreSQL for real, so it runs alone: `npm test` runs it last (see vitest.config.ts).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { admin, prepare, receiver, settledCounts, startWorker, worker } from './scale-fixture.js';
import { runToEnd, until, type Child } from './scale-harness.js';

describe('faults', () => {
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
