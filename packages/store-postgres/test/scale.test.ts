import { describe, expect, it } from 'vitest';
import { prepare, receiver, settledCounts, startWorker, worker } from './scale-fixture.js';
import { runToEnd, until, type Child } from './scale-harness.js';

describe('four worker processes sharing one Postgres', () => {
  it('deliver 5,000 messages exactly once each, spread over all four workers', async () => {
    const config = await prepare('scale', ['/a', '/b', '/c', '/d']);
    for (let i = 0; i < 4; i++) await startWorker(config, i);
    await runToEnd(worker, 'publish', { ...config, messages: 5000 });
    await until(() => receiver.distinct === 5000, 50_000, '5,000 distinct messages');

    expect(receiver.duplicates).toBe(0);
    expect([...receiver.byWorker.keys()].sort()).toEqual(['worker-0', 'worker-1', 'worker-2', 'worker-3']);
    console.info(`four-worker test: messages per worker ${JSON.stringify([...receiver.byWorker.values()])}`);
    for (const count of receiver.byWorker.values()) expect(count).toBeGreaterThan(100);
    expect(await settledCounts(config.schema, 5000)).toEqual({ succeeded: 5000 });
  }, 60_000);
});

describe('at a low rate', () => {
  it('three idle worker processes claim about once per message, not three times (one is woken per publish)', async () => {
    const config = { ...(await prepare('lowrate', ['/a', '/b'])), pollIntervalMs: 60_000, reportClaims: true };
    const workers: Array<{ lines: string[] }> = [];
    for (let i = 0; i < 3; i++) workers.push(await startWorker(config, i));
    const claims = () => workers.reduce((total, w) => total + w.lines.filter((line) => line === 'claim').length, 0);
    // Each worker's first claim (at start) found nothing; wait for them before counting.
    await until(() => claims() >= 3, 10_000, 'the first claims');
    const before = claims();
    await runToEnd(worker, 'publish', { ...config, messages: 30, publishIntervalMs: 40 });
    await until(() => receiver.distinct === 30, 20_000, '30 distinct messages');

    expect(receiver.duplicates).toBe(0);
    expect(receiver.byWorker.size).toBeGreaterThan(1);
    // One claim per publish (slack for a publish that lands while a claim is on its way, as on a loaded machine);
    // waking every worker made it 3 claims per publish.
    console.info(`low-rate test: ${claims() - before} claims for 30 messages by 3 workers`);
    expect(claims() - before).toBeLessThanOrEqual(45);
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
    // Each kill lands at a random point of its own stretch of the run (by progress, not time: fast runs get them too).
    for (const [from, to] of [[200, 900], [1000, 1700], [1800, 2500]] as const) {
      const at = from + Math.floor(Math.random() * (to - from));
      await until(() => receiver.distinct >= at, 45_000, `${at} distinct messages`);
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
});
