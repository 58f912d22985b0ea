import { afterEach, describe, expect, it, vi } from 'vitest';
import { isHooklineError } from '@hookline/errors';
import type { InboundEvent } from '../../src/contract.js';
import { githubRequest, slackRequest } from '../../src/testing.js';
import { receiverHookline } from '../http/support.js';

afterEach(() => {
  vi.useRealTimers();
});

async function githubSource() {
  const setup = receiverHookline();
  const source = await setup.hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
  const send = (body: Record<string, unknown>, deliveryId?: string) =>
    setup.hooks.handle(githubRequest({ url: source.path, secret: 's', body, ...(deliveryId ? { deliveryId } : {}) }));
  return { ...setup, source, send };
}

describe('waitFor', () => {
  it('resolves with the first event matching its matches, not with earlier ones that do not match', async () => {
    const { hooks, send } = await githubSource();
    const waiting = hooks.waitFor({ matches: { '$.action': 'closed' } });

    await send({ action: 'opened', number: 1 });
    await send({ action: 'closed', number: 2 });
    await send({ action: 'closed', number: 3 });

    const event = await waiting;
    expect(event.payload).toEqual({ action: 'closed', number: 2 });
  });

  it('filters by source id: an event on another source does not settle it', async () => {
    const { hooks, source, send } = await githubSource();
    const other = await hooks.createSource({ name: 'other', platform: 'github', config: { secret: 's' } });
    const waiting = hooks.waitFor(source.id);

    await hooks.handle(githubRequest({ url: other.path, secret: 's', body: { from: 'other' } }));
    await send({ from: 'mine' });

    expect((await waiting).payload).toEqual({ from: 'mine' });
  });

  it('settles every waiter the matching event satisfies', async () => {
    const { hooks, send } = await githubSource();
    const first = hooks.waitFor({ matches: {} });
    const second = hooks.waitFor({ matches: { '$.n': 1 } });
    await send({ n: 1 });
    expect((await first).payload).toEqual({ n: 1 });
    expect((await second).payload).toEqual({ n: 1 });
  });

  it('rejects with a coded error after timeoutMs when nothing matching arrives', async () => {
    vi.useFakeTimers();
    const { hooks } = await githubSource();
    const waiting = hooks.waitFor({ matches: { '$.action': 'closed' } }, { timeoutMs: 5_000 });
    const outcome = waiting.then(() => 'resolved', (error: unknown) => error);

    await vi.advanceTimersByTimeAsync(4_999);
    let settled = false;
    void outcome.then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    const error = await outcome;
    expect(isHooklineError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'wait_timeout', status: 408, details: { timeoutMs: 5_000 } });
  });

  it('does not resolve from an event that arrives after the timeout', async () => {
    vi.useFakeTimers();
    const { hooks, send } = await githubSource();
    const waiting = hooks.waitFor({ matches: {} }, { timeoutMs: 10 });
    const outcome = waiting.then(() => 'resolved', () => 'rejected');
    await vi.advanceTimersByTimeAsync(10);
    await send({ late: true });
    expect(await outcome).toBe('rejected');
  });

  it('rejects with the abort reason when its signal is aborted, and then ignores matching events', async () => {
    const { hooks, send } = await githubSource();
    const controller = new AbortController();
    const waiting = hooks.waitFor({ matches: {} }, { signal: controller.signal });
    controller.abort(new Error('workflow cancelled'));
    await expect(waiting).rejects.toThrow('workflow cancelled');
    const response = await send({ after: 'abort' });
    expect(response.status).toBe(200);
  });

  it('rejects at once for a signal that is already aborted', async () => {
    const { hooks } = await githubSource();
    const waiting = hooks.waitFor({ matches: {} }, { signal: AbortSignal.abort() });
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects a selector with a bad JSONPath with invalid_jsonpath', async () => {
    const { hooks } = await githubSource();
    await expect(hooks.waitFor({ matches: { '$[': 1 } })).rejects.toMatchObject({ code: 'invalid_jsonpath' });
  });

  it('rejects a negative timeout with bad_request', async () => {
    const { hooks } = await githubSource();
    await expect(hooks.waitFor('src_x', { timeoutMs: -1 })).rejects.toMatchObject({ code: 'bad_request' });
  });
});

describe('on', () => {
  it('runs for every matching event until unsubscribed', async () => {
    const { hooks, send } = await githubSource();
    const seen: unknown[] = [];
    const off = hooks.on({ matches: { '$.action': 'opened' } }, (event: InboundEvent) => {
      seen.push(event.payload);
    });

    await send({ action: 'opened', n: 1 });
    await send({ action: 'closed', n: 2 });
    await send({ action: 'opened', n: 3 });
    off();
    await send({ action: 'opened', n: 4 });

    expect(seen).toEqual([{ action: 'opened', n: 1 }, { action: 'opened', n: 3 }]);
  });

  it('awaits async handlers before answering the sender', async () => {
    const { hooks, send } = await githubSource();
    const order: string[] = [];
    hooks.on({}, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push('handler done');
    });
    await send({ a: 1 });
    order.push('answered');
    expect(order).toEqual(['handler done', 'answered']);
  });

  it('combines a source id and matches (both must hold), as Conductor\'s start-workflow trigger does', async () => {
    const { hooks, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'slack', platform: 'slack', config: { secret: 'k' } });
    const texts: unknown[] = [];
    hooks.on({ sourceId: source.id, matches: { "$['event']['type']": 'message', '$.event.text': 'hello' } }, (event: InboundEvent) => {
      texts.push((event.payload as { event: { text: string } }).event.text);
    });
    const timestamp = Math.floor(clock.ms / 1000);
    for (const [index, text] of ['hello', 'bye', 'hello'].entries()) {
      await hooks.handle(slackRequest({ url: source.path, secret: 'k', timestamp, body: { event_id: `E${index}`, event: { type: 'message', text } } }));
    }
    expect(texts).toEqual(['hello', 'hello']);
  });

  it('throws invalid_jsonpath at registration for a bad path', async () => {
    const { hooks } = await githubSource();
    expect(() => hooks.on({ matches: { 'event.type': 'x' } }, () => {})).toThrow(expect.objectContaining({ code: 'invalid_jsonpath' }));
  });
});
