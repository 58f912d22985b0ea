import { createHash, createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { isHooklineError } from '@hookline/errors';
import { MemoryStore, type DeliveryStore } from '@hookline/store';
import { nextEvent, setup, startReceiver, tick } from './helpers.js';
import type { Dispatcher } from '../../src/contract.js';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function receiver(handler?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(handler);
  cleanup.push(() => r.close());
  return r;
}

async function started(overrides: Parameters<typeof setup>[0] = {}) {
  const ctx = await setup(overrides);
  ctx.dispatcher.start();
  cleanup.push(() => ctx.dispatcher.stop());
  return ctx;
}

/** Lets the workers reach their idle wait after an event (several I/O turns, no wall-clock waiting). */
async function settle() {
  for (let i = 0; i < 10; i++) await tick();
}

/** Resolves once `count` deliveries have succeeded. */
function succeededTimes(dispatcher: Dispatcher, count: number): Promise<void> {
  return new Promise((resolve) => {
    let done = 0;
    dispatcher.on((event) => {
      if (event.type === 'delivery.succeeded' && ++done === count) resolve();
    });
  });
}

/** A memory store with `finishThenClaim` (each finish, then the claim), counting the dispatcher's calls. */
function finishingStore() {
  const memory = new MemoryStore();
  const calls = { finishThenClaim: 0, carried: 0, finishAttempt: 0, claims: 0 };
  const overrides: Partial<MemoryStore> & Pick<DeliveryStore, 'finishThenClaim'> = {
    finishThenClaim: async (finishes, claim) => {
      calls.finishThenClaim += 1;
      calls.carried += finishes.length;
      const held: boolean[] = [];
      for (const finish of finishes) held.push(await memory.finishAttempt(finish));
      return { held, claim: await memory.claimDueWithNext(claim) };
    },
    finishAttempt: async (input) => {
      calls.finishAttempt += 1;
      return memory.finishAttempt(input);
    },
    claimDueWithNext: async (options) => {
      calls.claims += 1;
      return memory.claimDueWithNext(options);
    },
  };
  const store = new Proxy(memory, {
    get(target, property) {
      if (property in overrides) return overrides[property as keyof typeof overrides];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, calls };
}

/**
 * `finishingStore` that also passes room between processes as Postgres does (`askForRoom`, `onRoomWanted`,
 * `roomGiven`), recording what each `finishThenClaim` asked for; `wantRoom()` plays another process asking.
 */
function sharingStore() {
  const { store: finishing, calls } = finishingStore();
  const asked: Array<{ refill: boolean; limit: number; carried: number }> = [];
  const room = { asks: 0, given: 0 };
  /** Finishes committed alone and room given, in order. */
  const events: Array<'finished' | 'given'> = [];
  let roomListener: (() => void) | undefined;
  const overrides: Pick<DeliveryStore, 'finishThenClaim' | 'finishAttempt' | 'askForRoom' | 'onRoomWanted' | 'roomGiven'> = {
    finishAttempt: async (input) => {
      const held = await finishing.finishAttempt(input);
      events.push('finished');
      return held;
    },
    finishThenClaim: (finishes, claim) => {
      asked.push({ refill: claim.refill === true, limit: claim.limit, carried: finishes.length });
      return (finishing as DeliveryStore).finishThenClaim!(finishes, claim);
    },
    askForRoom: () => {
      room.asks += 1;
    },
    onRoomWanted: (listener) => {
      roomListener = listener;
      return () => {
        roomListener = undefined;
      };
    },
    roomGiven: () => {
      room.given += 1;
      events.push('given');
    },
  };
  const store = new Proxy(finishing, {
    get(target, property) {
      if (property in overrides) return overrides[property as keyof typeof overrides];
      return Reflect.get(target, property, target);
    },
  });
  return { store, calls, asked, room, events, wantRoom: () => roomListener?.() };
}

/**
 * `count` messages published to one endpoint that answers on the next turn, then sent by a dispatcher over `store`
 * (8 send slots, 8 more claimed ahead, `options` on top); `calls` are zeroed at the start and `afterStart` runs just
 * after it. Resolves once every message has succeeded, or after 5 s.
 */
async function sendBacklog(
  store: DeliveryStore, calls: Record<string, number>, count: number, options: Parameters<typeof setup>[0] = {},
  afterStart: (r: Receiver) => Promise<void> | void = () => undefined,
): Promise<Receiver> {
  const r = await receiver((_req, res) => setImmediate(() => res.writeHead(200).end()));
  const { dispatcher } = await setup({ store, concurrency: 8, prefetch: 8, ...options });
  cleanup.push(() => dispatcher.stop());
  await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
  for (let i = 0; i < count; i++) await dispatcher.publish({ type: 't', data: { i } });
  const all = succeededTimes(dispatcher, count);
  for (const key of Object.keys(calls)) calls[key] = 0;
  dispatcher.start();
  await afterStart(r);
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 5000))]);
  return r;
}

function caught(promise: Promise<unknown>): Promise<{ code: string; status: number; details?: Record<string, unknown> }> {
  return promise.then(
    () => {
      throw new Error('expected a HooklineError');
    },
    (error: unknown) => {
      if (!isHooklineError(error)) throw error;
      return { code: error.code, status: error.status, ...(error.details === undefined ? {} : { details: error.details }) };
    },
  );
}

describe('delivery', () => {
  it('delivers the ConductorOne envelope with a JWT that verifies with plain jose against the JWKS', async () => {
    const r = await receiver();
    const { dispatcher } = await started();
    const { endpoint } = await dispatcher.createEndpoint({ name: 'Jira', url: r.url, triggers: ['AccessRequestCreated'] });
    const succeeded = nextEvent(dispatcher, 'delivery.succeeded');
    const { messageId, deliveries } = await dispatcher.publish({ type: 'AccessRequestCreated', data: { id: '123', friendly_id: 'AR-123' } });
    expect(deliveries).toBe(1);
    const event = await succeeded;
    expect(event.delivery).toMatchObject({ messageId, endpointId: endpoint.id, status: 'succeeded', attemptCount: 1 });

    const request = r.requests[0]!;
    const body = JSON.parse(request.body);
    expect(body).toEqual({
      version: 'v1',
      webhookId: messageId,
      callbackUrl: expect.stringMatching(/^https:\/\/hooks\.acme\.example\/callbacks\/dlv_[A-Za-z0-9]+\.[A-Za-z0-9_-]{43}$/),
      event: 'AccessRequestCreated',
      payload: { '@type': 'type.googleapis.com/AccessRequestCreated', id: '123', friendly_id: 'AR-123' },
    });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(messageId);

    const token = String(request.headers.authorization).replace(/^Bearer /, '');
    const jwks = createLocalJWKSet((await dispatcher.jwks()) as Parameters<typeof createLocalJWKSet>[0]);
    const { payload } = await jwtVerify(token, jwks, { issuer: 'acme.example', audience: new URL(r.url).host });
    expect(payload).toMatchObject({
      c1typ: 'wh', htm: 'POST', htu: r.url,
      htb_s256: createHash('sha256').update(request.body).digest('base64'),
    });
    expect(payload.exp! - payload.iat!).toBe(120);
  });

  it('retries on failures following the schedule, then succeeds, keeping the webhook id on every try', async () => {
    const statuses = [500, 503, 200];
    const r = await receiver((_req, res) => res.writeHead(statuses.shift() ?? 200).end());
    const { dispatcher, time } = await started();
    await dispatcher.createEndpoint({ name: 'flaky', url: r.url, triggers: ['*'] });

    const firstFailure = nextEvent(dispatcher, 'delivery.failed');
    const start = time.now;
    const { messageId } = await dispatcher.publish({ type: 'x.happened', data: { n: 1 } });
    const failed1 = await firstFailure;
    expect(failed1.attempt.error).toEqual({ code: 'http_status', message: 'HTTP 500' });
    // random() = 0.5 means no jitter: exactly 5 s after the first attempt ended.
    expect(failed1.nextAttemptAt - time.now).toBe(5_000);

    await settle();
    time.advance(failed1.nextAttemptAt - time.now - 1);
    await settle();
    expect(r.requests).toHaveLength(1);

    const secondFailure = nextEvent(dispatcher, 'delivery.failed');
    time.advance(1);
    const failed2 = await secondFailure;
    expect(failed2.attempt.number).toBe(2);
    expect(failed2.nextAttemptAt - time.now).toBe(300_000);

    const success = nextEvent(dispatcher, 'delivery.succeeded');
    await settle();
    time.advance(300_000);
    const done = await success;
    expect(done.delivery.attemptCount).toBe(3);
    expect(time.now - start).toBeGreaterThanOrEqual(305_000);

    expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([messageId]));
    const jtis = r.requests.map((q) => JSON.parse(Buffer.from(String(q.headers.authorization).split('.')[1]!, 'base64url').toString()).jti);
    expect(new Set(jtis).size).toBe(3);

    const history = await dispatcher.listAttempts({ messageId });
    expect(history.items.map((a) => [a.number, a.response?.status, a.trigger])).toEqual([
      [3, 200, 'scheduled'], [2, 503, 'scheduled'], [1, 500, 'scheduled'],
    ]);
  });

  it('applies ±20 % jitter to scheduled delays', async () => {
    const r = await receiver((_req, res) => res.writeHead(500).end());
    const { dispatcher, time } = await started({ random: () => 0 });
    await dispatcher.createEndpoint({ name: 'down', url: r.url, triggers: ['*'] });
    const failed = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: null });
    const event = await failed;
    expect(event.nextAttemptAt - time.now).toBe(4_000);
  });

  it('gives up after the last scheduled try with delivery.exhausted', async () => {
    const r = await receiver((_req, res) => res.writeHead(500).end());
    const { dispatcher, time } = await started({ retrySchedule: [0, 10] });
    await dispatcher.createEndpoint({ name: 'down', url: r.url, triggers: ['*'] });
    const failed = nextEvent(dispatcher, 'delivery.failed');
    const { messageId } = await dispatcher.publish({ type: 't', data: {} });
    await failed;
    const exhausted = nextEvent(dispatcher, 'delivery.exhausted');
    await settle();
    time.advance(10_000);
    const event = await exhausted;
    expect(event.delivery).toMatchObject({ status: 'exhausted', attemptCount: 2, lastError: 'HTTP 500' });
    expect((await dispatcher.getMessage(messageId)).deliveries[0]!.status).toBe('exhausted');
  });

  it('disables the endpoint on 410 Gone and cancels the delivery', async () => {
    const r = await receiver((_req, res) => res.writeHead(410).end('gone'));
    const { dispatcher } = await started();
    const { endpoint } = await dispatcher.createEndpoint({ name: 'old', url: r.url, triggers: ['*'] });
    const disabled = nextEvent(dispatcher, 'endpoint.disabled');
    const { messageId } = await dispatcher.publish({ type: 't', data: {} });
    const event = await disabled;
    expect(event.reason).toBe('gone');
    expect(event.endpoint).toMatchObject({ id: endpoint.id, active: false, disabledReason: 'gone' });
    expect(await dispatcher.getEndpoint(endpoint.id)).toMatchObject({ active: false, disabledReason: 'gone' });
    expect((await dispatcher.getMessage(messageId)).deliveries[0]!.status).toBe('cancelled');
    expect((await dispatcher.publish({ type: 't', data: {} })).deliveries).toBe(0);
  });

  it('waits the Retry-After of a 429, and at least 60 s when a 429 gives none', async () => {
    const answers: Array<[number, Record<string, string>]> = [[429, { 'retry-after': '120' }], [429, {}], [200, {}]];
    const r = await receiver((_req, res) => {
      const [status, headers] = answers.shift()!;
      res.writeHead(status, headers).end();
    });
    const { dispatcher, time } = await started();
    await dispatcher.createEndpoint({ name: 'busy', url: r.url, triggers: ['*'] });
    const first = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: {} });
    const e1 = await first;
    expect(e1.nextAttemptAt - time.now).toBe(120_000);
    const second = nextEvent(dispatcher, 'delivery.failed');
    await settle();
    time.advance(120_000);
    const e2 = await second;
    // The schedule says 5 min for the third try; a 429 without Retry-After waits max(schedule, 60 s).
    expect(e2.nextAttemptAt - time.now).toBe(300_000);
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    await settle();
    time.advance(300_000);
    await ok;
  });

  it('honours Retry-After on a 503 and clamps a huge one to maxRetryAfterMs', async () => {
    const answers: Array<[number, Record<string, string>]> = [[503, { 'retry-after': '30' }], [503, { 'retry-after': '999999' }], [200, {}]];
    const r = await receiver((_req, res) => {
      const [status, headers] = answers.shift()!;
      res.writeHead(status, headers).end();
    });
    const { dispatcher, time } = await started({ maxRetryAfterMs: 3_600_000 });
    await dispatcher.createEndpoint({ name: 'maintenance', url: r.url, triggers: ['*'] });
    const first = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: {} });
    const e1 = await first;
    expect(e1.nextAttemptAt - time.now).toBe(30_000);
    const second = nextEvent(dispatcher, 'delivery.failed');
    await settle();
    time.advance(30_000);
    expect((await second).nextAttemptAt - time.now).toBe(3_600_000);
  });

  it('raises the first retry to 60 s after a 429 without Retry-After', async () => {
    const r = await receiver((_req, res) => res.writeHead(429).end());
    const { dispatcher, time } = await started();
    await dispatcher.createEndpoint({ name: 'busy', url: r.url, triggers: ['*'] });
    const failed = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: {} });
    const e = await failed;
    expect(e.nextAttemptAt - time.now).toBe(60_000);
  });

  it('times out a receiver that never answers and waits at least 60 s', async () => {
    const r = await receiver(() => {
      /* never answers */
    });
    const { dispatcher, time } = await started({ requestTimeoutMs: 150 });
    await dispatcher.createEndpoint({ name: 'hang', url: r.url, triggers: ['*'] });
    const failed = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: {} });
    const e = await failed;
    expect(e.attempt.error).toEqual({ code: 'timeout', message: 'No complete response within 150 ms.' });
    expect(e.attempt.response).toBeUndefined();
    expect(e.nextAttemptAt - time.now).toBe(60_000);
  });

  it('does not follow a redirect and counts it as a failure', async () => {
    const target = await receiver();
    const r = await receiver((_req, res) => res.writeHead(302, { location: target.url }).end());
    const { dispatcher } = await started();
    await dispatcher.createEndpoint({ name: 'moved', url: r.url, triggers: ['*'] });
    const failed = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: {} });
    const e = await failed;
    expect(e.attempt.error?.code).toBe('redirect_not_followed');
    expect(e.attempt.response?.status).toBe(302);
    expect(e.attempt.response?.headers.location).toBe(target.url);
    expect(target.requests).toHaveLength(0);
  });

  it('keeps at most 64 KiB of a huge response body', async () => {
    const huge = 'x'.repeat(2 * 1024 * 1024);
    const r = await receiver((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(huge));
    const { dispatcher } = await started();
    await dispatcher.createEndpoint({ name: 'chatty', url: r.url, triggers: ['*'] });
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    await dispatcher.publish({ type: 't', data: {} });
    const e = await ok;
    expect(e.attempt.response).toMatchObject({ status: 200, truncated: true });
    expect(e.attempt.response!.body).toBe('x'.repeat(64 * 1024));
  });

  it('records history with credentials and signatures redacted', async () => {
    const r = await receiver();
    const { dispatcher } = await started();
    const basic = await dispatcher.createEndpoint({
      name: 'basic', url: r.url, triggers: ['*'],
      auth: { type: 'basic', username: 'svc', password: 'p4ssw0rd-very-secret' }, headers: { 'X-Api-Key': 'key-123', 'X-Team': 'blue' },
    });
    const hmac = await dispatcher.createEndpoint({
      name: 'hmac', url: r.url, triggers: ['*'], auth: { type: 'hmac', secret: 'shared-secret-value', header: 'X-Sig', prefix: 'sha256=' },
    });
    const done = new Set<string>();
    const both = new Promise<void>((resolve) => {
      dispatcher.on((event) => {
        if (event.type === 'delivery.succeeded') done.add(event.delivery.endpointId);
        if (done.size === 2) resolve();
      });
    });
    const { messageId } = await dispatcher.publish({ type: 't', data: { a: 1 } });
    await both;

    const byEndpoint = Object.fromEntries((await dispatcher.listAttempts({ messageId })).items.map((a) => [a.endpointId, a]));
    const basicAttempt = byEndpoint[basic.endpoint.id]!;
    expect(basicAttempt.request.headers).toMatchObject({ authorization: '[redacted]', 'X-Api-Key': '[redacted]', 'X-Team': 'blue' });
    const hmacAttempt = byEndpoint[hmac.endpoint.id]!;
    expect(hmacAttempt.request.headers['x-sig']).toBe('[redacted]');
    expect(JSON.stringify(byEndpoint)).not.toMatch(/p4ssw0rd|shared-secret-value|key-123|Bearer|Basic /);

    // What the receivers really got.
    const basicReq = r.requests.find((q) => q.headers['x-team'] === 'blue')!;
    expect(basicReq.headers.authorization).toBe(`Basic ${Buffer.from('svc:p4ssw0rd-very-secret').toString('base64')}`);
    const hmacReq = r.requests.find((q) => q.headers['x-sig'] !== undefined)!;
    expect(hmacReq.headers['x-sig']).toBe(`sha256=${createHmac('sha256', 'shared-secret-value').update(hmacReq.body).digest('hex')}`);
  });

  it('signs Standard Webhooks that verify with the spec math, returning a generated whsec_ once', async () => {
    const r = await receiver();
    const { dispatcher, store } = await started();
    const { endpoint, secret } = await dispatcher.createEndpoint({ name: 'sw', url: r.url, triggers: ['*'], auth: { type: 'standard-webhooks' } });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(endpoint.auth).toEqual({ type: 'standard-webhooks', hint: `whsec_…${secret!.slice(-4)}` });
    expect(JSON.stringify(await dispatcher.getEndpoint(endpoint.id))).not.toContain(secret!.slice(6));
    // At rest the secret is sealed, never in the clear.
    expect(JSON.stringify(await store.getEndpoint('default', endpoint.id))).not.toContain(secret!.slice(6));

    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    const { messageId } = await dispatcher.publish({ type: 't', data: { a: 'é' } });
    await ok;
    const req = r.requests[0]!;
    expect(req.headers['webhook-id']).toBe(messageId);
    const signed = `${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`;
    const expected = createHmac('sha256', Buffer.from(secret!.slice('whsec_'.length), 'base64')).update(signed).digest('base64');
    expect(req.headers['webhook-signature']).toBe(`v1,${expected}`);
  });

  it('sends bearer tokens and custom methods, and renders body templates', async () => {
    const r = await receiver();
    const { dispatcher } = await started();
    await dispatcher.createEndpoint({
      name: 'tpl', url: r.url, method: 'PUT', triggers: ['AccessRequestCreated'], auth: { type: 'bearer', token: 'tok_abcdefghijkl' },
      bodyTemplate: '{"summary": "{{data.requester.name}} asks", "kind": "{{event_type}}", "groups": {{json (pluck data.access_groups "name")}} }',
    });
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    await dispatcher.publish({
      type: 'AccessRequestCreated',
      data: { requester: { name: 'Ann "the admin"' }, access_groups: [{ name: 'prod' }, { name: 'dev' }] },
    });
    await ok;
    const req = r.requests[0]!;
    expect(req.method).toBe('PUT');
    expect(req.headers.authorization).toBe('Bearer tok_abcdefghijkl');
    expect(JSON.parse(req.body)).toEqual({ summary: 'Ann "the admin" asks', kind: 'AccessRequestCreated', groups: ['prod', 'dev'] });
  });

  it('delivers only to endpoints whose triggers and JSONPath filter match', async () => {
    const r = await receiver();
    const { dispatcher } = await started();
    await dispatcher.createEndpoint({ name: 'approved', url: r.url, triggers: ['apono.AccessRequestApproved'] });
    await dispatcher.createEndpoint({ name: 'prefix', url: r.url, triggers: ['apono.*'] });
    await dispatcher.createEndpoint({ name: 'filtered', url: r.url, triggers: ['*'], filter: { "$['integration']['type']": 'Postgresql' } });
    await dispatcher.createEndpoint({ name: 'inactive', url: r.url, triggers: ['*'], active: false });
    const postgres = { integration: { type: 'Postgresql' } };
    const mysql = { integration: { type: 'MySQL' } };
    expect((await dispatcher.publish({ type: 'apono.AccessRequestApproved', data: mysql })).deliveries).toBe(2);
    expect((await dispatcher.publish({ type: 'apono.AccessRequestCreated', data: postgres })).deliveries).toBe(2);
    expect((await dispatcher.publish({ type: 'permit.create_user', data: mysql })).deliveries).toBe(0);
    expect((await dispatcher.publish({ type: 'permit.create_user', data: postgres })).deliveries).toBe(1);
  });
});

describe('asynchronous completion', () => {
  async function awaitingCallback(overrides: Parameters<typeof setup>[0] = {}) {
    const r = await receiver((_req, res) => res.writeHead(202).end());
    const ctx = await started(overrides);
    const { endpoint } = await ctx.dispatcher.createEndpoint({ name: 'provisioner', url: r.url, triggers: ['*'] });
    const awaiting = nextEvent(ctx.dispatcher, 'delivery.awaiting_callback');
    const { messageId } = await ctx.dispatcher.publish({ type: 'c1.webhooks.v1.PayloadProvisionStep', data: { taskId: 't1' } });
    const event = await awaiting;
    const token = JSON.parse(r.requests[0]!.body).callbackUrl.split('/').pop() as string;
    return { ...ctx, r, endpoint, messageId, event, token };
  }
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  it('leaves a 202 awaiting its callback, then records an approve and hands it to the app', async () => {
    const { dispatcher, messageId, endpoint, event, token } = await awaitingCallback();
    expect(event.delivery.status).toBe('awaiting_callback');
    expect((await dispatcher.getMessage(messageId)).deliveries[0]!.status).toBe('awaiting_callback');
    const handled: unknown[] = [];
    dispatcher.onCallback((answer) => {
      handled.push(answer);
    });
    const answer = await dispatcher.handleCallback(token, json({ version: 'v1', approve: { comment: 'done' } }));
    expect(answer).toEqual({
      tenant: 'default', messageId, endpointId: endpoint.id, deliveryId: event.delivery.id, decision: 'approve', comment: 'done',
      body: { version: 'v1', approve: { comment: 'done' } },
    });
    expect(handled).toEqual([answer]);
    expect((await dispatcher.getMessage(messageId)).deliveries[0]!.status).toBe('succeeded');

    expect(await caught(dispatcher.handleCallback(token, json({ version: 'v1', deny: { comment: 'no' } })))).toMatchObject({
      code: 'callback_already_answered', status: 409,
    });
  });

  it('accepts deny and reassign answers', async () => {
    const a = await awaitingCallback();
    expect(await a.dispatcher.handleCallback(a.token, json({ version: 'v1', deny: { comment: 'not allowed' } }))).toMatchObject({ decision: 'deny', comment: 'not allowed' });
    const b = await awaitingCallback();
    expect(await b.dispatcher.handleCallback(b.token, json({ version: 'v1', reassign: { comment: 'to Bo', newStepUserIds: ['u2', 'u3'] } }))).toMatchObject({
      decision: 'reassign', comment: 'to Bo', newStepUserIds: ['u2', 'u3'],
    });
  });

  it('refuses a bad body with 400 and the reason, leaving the callback open', async () => {
    const { dispatcher, token } = await awaitingCallback();
    expect(await caught(dispatcher.handleCallback(token, new TextEncoder().encode('{not json')))).toMatchObject({ code: 'invalid_callback', status: 400 });
    expect(await caught(dispatcher.handleCallback(token, json({ version: 'v2', approve: {} })))).toMatchObject({ code: 'invalid_callback', status: 400 });
    expect(await caught(dispatcher.handleCallback(token, json({ version: 'v1', approve: {}, deny: {} })))).toMatchObject({ code: 'invalid_callback', status: 400 });
    expect(await caught(dispatcher.handleCallback(token, json({ version: 'v1', reassign: { newStepUserIds: [] } })))).toMatchObject({ code: 'invalid_callback', status: 400 });
    expect(await dispatcher.handleCallback(token, json({ version: 'v1', approve: {} }))).toMatchObject({ decision: 'approve' });
  });

  it('answers 404 for an unknown or expired token', async () => {
    const { dispatcher, time, token } = await awaitingCallback();
    expect(await caught(dispatcher.handleCallback('A'.repeat(43), json({ version: 'v1', approve: {} })))).toMatchObject({ code: 'callback_not_found', status: 404 });
    expect(await caught(dispatcher.handleCallback('../../etc', json({ version: 'v1', approve: {} })))).toMatchObject({ code: 'callback_not_found', status: 404 });
    time.advance(7 * 86_400_000);
    expect(await caught(dispatcher.handleCallback(token, json({ version: 'v1', approve: {} })))).toMatchObject({ code: 'callback_expired', status: 404 });
  });

  it('ends a delivery whose callback lapsed unanswered: exhausted with the reason and an event, a late answer gets 404, then it is purged', async () => {
    const store = new MemoryStore();
    const expiryRuns: number[] = [];
    const expire = store.expireAwaitingCallbacks.bind(store);
    store.expireAwaitingCallbacks = async (options) => {
      expiryRuns.push(options.now);
      return expire(options);
    };
    const { dispatcher, time, token, messageId, event, events } = await awaitingCallback({ store, purgeIntervalMs: 60_000 });
    const answeredAt = time.now;
    await settle();
    const handled: unknown[] = [];
    dispatcher.onCallback((answer) => {
      handled.push(answer);
    });

    // A maintenance run one millisecond before the callback lapses leaves the delivery waiting.
    time.advance(7 * 86_400_000 - 1);
    await vi_waitFor(async () => expiryRuns.includes(answeredAt + 7 * 86_400_000 - 1));
    await settle();
    expect((await dispatcher.getMessage(messageId)).deliveries[0]!.status).toBe('awaiting_callback');
    expect(events.filter((e) => e.type === 'delivery.callback_expired')).toEqual([]);

    const expired = nextEvent(dispatcher, 'delivery.callback_expired');
    time.advance(60_000);
    const ended = await expired;
    const reason = 'callback_expired: no answer arrived on the callback URL within 7 days';
    expect(ended.delivery).toEqual({
      ...event.delivery, status: 'exhausted', lastError: reason, updatedAt: answeredAt + 7 * 86_400_000 - 1 + 60_000,
    });
    expect((await dispatcher.getMessage(messageId)).deliveries).toEqual([ended.delivery]);
    expect(await caught(dispatcher.handleCallback(token, json({ version: 'v1', approve: {} })))).toMatchObject({ code: 'callback_expired', status: 404 });
    expect(handled).toEqual([]);

    // Finished now, the message goes with the history once the retention period has passed.
    time.advance(86_400_000 + 60_000);
    await vi_waitFor(async () => (await caught(dispatcher.getMessage(messageId)).catch(() => ({ code: 'found' }))).code === 'not_found');
    expect(await caught(dispatcher.handleCallback(token, json({ version: 'v1', approve: {} })))).toMatchObject({ code: 'callback_not_found', status: 404 });
    expect(events.filter((e) => e.type === 'delivery.callback_expired')).toHaveLength(1);
  });

  it('lets an answer accepted in time win over an expiry run that raced it', async () => {
    const store = new MemoryStore();
    const answer = store.answerCallback.bind(store);
    // Another worker's maintenance run lands between this answer's checks and its write, at the lapse instant.
    store.answerCallback = async (tokenHash, body, now) => {
      const callback = await store.getCallback(tokenHash);
      await store.expireAwaitingCallbacks({ now: callback!.expiresAt, before: 0, limit: 10, reason: 'callback_expired: raced' });
      return answer(tokenHash, body, now);
    };
    const { dispatcher, token, messageId } = await awaitingCallback({ store });
    expect(await dispatcher.handleCallback(token, json({ version: 'v1', approve: {} }))).toMatchObject({ decision: 'approve' });
    expect((await dispatcher.getMessage(messageId)).deliveries[0]).toMatchObject({ status: 'succeeded' });
  });

  it('says the configured callback lifetime in the reason', async () => {
    const { dispatcher, time, messageId } = await awaitingCallback({ callbackTtlMs: 90 * 60_000, purgeIntervalMs: 60_000 });
    await settle();
    const expired = nextEvent(dispatcher, 'delivery.callback_expired');
    time.advance(90 * 60_000);
    expect((await expired).delivery.lastError).toBe('callback_expired: no answer arrived on the callback URL within 90 minutes');
    expect((await dispatcher.getMessage(messageId)).deliveries[0]!.status).toBe('exhausted');
  });

  it('refuses a token whose MAC does not check, and one for a delivery that never awaited a callback', async () => {
    const { dispatcher, token } = await awaitingCallback();
    const [deliveryId, mac] = token.split('.') as [string, string];
    const forged = `${deliveryId}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    expect(await caught(dispatcher.handleCallback(forged, json({ version: 'v1', approve: {} })))).toMatchObject({ code: 'callback_not_found', status: 404 });

    const r = await receiver();
    const done = await started();
    await done.dispatcher.createEndpoint({ name: 'ok', url: r.url, triggers: ['*'] });
    const ok = nextEvent(done.dispatcher, 'delivery.succeeded');
    await done.dispatcher.publish({ type: 't', data: {} });
    await ok;
    const delivered = JSON.parse(r.requests[0]!.body).callbackUrl.split('/').pop() as string;
    expect(await caught(done.dispatcher.handleCallback(delivered, json({ version: 'v1', approve: {} })))).toMatchObject({ code: 'callback_not_found' });
  });

  it('accepts an answer that races the 202, and the delivery ends succeeded', async () => {
    let answered: Promise<unknown> = Promise.resolve();
    const { dispatcher } = await started();
    const r = await receiver((req, res) => {
      const token = JSON.parse(req.body).callbackUrl.split('/').pop() as string;
      // The receiver answers on the callback URL before it answers the request itself.
      answered = dispatcher.handleCallback(token, json({ version: 'v1', approve: { comment: 'fast' } })).then(() => res.writeHead(202).end());
    });
    await dispatcher.createEndpoint({ name: 'fast', url: r.url, triggers: ['*'] });
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    const { messageId } = await dispatcher.publish({ type: 't', data: {} });
    await ok;
    await answered;
    expect((await dispatcher.getMessage(messageId)).deliveries[0]!.status).toBe('succeeded');
  });

  it('treats a 202 as success when the body carries no callback URL', async () => {
    const r = await receiver((_req, res) => res.writeHead(202).end());
    const { dispatcher } = await started();
    await dispatcher.createEndpoint({ name: 'tpl', url: r.url, triggers: ['*'], bodyTemplate: '{"id": "{{webhookId}}"}' });
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    await dispatcher.publish({ type: 't', data: {} });
    expect((await ok).delivery.status).toBe('succeeded');
  });
});

describe('test webhook, redelivery and history', () => {
  it('sends c1.webhooks.v1.PayloadTest to an inactive endpoint and returns the full request and response', async () => {
    const r = await receiver((_req, res) => res.writeHead(200, { 'x-receiver': 'yes' }).end('{"ok":true}'));
    const { dispatcher } = await setup();
    const { endpoint } = await dispatcher.createEndpoint({ name: 'off', url: r.url, triggers: ['*'], active: false });
    const attempt = await dispatcher.testEndpoint(endpoint.id);
    expect(attempt).toMatchObject({
      endpointId: endpoint.id, trigger: 'test', number: 1, succeeded: true,
      request: { method: 'POST', url: r.url },
      response: { status: 200, body: '{"ok":true}', truncated: false },
    });
    expect(attempt.response!.headers['x-receiver']).toBe('yes');
    expect(attempt.request.headers.authorization).toBe('[redacted]');
    expect(JSON.parse(attempt.request.body)).toMatchObject({
      version: 'v1', event: 'c1.webhooks.v1.PayloadTest', payload: { '@type': 'type.googleapis.com/c1.webhooks.v1.PayloadTest' },
    });
    expect(JSON.parse(r.requests[0]!.body).event).toBe('c1.webhooks.v1.PayloadTest');
    expect((await dispatcher.listAttempts({ endpointId: endpoint.id })).items).toEqual([attempt]);
    await dispatcher.stop();
  });

  it('reports a test against a refused destination as a failed attempt', async () => {
    const { dispatcher, store } = await setup();
    const { endpoint } = await dispatcher.createEndpoint({ name: 'local', url: 'http://127.0.0.1:9/hook', triggers: ['*'] });
    const strict = (await setup({ store, destinations: {} })).dispatcher;
    const attempt = await strict.testEndpoint(endpoint.id);
    expect(attempt.succeeded).toBe(false);
    expect(attempt.error?.code).toBe('destination_not_allowed');
    await dispatcher.stop();
    await strict.stop();
  });

  it('redelivers a message by hand with the manual trigger', async () => {
    const r = await receiver();
    const { dispatcher } = await started();
    const { endpoint } = await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const first = nextEvent(dispatcher, 'delivery.succeeded');
    const { messageId } = await dispatcher.publish({ type: 't', data: { v: 1 } });
    await first;
    const again = nextEvent(dispatcher, 'delivery.succeeded');
    expect(await dispatcher.redeliver(messageId, { endpointId: endpoint.id })).toEqual({ deliveries: 1 });
    await again;
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([messageId, messageId]);
    expect(r.requests[0]!.body).toBe(r.requests[1]!.body.replace(/callbacks\/[^"]+/, r.requests[0]!.body.match(/callbacks\/[^"]+/)![0]));
    const history = await dispatcher.listAttempts({ messageId });
    expect(history.items.map((a) => a.trigger).sort()).toEqual(['manual', 'scheduled']);
    expect((await dispatcher.getMessage(messageId)).deliveries).toHaveLength(2);
    expect(await caught(dispatcher.redeliver('msg_missing'))).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('purges attempts older than the retention period', async () => {
    const r = await receiver();
    const { dispatcher, time } = await started({ purgeIntervalMs: 60_000 });
    const { endpoint } = await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    const { messageId } = await dispatcher.publish({ type: 't', data: {} });
    await ok;
    expect((await dispatcher.listAttempts({ endpointId: endpoint.id })).items).toHaveLength(1);
    await settle();
    time.advance(8 * 86_400_000 + 120_000);
    await settle();
    await vi_waitFor(async () => (await dispatcher.listAttempts({ endpointId: endpoint.id })).items.length === 0);
    expect(await caught(dispatcher.getMessage(messageId))).toMatchObject({ code: 'not_found' });
  });
});

/** Polls a condition across I/O turns (bounded), for effects of background work with no event. */
async function vi_waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await tick();
  }
  throw new Error('condition never held');
}

describe('endpoints', () => {
  it('validates endpoints with coded errors naming the field', async () => {
    const { dispatcher } = await setup({ destinations: {} });
    const base = { name: 'n', url: 'https://hooks.example.com/x', triggers: ['*'] };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, method: 'PATCH' }, 'method'],
      [{ ...base, url: 'http://hooks.example.com/x' }, 'url'],
      [{ ...base, url: 'https://hooks.example.com:8443/x' }, 'url'],
      [{ ...base, headers: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`x-h${i}`, 'v'])) }, 'headers'],
      [{ ...base, headers: { 'Content-Length': '1' } }, 'headers.Content-Length'],
      [{ ...base, headers: { Authorization: 'Bearer x' } }, 'headers.Authorization'],
      [{ ...base, triggers: [] }, 'triggers'],
      [{ ...base, triggers: ['bad pattern*'] }, 'triggers'],
      [{ ...base, auth: { type: 'oauth' } }, 'auth'],
      [{ ...base, url: 'https://user:pw@hooks.example.com/x' }, 'url'],
    ];
    for (const [input, field] of cases) {
      const error = await caught(dispatcher.createEndpoint(input as never));
      expect(error.code, field).toBe('invalid_endpoint');
      expect(error.status).toBe(400);
      expect(JSON.stringify(error.details ?? {}), field).toContain(field.split('.')[0]!);
    }
    expect((await caught(dispatcher.createEndpoint({ ...base, bodyTemplate: '{"a": {{#if}}' }))).code).toBe('invalid_template');
    expect((await caught(dispatcher.createEndpoint({ ...base, filter: { '$[': 1 } }))).code).toBe('invalid_jsonpath');
    expect((await caught(dispatcher.createEndpoint({ ...base, headers: { Authorization: 'Bearer x' }, auth: { type: 'none' } }))).details).toMatchObject({
      field: 'headers.Authorization',
    });
    expect(await dispatcher.createEndpoint({ ...base, headers: { 'X-Team': 'blue' }, auth: { type: 'none' } })).toBeTruthy();
  });

  it('updates, deactivates, reactivates and deletes, keeping the secret when the scheme stays', async () => {
    const r = await receiver();
    const { dispatcher } = await started();
    const { endpoint, secret } = await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'], auth: { type: 'standard-webhooks' } });
    const renamed = await dispatcher.updateEndpoint(endpoint.id, { name: 'renamed', auth: { type: 'standard-webhooks' } });
    expect(renamed).toMatchObject({ name: 'renamed', auth: { type: 'standard-webhooks', hint: `whsec_…${secret!.slice(-4)}` } });
    expect(await dispatcher.updateEndpoint(endpoint.id, { active: false })).toMatchObject({ active: false });
    expect((await dispatcher.publish({ type: 't', data: {} })).deliveries).toBe(0);
    await dispatcher.updateEndpoint(endpoint.id, { active: true });
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    await dispatcher.publish({ type: 't', data: {} });
    await ok;
    const req = r.requests[0]!;
    const expected = createHmac('sha256', Buffer.from(secret!.slice(6), 'base64'))
      .update(`${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`).digest('base64');
    expect(req.headers['webhook-signature']).toBe(`v1,${expected}`);
    expect((await caught(dispatcher.updateEndpoint(endpoint.id, { auth: { type: 'hmac', header: 'x-sig' } }))).code).toBe('invalid_endpoint');
    await dispatcher.deleteEndpoint(endpoint.id);
    expect(await caught(dispatcher.getEndpoint(endpoint.id))).toMatchObject({ code: 'not_found', status: 404 });
    expect(await caught(dispatcher.deleteEndpoint(endpoint.id))).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('keeps tenants apart', async () => {
    const r = await receiver();
    const { dispatcher } = await started();
    const { endpoint } = await dispatcher.createEndpoint({ name: 'a', url: r.url, triggers: ['*'] }, 'acme');
    expect((await dispatcher.publish({ type: 't', data: {}, tenant: 'globex' })).deliveries).toBe(0);
    expect((await dispatcher.publish({ type: 't', data: {} })).deliveries).toBe(0);
    expect(await caught(dispatcher.getEndpoint(endpoint.id, 'globex'))).toMatchObject({ code: 'not_found' });
    expect(await caught(dispatcher.updateEndpoint(endpoint.id, { name: 'x' }, 'globex'))).toMatchObject({ code: 'not_found' });
    expect(await caught(dispatcher.deleteEndpoint(endpoint.id, 'globex'))).toMatchObject({ code: 'not_found' });
    expect(await caught(dispatcher.testEndpoint(endpoint.id, 'globex'))).toMatchObject({ code: 'not_found' });
    expect((await dispatcher.listEndpoints(undefined, 'globex')).items).toEqual([]);
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    const { messageId } = await dispatcher.publish({ type: 't', data: {}, tenant: 'acme' });
    await ok;
    expect((await dispatcher.listAttempts({ tenant: 'globex' })).items).toEqual([]);
    expect(await caught(dispatcher.getMessage(messageId, 'globex'))).toMatchObject({ code: 'not_found' });
    expect((await dispatcher.listAttempts({ tenant: 'acme' })).items).toHaveLength(1);
  });

  it('signs each tenant with its own issuer', async () => {
    const r = await receiver();
    const { signingKey } = await import('./helpers.js');
    const { dispatcher } = await started({ signing: { issuer: (tenant) => `${tenant}.acme.example`, keys: [await signingKey()] } });
    await dispatcher.createEndpoint({ name: 'a', url: r.url, triggers: ['*'] }, 'globex');
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    await dispatcher.publish({ type: 't', data: {}, tenant: 'globex' });
    await ok;
    const token = String(r.requests[0]!.headers.authorization).slice('Bearer '.length);
    const jwks = createLocalJWKSet((await dispatcher.jwks()) as Parameters<typeof createLocalJWKSet>[0]);
    expect((await jwtVerify(token, jwks, { issuer: 'globex.acme.example' })).payload.iss).toBe('globex.acme.example');
  });
});

describe('catalog and logs', () => {
  it('lists the event catalog with a schema and an example per type', async () => {
    const { dispatcher } = await setup();
    const types = dispatcher.eventTypes();
    const test = types.find((t) => t.type === 'c1.webhooks.v1.PayloadTest');
    expect(test).toMatchObject({ description: expect.any(String), schema: expect.any(Object) });
    expect(types.map((t) => t.type)).toContain('c1.webhooks.v1.PayloadProvisionStep');
  });

  it('never writes a secret, a token or a body to the log', async () => {
    const lines: string[] = [];
    const collect = (fields: Record<string, unknown>, message: string) => lines.push(`${message} ${JSON.stringify(fields)}`);
    const r = await receiver((_req, res) => res.writeHead(410).end('gone'));
    const { dispatcher } = await started({ logger: { info: collect, warn: collect, error: collect } });
    const { secret } = await dispatcher.createEndpoint({ name: 'sw', url: r.url, triggers: ['*'], auth: { type: 'standard-webhooks' } });
    await dispatcher.createEndpoint({ name: 'b', url: r.url, triggers: ['*'], auth: { type: 'bearer', token: 'tok_supersecretvalue' } });
    const disabled = nextEvent(dispatcher, 'endpoint.disabled');
    await dispatcher.publish({ type: 't', data: { marker: 'body-marker-123' } });
    await disabled;
    await settle();
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join('\n');
    for (const needle of [secret!.slice(6), 'tok_supersecretvalue', 'body-marker-123', 'Bearer', 'v1,']) expect(all).not.toContain(needle);
  });
});

describe('publish', () => {
  it('returns the first message for an idempotency key seen within 24 h', async () => {
    const r = await receiver();
    const { dispatcher, time } = await setup();
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const first = await dispatcher.publish({ type: 't', data: { n: 1 }, idempotencyKey: 'order-1' });
    expect(first).toMatchObject({ deliveries: 1, duplicate: false });
    time.advance(23 * 3_600_000);
    expect(await dispatcher.publish({ type: 't', data: { n: 2 }, idempotencyKey: 'order-1' })).toEqual({ messageId: first.messageId, deliveries: 1, duplicate: true });
    expect((await dispatcher.publish({ type: 't', data: { n: 1 }, idempotencyKey: 'order-1', tenant: 'other' })).duplicate).toBe(false);
    time.advance(2 * 3_600_000);
    const later = await dispatcher.publish({ type: 't', data: { n: 3 }, idempotencyKey: 'order-1' });
    expect(later.duplicate).toBe(false);
    expect(later.messageId).not.toBe(first.messageId);
  });

  it('refuses data over the payload limit with payload_too_large (413)', async () => {
    const { dispatcher } = await setup();
    const error = await caught(dispatcher.publish({ type: 't', data: { blob: 'x'.repeat(256 * 1024) } }));
    expect(error).toMatchObject({ code: 'payload_too_large', status: 413 });
    expect(await caught(dispatcher.publish({ type: '', data: {} }))).toMatchObject({ code: 'invalid_payload' });
    expect(await caught(dispatcher.publish({ type: 't', data: undefined as never }))).toMatchObject({ code: 'invalid_payload' });
  });
});

describe('workers', () => {
  it('never lets a hanging endpoint hold back another one', async () => {
    const hanging = await receiver(() => {
      /* never answers */
    });
    const healthy = await receiver();
    const { dispatcher } = await started({ requestTimeoutMs: 10_000, concurrency: 4, perEndpointConcurrency: 1, stopGraceMs: 50 });
    const slow = await dispatcher.createEndpoint({ name: 'slow', url: hanging.url, triggers: ['slow'] });
    await dispatcher.createEndpoint({ name: 'fast', url: healthy.url, triggers: ['fast'] });
    for (let i = 0; i < 5; i++) await dispatcher.publish({ type: 'slow', data: { i } });
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    await dispatcher.publish({ type: 'fast', data: {} });
    expect((await ok).delivery.endpointId).not.toBe(slow.endpoint.id);
    expect(hanging.requests).toHaveLength(1);
  });

  it('claims up to `prefetch` deliveries ahead of free send slots, yet never sends more than `concurrency` at once', async () => {
    const held: Array<() => void> = [];
    let open = 0;
    let most = 0;
    const r = await receiver((_req, res) => {
      open += 1;
      most = Math.max(most, open);
      held.push(() => {
        open -= 1;
        res.writeHead(200).end();
      });
    });
    const { dispatcher } = await started({ concurrency: 2, prefetch: 2, perEndpointConcurrency: 10 });
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await dispatcher.publish({ type: 't', data: { i } })).messageId);
    while (r.requests.length < 2) await tick();
    await settle();
    const leased = async () => {
      const deliveries = await Promise.all(ids.map(async (id) => (await dispatcher.getMessage(id)).deliveries[0]!));
      return deliveries.filter((d) => d.status === 'pending' && d.leaseOwner !== undefined).length;
    };
    // Two sending, two more claimed and queued under their leases, two left in the store for any worker.
    expect(r.requests).toHaveLength(2);
    expect(await leased()).toBe(4);
    const all = Promise.all(ids.map(async (id) => {
      while ((await dispatcher.getMessage(id)).deliveries[0]!.status !== 'succeeded') {
        held.splice(0).forEach((release) => release());
        await tick();
      }
    }));
    await all;
    expect(r.requests).toHaveLength(6);
    expect(most).toBe(2);
    expect(new Set(r.requests.map((q) => JSON.parse(q.body).payload.i))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
  });

  it('after a short claim (its endpoint at the limit), claims again once a batch of sends has finished, not after each', async () => {
    const store = new MemoryStore();
    let claims = 0;
    const claimDue = store.claimDue.bind(store);
    store.claimDue = (options) => {
      claims += 1;
      return claimDue(options);
    };
    const r = await receiver((_req, res) => setImmediate(() => res.writeHead(200).end()));
    const { dispatcher } = await setup({ store, concurrency: 8, prefetch: 8, perEndpointConcurrency: 8 });
    cleanup.push(() => dispatcher.stop());
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    for (let i = 0; i < 64; i++) await dispatcher.publish({ type: 't', data: { i } });
    const all = succeededTimes(dispatcher, 64);
    claims = 0;
    dispatcher.start();
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 3000))]);
    expect(r.requests).toHaveLength(64);
    // The endpoint's limit (8) caps every claim below the room (16): one claim per 4 finished sends, not one per send.
    expect(claims).toBeLessThanOrEqual(64 / 4 + 4);
  });

  it.each([
    ['a store that reports the next due time with a short claim', true],
    ['a store that does not', false],
  ])('at a low rate, with %s, claims once per delivery or claims again and asks when next due', async (_name, reports) => {
    const memory = new MemoryStore();
    // Counts the dispatcher's calls, not the store's calls to itself.
    const calls = { claims: 0, nextDue: 0 };
    const counted: Record<string, keyof typeof calls> = { claimDue: 'claims', claimDueWithNext: 'claims', nextDueAt: 'nextDue' };
    const store = new Proxy(memory, {
      get(target, property) {
        if (property === 'claimDueWithNext' && !reports) return undefined;
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        const counter = typeof property === 'string' ? counted[property] : undefined;
        return (...args: unknown[]) => {
          if (counter !== undefined) calls[counter] += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const r = await receiver();
    const { dispatcher } = await started({ store, pollIntervalMs: 600_000 });
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    await settle();
    Object.assign(calls, { claims: 0, nextDue: 0 });
    for (let i = 0; i < 5; i++) {
      const succeeded = nextEvent(dispatcher, 'delivery.succeeded');
      await dispatcher.publish({ type: 't', data: { i } });
      await succeeded;
      await settle();
    }
    expect(r.requests).toHaveLength(5);
    // Reported: one claim per publish, nothing after the send. Not reported: a claim after each send, found empty,
    // then the next due time asked for the idle wait.
    expect(calls).toEqual(reports ? { claims: 5, nextDue: 0 } : { claims: 10, nextDue: 5 });
  });

  it('with a store that takes finishes and a claim in one call, sends a backlog with about one call per turn of finished sends', async () => {
    const { store, calls } = finishingStore();
    const r = await receiver((_req, res) => setImmediate(() => res.writeHead(200).end()));
    const { dispatcher } = await setup({ store, concurrency: 8, prefetch: 8, perEndpointConcurrency: 4 });
    cleanup.push(() => dispatcher.stop());
    for (let e = 0; e < 4; e++) await dispatcher.createEndpoint({ name: `e${e}`, url: r.url, triggers: [`t.${e}`] });
    for (let i = 0; i < 96; i++) await dispatcher.publish({ type: `t.${i % 4}`, data: { i } });
    const all = succeededTimes(dispatcher, 96);
    Object.assign(calls, { finishThenClaim: 0, carried: 0, finishAttempt: 0, claims: 0 });
    dispatcher.start();
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 5000))]);
    expect(r.requests).toHaveLength(96);
    // Every finish went to the store once, most of them with a claim for the room they freed (the rest at the end,
    // once a claim had found nothing more to do).
    expect(calls.carried + calls.finishAttempt).toBe(96);
    expect(calls.carried).toBeGreaterThanOrEqual(72);
    // A claim of its own only to start, for finishes that waited on nothing, and the last, empty ones.
    expect(calls.claims).toBeLessThanOrEqual(6);
    expect(calls.finishThenClaim).toBeLessThan(96 / 2);
  });

  it('after a claim held back by the per-endpoint limit, finishes go alone, leaving the room they free to any worker', async () => {
    const { store, calls } = finishingStore();
    const r = await sendBacklog(store, calls, 24, { perEndpointConcurrency: 2 });
    expect(r.requests).toHaveLength(24);
    // Every claim took 2 of the 16 it had room for: none was full, so no finish went with one.
    expect(calls).toMatchObject({ carried: 0, finishAttempt: 24 });
  });

  it('with a store that passes room between processes, after a held-back claim finishes refill the room they free, now and then a batch claiming as usual', async () => {
    const { store, calls, asked, room } = sharingStore();
    const r = await sendBacklog(store, calls, 24, { perEndpointConcurrency: 2 });
    expect(r.requests).toHaveLength(24);
    // Each finish went to the store once, nearly all with a claim (the last ones may go alone once a claim has found
    // nothing more to do), each refill for no more than the room it freed (a claim of 16 alone took 2).
    expect(calls.carried + calls.finishAttempt).toBe(24);
    expect(calls.carried).toBeGreaterThanOrEqual(20);
    const refills = asked.filter((call) => call.refill);
    for (const call of refills) expect(call.limit).toBeLessThanOrEqual(call.carried);
    // Mostly refills; the claims as usual among them look for other endpoints' work now and then.
    expect(refills.length).toBeGreaterThanOrEqual(asked.length / 2);
    expect(refills.length).toBeLessThan(asked.length);
    // Holding 2 of its 8 send slots is not few (under a quarter): it never asked for room.
    expect(room.asks).toBe(0);
  });

  it('asked for room, leaves its next held-back batch\'s room to the race and tells the store once those finishes are in', async () => {
    const { store, calls, room, events, wantRoom } = sharingStore();
    const r = await sendBacklog(store, calls, 12, { perEndpointConcurrency: 2, pollIntervalMs: 50 }, async (started) => {
      while (started.requests.length === 0) await tick();
      wantRoom();
    });
    expect(r.requests).toHaveLength(12);
    // One batch went alone, and the store heard of the room only once its finishes were in.
    expect(room.given).toBe(1);
    expect(events.indexOf('finished')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('given')).toBeGreaterThan(events.indexOf('finished'));
    expect(calls.carried + calls.finishAttempt).toBe(12);
  });

  it('held back while holding under a quarter of its send slots, asks the other processes for room', async () => {
    const { store, calls, room } = sharingStore();
    const r = await sendBacklog(store, calls, 6, { perEndpointConcurrency: 1 });
    expect(r.requests).toHaveLength(6);
    expect(room.asks).toBeGreaterThanOrEqual(1);
  });

  it('with finishes waiting to go with a claim, a wake in between is answered by that claim alone, never lost', async () => {
    const { store, calls } = finishingStore();
    const held: Array<() => void> = [];
    const r = await receiver((_req, res) => held.push(() => res.writeHead(200).end()));
    // A 10-minute poll: whatever is sent here is sent because of a wake.
    const { dispatcher } = await started({ store, pollIntervalMs: 600_000 });
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    await dispatcher.publish({ type: 't', data: { n: 1 } });
    while (r.requests.length === 0) await tick();
    // The first send's outcome waits for the end of its turn; a publish lands (and wakes the store's listeners) just then.
    const original = globalThis.setImmediate;
    let published: Promise<unknown> | undefined;
    globalThis.setImmediate = ((callback: (...a: unknown[]) => void, ...args: unknown[]) => {
      if (published !== undefined || !String(callback).includes('flushFinishes')) return original(callback, ...args);
      published = dispatcher.publish({ type: 't', data: { n: 2 } });
      return original(() => void published!.then(() => callback(...args)));
    }) as typeof setImmediate;
    Object.assign(calls, { finishThenClaim: 0, carried: 0, finishAttempt: 0, claims: 0 });
    try {
      held.splice(0).forEach((release) => release());
      const deadline = Date.now() + 5000;
      while (r.requests.length < 2 && Date.now() < deadline) await tick();
    } finally {
      globalThis.setImmediate = original;
    }
    expect(published).toBeDefined();
    expect(r.requests.map((q) => JSON.parse(q.body).payload.n)).toEqual([1, 2]);
    // The second delivery came with the first one's finish; the wake started no claim of its own.
    expect(calls).toMatchObject({ finishThenClaim: 1, carried: 1, claims: 0 });
    held.splice(0).forEach((release) => release());
  });

  it('answers a store wake-up with whether it has room, so a store that wakes one process per publish can pass it on', async () => {
    const store = new MemoryStore();
    let listener: (() => boolean | void) | undefined;
    const onWake = store.onWake.bind(store);
    store.onWake = (wake) => {
      listener = wake;
      return onWake(wake);
    };
    const held: Array<() => void> = [];
    const r = await receiver((_req, res) => held.push(() => res.writeHead(200).end()));
    const { dispatcher } = await started({ store, concurrency: 1, prefetch: 0, perEndpointConcurrency: 10 });
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    expect(listener?.()).toBe(true);
    const succeeded = nextEvent(dispatcher, 'delivery.succeeded');
    await dispatcher.publish({ type: 't', data: {} });
    while (r.requests.length === 0) await tick();
    expect(listener?.()).toBe(false);
    held.splice(0).forEach((release) => release());
    await succeeded;
    await settle();
    expect(listener?.()).toBe(true);
    await dispatcher.stop();
    expect(listener?.()).toBe(false);
  });

  it('with nothing pending, polls with one claim each time and no next-due read', async () => {
    const memory = new MemoryStore();
    const calls = { claims: 0, nextDue: 0 };
    // As the Postgres store answers: a short claim with nothing pending carries no nextDueAt at all.
    const overrides: Partial<MemoryStore> = {
      claimDueWithNext: async (options) => {
        calls.claims += 1;
        const { deliveries, nextDueAt } = await memory.claimDueWithNext(options);
        return nextDueAt === undefined ? { deliveries } : { deliveries, nextDueAt };
      },
      nextDueAt: async () => {
        calls.nextDue += 1;
        return memory.nextDueAt();
      },
    };
    const store = new Proxy(memory, {
      get(target, property) {
        if (property in overrides) return overrides[property as keyof MemoryStore];
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { time } = await started({ store, pollIntervalMs: 1000 });
    await settle();
    Object.assign(calls, { claims: 0, nextDue: 0 });
    for (let i = 0; i < 3; i++) {
      time.advance(1000);
      await settle();
    }
    expect(calls).toEqual({ claims: 3, nextDue: 0 });
  });

  it('after a claim that found nothing more to do, still sends a retry when it falls due, long before the poll', async () => {
    const statuses = [500, 200];
    const r = await receiver((_req, res) => res.writeHead(statuses.shift() ?? 200).end());
    const { dispatcher, time } = await started({ pollIntervalMs: 600_000 });
    await dispatcher.createEndpoint({ name: 'flaky', url: r.url, triggers: ['*'] });
    const failed = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: {} });
    const { nextAttemptAt } = await failed;
    await settle();
    const succeeded = nextEvent(dispatcher, 'delivery.succeeded');
    time.advance(nextAttemptAt - time.now);
    expect((await succeeded).delivery.attemptCount).toBe(2);
  });

  it.each([
    ['prefetch 0', { prefetch: 0 }, 2],
    ['an in-process store by default', {}, 2],
    ['a store whose claims are round trips, by default', { store: Object.assign(new MemoryStore(), { claimsAhead: true }) }, 4],
  ])('with %s, leases only what it sends or claims ahead', async (_name, overrides, leases) => {
    const held: Array<() => void> = [];
    const r = await receiver((_req, res) => held.push(() => res.writeHead(200).end()));
    const { dispatcher } = await started({ concurrency: 2, perEndpointConcurrency: 10, ...overrides });
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await dispatcher.publish({ type: 't', data: { i } })).messageId);
    while (r.requests.length < 2) await tick();
    await settle();
    const deliveries = await Promise.all(ids.map(async (id) => (await dispatcher.getMessage(id)).deliveries[0]!));
    expect(deliveries.filter((d) => d.leaseOwner !== undefined)).toHaveLength(leases);
    expect(r.requests).toHaveLength(2);
    held.splice(0).forEach((release) => release());
  });

  it('never sends a queued delivery whose lease a renewal found gone', async () => {
    const store = new MemoryStore();
    const lost = new Set<string>();
    const renewLease = store.renewLease.bind(store);
    store.renewLease = async (deliveryId, owner, leaseExpiresAt) => (lost.has(deliveryId) ? false : renewLease(deliveryId, owner, leaseExpiresAt));
    const held: Array<() => void> = [];
    const r = await receiver((_req, res) => held.push(() => res.writeHead(200).end()));
    const { dispatcher, time } = await started({ store, concurrency: 1, prefetch: 1, perEndpointConcurrency: 10, leaseMs: 30_000 });
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const first = await dispatcher.publish({ type: 't', data: { i: 0 } });
    while (r.requests.length === 0) await tick();
    const second = await dispatcher.publish({ type: 't', data: { i: 1 } });
    await settle();
    const queued = (await dispatcher.getMessage(second.messageId)).deliveries[0]!;
    expect(queued.leaseOwner).toBeDefined();
    // Another worker took it over while it waited here.
    lost.add(queued.id);
    time.advance(15_000);
    await settle();
    held.splice(0).forEach((release) => release());
    while ((await dispatcher.getMessage(first.messageId)).deliveries[0]!.status !== 'succeeded') await tick();
    await settle();
    expect(r.requests.map((q) => JSON.parse(q.body).payload.i)).toEqual([0]);
  });

  it('stop() hands back the leases of queued deliveries at once, so another worker sends them', async () => {
    const r = await receiver(() => {
      /* never answers */
    });
    const { dispatcher } = await setup({ concurrency: 1, prefetch: 3, perEndpointConcurrency: 10, stopGraceMs: 20, requestTimeoutMs: 10_000 });
    dispatcher.start();
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await dispatcher.publish({ type: 't', data: { i } })).messageId);
    while (r.requests.length === 0) await tick();
    await settle();
    await dispatcher.stop();
    const deliveries = await Promise.all(ids.map(async (id) => (await dispatcher.getMessage(id)).deliveries[0]!));
    expect(r.requests).toHaveLength(1);
    expect(deliveries.map((d) => [d.status, d.attemptCount, d.leaseOwner])).toEqual(ids.map(() => ['pending', 0, undefined]));
  });

  it('stop() lets an in-flight send finish', async () => {
    const r = await receiver((_req, res) => setTimeout(() => res.writeHead(200).end(), 100));
    const { dispatcher } = await setup();
    dispatcher.start();
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const { messageId } = await dispatcher.publish({ type: 't', data: {} });
    while (r.requests.length === 0) await tick();
    await dispatcher.stop();
    expect((await dispatcher.getMessage(messageId)).deliveries[0]).toMatchObject({ status: 'succeeded', attemptCount: 1 });
  });

  it('stop() releases a send that outlives the grace period, so it stays due with no attempt', async () => {
    const r = await receiver(() => {
      /* never answers */
    });
    const { dispatcher } = await setup({ stopGraceMs: 20, requestTimeoutMs: 10_000 });
    dispatcher.start();
    await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const { messageId } = await dispatcher.publish({ type: 't', data: {} });
    while (r.requests.length === 0) await tick();
    await dispatcher.stop();
    const delivery = (await dispatcher.getMessage(messageId)).deliveries[0]!;
    expect(delivery).toMatchObject({ status: 'pending', attemptCount: 0 });
    expect(delivery.leaseOwner).toBeUndefined();
    expect((await dispatcher.listAttempts({ messageId })).items).toEqual([]);
  });

  it('renews the lease while a send is in flight, so another worker never sends it twice', async () => {
    let release: () => void = () => {};
    const r = await receiver((_req, res) => {
      release = () => res.writeHead(200).end();
    });
    const a = await started({ leaseMs: 30_000, requestTimeoutMs: 10_000 });
    const b = await setup({ store: a.store, clock: a.time.clock, timers: a.time.timers, leaseMs: 30_000 });
    b.dispatcher.start();
    cleanup.push(() => b.dispatcher.stop());
    await a.dispatcher.createEndpoint({ name: 'slow', url: r.url, triggers: ['*'] });
    const ok = nextEvent(a.dispatcher, 'delivery.succeeded');
    await a.dispatcher.publish({ type: 't', data: {} });
    while (r.requests.length === 0) await tick();
    for (let step = 0; step < 6; step++) {
      await settle();
      a.time.advance(15_000);
    }
    await settle();
    expect(r.requests).toHaveLength(1);
    release();
    await ok;
    expect(r.requests).toHaveLength(1);
  });

  it('disables an endpoint failing with no success for 5 days', async () => {
    const r = await receiver((_req, res) => res.writeHead(500).end());
    const { dispatcher, time } = await started({ retrySchedule: [0, 3 * 86_400, 3 * 86_400] });
    const { endpoint } = await dispatcher.createEndpoint({ name: 'dead', url: r.url, triggers: ['*'] });
    const f1 = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: {} });
    await f1;
    await vi_waitFor(async () => (await dispatcher.getEndpoint(endpoint.id)).failingSince !== undefined);
    const f2 = nextEvent(dispatcher, 'delivery.failed');
    await settle();
    time.advance(3 * 86_400_000);
    await f2;
    expect((await dispatcher.getEndpoint(endpoint.id)).active).toBe(true);
    const disabled = nextEvent(dispatcher, 'endpoint.disabled');
    await settle();
    time.advance(3 * 86_400_000);
    const event = await disabled;
    expect(event).toMatchObject({ reason: 'failing', endpoint: { id: endpoint.id, active: false, disabledReason: 'failing' } });
  });

  it('clears the failing mark on a success', async () => {
    const statuses = [500, 200];
    const r = await receiver((_req, res) => res.writeHead(statuses.shift() ?? 200).end());
    const { dispatcher, time } = await started();
    const { endpoint } = await dispatcher.createEndpoint({ name: 'e', url: r.url, triggers: ['*'] });
    const failed = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: {} });
    await failed;
    const ok = nextEvent(dispatcher, 'delivery.succeeded');
    await settle();
    time.advance(5_000);
    await ok;
    await vi_waitFor(async () => (await dispatcher.getEndpoint(endpoint.id)).failingSince === undefined);
  });
});
