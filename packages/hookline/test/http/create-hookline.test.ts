import { afterEach, describe, expect, it } from 'vitest';
import type { Hookline } from '../../src/contract.js';
import { createTestHookline, githubRequest, hookRequest } from '../../src/testing.js';
import { json } from './support.js';

let hooks: Hookline;
afterEach(async () => {
  await hooks?.close();
});

describe('createHookline options', () => {
  it('uses the clock for replay expiry: a delivery id is forgotten after replayWindowMs', async () => {
    let now = 1_800_000_000_000;
    hooks = createTestHookline({ clock: { now: () => now }, replayWindowMs: 60_000 });
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    const request = githubRequest({ url: source.path, secret: 's', body: {}, deliveryId: 'd-1' });

    expect(json(await hooks.handle(request))).toEqual({ status: 'accepted', id: 'd-1' });
    now += 59_999;
    expect(json(await hooks.handle(request))).toEqual({ status: 'duplicate', id: 'd-1' });
    now += 1;
    expect(json(await hooks.handle(request))).toEqual({ status: 'accepted', id: 'd-1' });
  });

  it('stamps sources and events with the clock', async () => {
    hooks = createTestHookline({ clock: { now: () => 1_800_000_000_000 } });
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    const waiting = hooks.waitFor(source.id);
    await hooks.handle(githubRequest({ url: source.path, secret: 's', body: {} }));
    expect(source.createdAt).toBe(1_800_000_000_000);
    expect((await waiting).receivedAt).toBe(1_800_000_000_000);
  });

  it('applies maxInboundBodyBytes to inbound routes and maxRequestBodyBytes to callbacks', async () => {
    hooks = createTestHookline({ maxInboundBodyBytes: 10, maxRequestBodyBytes: 20 });
    expect((await hooks.handle(hookRequest('POST', '/in/src_x', { body: 'x'.repeat(11) }))).status).toBe(413);
    expect((await hooks.handle(hookRequest('POST', '/callbacks/t', { body: 'x'.repeat(21) }))).status).toBe(413);
    expect((await hooks.handle(hookRequest('POST', '/callbacks/t', { body: { v: 1 } }))).status).toBe(404);
  });

  it('sends logs to the logger it is given', async () => {
    const lines: string[] = [];
    const logger = { error: (_: unknown, message: string) => lines.push(`error ${message}`), warn() {}, info: (_: unknown, message: string) => lines.push(`info ${message}`) };
    hooks = createTestHookline({ logger });
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    await hooks.handle(githubRequest({ url: source.path, secret: 'wrong', body: {} }));
    expect(lines).toEqual(['info inbound webhook refused']);
  });

  it('close() can be called twice', async () => {
    hooks = createTestHookline();
    await hooks.close();
    await expect(hooks.close()).resolves.toBeUndefined();
  });
});
