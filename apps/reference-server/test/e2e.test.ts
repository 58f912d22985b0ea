/**
 * End to end: the built reference server as a child process, the mock receiver as a real HTTP subscriber, everything
 * on 127.0.0.1. Each test uses its own mock (own behaviour) and its own endpoint on one shared server.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockReceiver, type MockReceiver } from '@hookline/mock-receiver';
import { ADMIN_TOKEN, eventually, request, spawnServer, tempDataDir, type ServerProcess } from './harness.js';

/** Shortened schedule: first try at once, then retries 0.3 s apart (±20 % jitter). */
const RETRY_SCHEDULE = '0,0.3,0.3,0.3,0.3';
const GITHUB_SECRET = 'gh-webhook-secret-for-e2e';
/** Source ids are capabilities (the inbound URL): the log test checks none was logged whole. */
const sourceIds: string[] = [];

let server: ServerProcess;
let data: ReturnType<typeof tempDataDir>;
const mocks: MockReceiver[] = [];
/** Endpoints the running test created: deleted after it, so the next test's events reach only its own. */
const endpoints: string[] = [];
let apono: { type: string; example: any };

async function mock(behaviour: Parameters<MockReceiver['setBehaviour']>[0] = {}): Promise<MockReceiver> {
  const receiver = await startMockReceiver({ jwksUrl: `${server.url}/auth/v1/jwks`, issuer: server.url, behaviour });
  mocks.push(receiver);
  return receiver;
}

async function createEndpoint(input: Record<string, unknown>): Promise<{ id: string; url: string }> {
  const created = await server.admin('POST', '/admin/endpoints', { auth: { type: 'jwt' }, triggers: [apono.type], ...input });
  expect(created.status).toBe(201);
  endpoints.push(created.json.id);
  return created.json;
}

async function publish(data: unknown, type = apono.type): Promise<string> {
  const published = await server.admin('POST', '/admin/events', { type, data });
  expect(published.status).toBe(202);
  return published.json.messageId as string;
}

beforeAll(async () => {
  data = tempDataDir();
  server = await spawnServer({ dataDir: data.dir, env: { HOOKLINE_RETRY_SCHEDULE: RETRY_SCHEDULE } });
  const catalog = await server.admin('GET', '/admin/event-types');
  const found = (catalog.json.items as Array<{ type: string; example: unknown }>).find((item) => /(^|\.)AccessRequestCreated$/.test(item.type));
  expect(found).toBeDefined();
  apono = found as { type: string; example: any };
});

afterEach(async () => {
  for (const id of endpoints.splice(0)) expect((await server.admin('DELETE', `/admin/endpoints/${id}`)).status).toBe(204);
});

afterAll(async () => {
  await Promise.all(mocks.map((receiver) => receiver.close()));
  const code = await server?.stop('SIGTERM');
  data?.remove();
  expect(code).toBe(0);
});

describe('reference server: routes and the admin token', () => {
  it('answers / and /healthz without a token', async () => {
    const health = await request('GET', `${server.url}/healthz`);
    expect(health).toEqual({ status: 200, json: { status: 'ok', store: 'sqlite' } });
    const info = await request('GET', `${server.url}/`);
    expect(info.status).toBe(200);
    expect(info.json.jwks).toEqual([`${server.url}/auth/v1/jwks`, `${server.url}/.well-known/jwks.json`]);
  });

  it('answers a request target that is not a path with a coded 400', async () => {
    const answer = await request('GET', `${server.url}//`);
    expect(answer).toEqual({ status: 400, json: { error: { code: 'bad_request', message: 'The request target is not a valid path.' } } });
  });

  it('serves the JWKS publicly at both paths', async () => {
    const a = await request('GET', `${server.url}/auth/v1/jwks`);
    const b = await request('GET', `${server.url}/.well-known/jwks.json`);
    expect(a.status).toBe(200);
    expect(a.json.keys).toHaveLength(1);
    expect(a.json.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' });
    expect(a.json.keys[0].d).toBeUndefined();
    expect(b.json).toEqual(a.json);
  });

  it('refuses the admin API without the token, with a wrong one, and with another scheme (401, coded)', async () => {
    const none = await request('GET', `${server.url}/admin/endpoints`);
    const wrong = await request('GET', `${server.url}/admin/endpoints`, undefined, { authorization: 'Bearer not-the-token' });
    const basic = await request('GET', `${server.url}/admin/endpoints`, undefined, { authorization: `Basic ${ADMIN_TOKEN}` });
    for (const answer of [none, wrong, basic]) {
      expect(answer).toEqual({ status: 401, json: { error: { code: 'unauthorized', message: 'Send the admin token as "Authorization: Bearer <token>".' } } });
    }
    expect((await server.admin('GET', '/admin/endpoints')).status).toBe(200);
  });
});

describe('reference server: sending', () => {
  it('renders a Handlebars template for an Apono event and the mock verifies the JWT through the JWKS', async () => {
    const receiver = await mock();
    const template = '{"ticket":"{{data.friendly_id}}","requester":"{{data.requester.email}}","type":"{{event_type}}","id":"{{webhookId}}"}';
    const endpoint = await createEndpoint({ name: 'template', url: `${receiver.url}/tickets`, bodyTemplate: template });
    const messageId = await publish(apono.example);

    const webhook = await eventually(() => receiver.received().webhooks[0], 10_000, 'a delivery');
    expect(webhook.json).toEqual({ ticket: 'AR-123', requester: 'user@example.com', type: apono.type, id: messageId });
    expect(webhook.path).toBe('/tickets');
    expect(webhook.webhookId).toBe(messageId);
    expect(webhook.verification).toMatchObject({
      scheme: 'jwt',
      verified: true,
      claims: { iss: server.url, c1typ: 'wh', htm: 'POST', htu: endpoint.url, aud: new URL(receiver.url).host },
    });
    expect(webhook.response.status).toBe(200);
  });

  it('retries on failures following the shortened schedule and keeps each attempt with its request and response', async () => {
    const receiver = await mock({ failTimes: 2, failStatus: 503 });
    const endpoint = await createEndpoint({ name: 'flaky', url: `${receiver.url}/flaky` });
    const messageId = await publish(apono.example);

    await eventually(() => (receiver.received().accepted.includes(messageId) ? true : undefined), 10_000, 'the third try');
    const history = await eventually(async () => {
      const page = await server.admin('GET', `/admin/endpoints/${endpoint.id}/attempts`);
      return page.json.items.length === 3 ? page.json.items : undefined;
    }, 5_000, 'three attempts in the history');
    const attempts = [...history].sort((a: any, b: any) => a.number - b.number);
    expect(attempts.map((a: any) => [a.number, a.trigger, a.response?.status, a.succeeded])).toEqual([
      [1, 'scheduled', 503, false],
      [2, 'scheduled', 503, false],
      [3, 'scheduled', 200, true],
    ]);
    for (const attempt of attempts) {
      expect(attempt.messageId).toBe(messageId);
      expect(attempt.request).toMatchObject({ method: 'POST', url: `${receiver.url}/flaky` });
      expect(attempt.request.headers.authorization).toBe('[redacted]');
      expect(JSON.parse(attempt.request.body)).toMatchObject({ version: 'v1', webhookId: messageId, event: apono.type });
    }
    expect(JSON.parse(attempts[0].response.body)).toEqual({ error: 'failing as told', failuresLeft: 1 });
    expect(JSON.parse(attempts[2].response.body)).toEqual({ received: true, seq: 3 });
    // Each retry waited its scheduled 0.3 s, less at most the 20 % jitter.
    expect(attempts[1].startedAt - attempts[0].startedAt).toBeGreaterThanOrEqual(240);
    expect(attempts[2].startedAt - attempts[1].startedAt).toBeGreaterThanOrEqual(240);
    const message = await server.admin('GET', `/admin/messages/${messageId}`);
    expect(message.json.deliveries.map((d: any) => [d.endpointId, d.status, d.attemptCount])).toEqual([[endpoint.id, 'succeeded', 3]]);
  });

  it('202 then callback: the app handler sees the approval, and a second answer is refused', async () => {
    const receiver = await mock({ answer: 'accepted', callback: { decision: 'approve', delayMs: 50, comment: 'approved by the mock' } });
    const endpoint = await createEndpoint({ name: 'async', url: `${receiver.url}/async` });
    const messageId = await publish(apono.example);

    const callback = await eventually(() => receiver.received().callbacks[0], 10_000, 'the callback');
    expect(callback.status).toBe(202);
    const handled = await eventually(async () => {
      const list = await server.admin('GET', '/admin/callbacks');
      return list.json.items.find((item: any) => item.messageId === messageId);
    }, 5_000, 'the app to see the callback');
    expect(handled).toMatchObject({ messageId, endpointId: endpoint.id, decision: 'approve', comment: 'approved by the mock' });
    await server.waitForLine((line) => line.includes('"msg":"callback answer handled"') && line.includes(messageId), 5_000);

    const again = await request('POST', callback.url, { version: 'v1', deny: { comment: 'too late' } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('callback_already_answered');
    const message = await server.admin('GET', `/admin/messages/${messageId}`);
    expect(message.json.deliveries[0].status).toBe('succeeded');
  });

  it('a 410 from the receiver disables the endpoint and cancels the delivery', async () => {
    const receiver = await mock({ answer: 'gone' });
    const endpoint = await createEndpoint({ name: 'gone', url: `${receiver.url}/gone` });
    const messageId = await publish(apono.example);
    const disabled = await eventually(async () => {
      const current = await server.admin('GET', `/admin/endpoints/${endpoint.id}`);
      return current.json.active === false ? current.json : undefined;
    }, 10_000, 'the endpoint to be disabled');
    expect(disabled.disabledReason).toBe('gone');
    const message = await server.admin('GET', `/admin/messages/${messageId}`);
    expect(message.json.deliveries.map((d: any) => [d.status, d.attemptCount])).toEqual([['cancelled', 1]]);
    expect(receiver.received().webhooks.map((w) => w.response.status)).toEqual([410]);
    await server.waitForLine((line) => line.includes('"msg":"Endpoint disabled."') && line.includes(endpoint.id), 5_000);
  });

  it('test webhook: the admin API answers with the receiver\'s response', async () => {
    const receiver = await mock({ failTimes: 1, failStatus: 418 });
    const endpoint = await createEndpoint({ name: 'test-me', url: `${receiver.url}/test` });
    const first = await server.admin('POST', `/admin/endpoints/${endpoint.id}/test`);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ trigger: 'test', succeeded: false, response: { status: 418 } });
    expect(JSON.parse(first.json.response.body)).toEqual({ error: 'failing as told', failuresLeft: 0 });
    const second = await server.admin('POST', `/admin/endpoints/${endpoint.id}/test`);
    expect(second.json).toMatchObject({ trigger: 'test', succeeded: true, response: { status: 200 } });
    expect(JSON.parse(second.json.response.body)).toEqual({ received: true, seq: 2 });
    expect(JSON.parse(second.json.request.body)).toMatchObject({ version: 'v1', event: 'c1.webhooks.v1.PayloadTest' });
    expect(receiver.received().webhooks[1]!.verification).toMatchObject({ scheme: 'jwt', verified: true });
  });
});

describe('reference server: receiving', () => {
  function githubRequest(sourcePath: string, payload: unknown, delivery: string, secret = GITHUB_SECRET) {
    const body = JSON.stringify(payload);
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    return request('POST', `${server.url}${sourcePath}`, body, {
      'x-github-event': 'issues', 'x-github-delivery': delivery, 'x-hub-signature-256': signature,
    });
  }

  it('hands a GitHub webhook signed as GitHub signs to the matching handler; a bad signature gets 401', async () => {
    const created = await server.admin('POST', '/admin/sources', {
      name: 'github issues', platform: 'github', config: { secret: GITHUB_SECRET }, matches: { '$.action': 'opened' },
    });
    expect(created.status).toBe(201);
    const source = created.json as { id: string; path: string; config: Record<string, unknown> };
    expect(JSON.stringify(source.config)).not.toContain(GITHUB_SECRET);
    sourceIds.push(source.id);
    const path = `/in/${source.id}`;

    const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];
    const opened = await githubRequest(path, { action: 'opened', issue: { number: 7, title: 'e2e' } }, first);
    expect(opened).toEqual({ status: 200, json: { status: 'accepted', id: first } });
    const closed = await githubRequest(path, { action: 'closed', issue: { number: 8 } }, second);
    expect(closed).toEqual({ status: 200, json: { status: 'ignored', reason: 'unmatched', id: second } });
    const forged = await githubRequest(path, { action: 'opened', issue: { number: 9 } }, third, 'not-the-secret');
    expect(forged.status).toBe(401);
    expect(forged.json.error.code).toBe('signature_mismatch');
    const replayed = await githubRequest(path, { action: 'opened', issue: { number: 7, title: 'e2e' } }, first);
    expect(replayed).toEqual({ status: 200, json: { status: 'duplicate', id: first } });

    const events = await eventually(async () => {
      const list = await server.admin('GET', '/admin/inbound-events');
      const mine = list.json.items.filter((item: any) => item.sourceId === source.id);
      return mine.length > 0 ? mine : undefined;
    }, 5_000, 'the handler to see the event');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ sourceId: source.id, platform: 'github', id: first, payload: { action: 'opened', issue: { number: 7 } }, unverified: { 'x-github-event': 'issues' } });
    const state = await server.admin('GET', `/admin/sources/${source.id}`);
    expect(state.json.state).toBe('verified');
  });
});

describe('reference server: logs', () => {
  it('prints the admin token for the operator, and never logs it, a JWT, a callback token, a source id or an inbound secret', () => {
    expect(server.lines).toContain(`  admin token  ${ADMIN_TOKEN} (from HOOKLINE_ADMIN_TOKEN)`);
    const all = server.lines.filter((line) => line.startsWith('{')).join('\n');
    expect(all).not.toContain(ADMIN_TOKEN);
    expect(all).not.toContain(GITHUB_SECRET);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    expect(all).not.toMatch(/\/callbacks\/(?!\[redacted\])[A-Za-z0-9_-]{8,}/);
    expect(sourceIds).toHaveLength(1);
    for (const id of sourceIds) expect(all).not.toContain(id);
    expect(all).toContain('"path":"/in/src_…');
    const records = server.logs();
    expect(records.some((record) => record.msg === 'request')).toBe(true);
  });
});
