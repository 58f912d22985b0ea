import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Hookline } from '../../src/contract.js';
import { createTestHookline, githubRequest, hookRequest } from '../../src/testing.js';
import { json } from './support.js';

let subscriber: Server;
let subscriberUrl: string;
const received: { method: string; url: string; body: string }[] = [];

beforeAll(async () => {
  subscriber = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => subscriber.listen(0, '127.0.0.1', resolve));
  subscriberUrl = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await new Promise((resolve) => subscriber.close(resolve));
});

let hooks: Hookline;
afterEach(async () => {
  await hooks?.close();
});

function admin(method: string, url: string, body?: unknown, tenant?: string) {
  return hooks.handleAdmin(hookRequest(method, url, body === undefined ? {} : { body: body as Record<string, unknown> }), tenant === undefined ? undefined : { tenant });
}

const endpointInput = () => ({ name: 'Jira', url: subscriberUrl, triggers: ['*'], auth: { type: 'standard-webhooks' } });

describe('admin API: endpoints', () => {
  it('creates (201, secret shown once), reads, lists, deactivates and deletes an endpoint', async () => {
    hooks = createTestHookline();
    const created = await admin('POST', '/admin/endpoints', endpointInput());
    expect(created.status).toBe(201);
    expect(created.headers['content-type']).toBe('application/json; charset=utf-8');
    const endpoint = json(created) as { id: string; secret: string; auth: { type: string; hint?: string }; active: boolean };
    expect(endpoint.secret).toMatch(/^whsec_/);
    expect(endpoint.auth.type).toBe('standard-webhooks');
    expect(endpoint.active).toBe(true);

    const read = json(await admin('GET', `/admin/endpoints/${endpoint.id}`)) as Record<string, unknown>;
    expect(read['id']).toBe(endpoint.id);
    expect(read['secret']).toBeUndefined();
    expect(JSON.stringify(read)).not.toContain(endpoint.secret);

    const list = json(await admin('GET', '/admin/endpoints?limit=10')) as { items: { id: string }[] };
    expect(list.items.map((item) => item.id)).toEqual([endpoint.id]);

    const patched = await admin('PATCH', `/admin/endpoints/${endpoint.id}`, { active: false });
    expect(patched.status).toBe(200);
    expect((json(patched) as { active: boolean }).active).toBe(false);

    const deleted = await admin('DELETE', `/admin/endpoints/${endpoint.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    const gone = await admin('GET', `/admin/endpoints/${endpoint.id}`);
    expect(gone.status).toBe(404);
    expect((json(gone) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('refuses an invalid endpoint with a 400 coded error', async () => {
    hooks = createTestHookline();
    const response = await admin('POST', '/admin/endpoints', { name: 'x', url: 'not a url', triggers: ['*'] });
    expect(response.status).toBe(400);
    expect(json(response)).toMatchObject({ error: { code: expect.stringMatching(/^invalid_/), message: expect.any(String) } });
  });

  it('sends a test webhook and shows it in the endpoint\'s paged history', async () => {
    hooks = createTestHookline();
    received.length = 0;
    const { id } = json(await admin('POST', '/admin/endpoints', endpointInput())) as { id: string };

    const test = await admin('POST', `/admin/endpoints/${id}/test`);
    expect(test.status).toBe(200);
    expect(json(test)).toMatchObject({ endpointId: id, trigger: 'test', succeeded: true, response: { status: 200 } });
    expect(received).toHaveLength(1);
    expect(received[0]!.body).toContain('c1.webhooks.v1.PayloadTest');

    const history = await admin('GET', `/admin/endpoints/${id}/attempts?limit=1`);
    expect(history.status).toBe(200);
    const page = json(history) as { items: { trigger: string; endpointId: string }[] };
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ trigger: 'test', endpointId: id });
  });

  it('answers 404 for the history of an unknown endpoint rather than an empty page', async () => {
    hooks = createTestHookline();
    const response = await admin('GET', '/admin/endpoints/ep_nope/attempts');
    expect(response.status).toBe(404);
  });

  it('refuses a limit outside 1..1000 with 400 bad_request', async () => {
    hooks = createTestHookline();
    for (const limit of ['0', '1001', 'ten', '1.5']) {
      const response = await admin('GET', `/admin/endpoints?limit=${limit}`);
      expect(response.status).toBe(400);
      expect(json(response)).toEqual({
        error: { code: 'bad_request', message: 'limit must be a whole number from 1 to 1000.', details: { parameter: 'limit' } },
      });
    }
  });

  it('scopes endpoints by the tenant the app passes: another tenant sees none and gets 404', async () => {
    hooks = createTestHookline();
    const { id } = json(await admin('POST', '/admin/endpoints', endpointInput(), 'acme')) as { id: string };
    expect((json(await admin('GET', '/admin/endpoints', undefined, 'globex')) as { items: unknown[] }).items).toEqual([]);
    expect((await admin('GET', `/admin/endpoints/${id}`, undefined, 'globex')).status).toBe(404);
    expect((await admin('GET', `/admin/endpoints/${id}`, undefined, 'acme')).status).toBe(200);
  });
});

describe('admin API: events and messages', () => {
  it('publishes (202), reads the message with its deliveries, and redelivers it', async () => {
    hooks = createTestHookline();
    const { id: endpointId } = json(await admin('POST', '/admin/endpoints', endpointInput())) as { id: string };

    const published = await admin('POST', '/admin/events', { type: 'c1.webhooks.v1.PayloadTest', data: {} });
    expect(published.status).toBe(202);
    const result = json(published) as { messageId: string; deliveries: number; duplicate: boolean };
    expect(result).toMatchObject({ deliveries: 1, duplicate: false });

    const message = await admin('GET', `/admin/messages/${result.messageId}`);
    expect(message.status).toBe(200);
    expect(json(message)).toMatchObject({
      message: { id: result.messageId, type: 'c1.webhooks.v1.PayloadTest', tenant: 'default' },
      deliveries: [{ endpointId, messageId: result.messageId }],
    });

    const redelivered = await admin('POST', `/admin/messages/${result.messageId}/redeliver`, { endpointId });
    expect(redelivered.status).toBe(202);
    expect(json(redelivered)).toEqual({ deliveries: 1 });

    const all = await admin('POST', `/admin/messages/${result.messageId}/redeliver`);
    expect(json(all)).toEqual({ deliveries: 1 });
  });

  it('refuses to publish into another tenant than the one the admin API is scoped to (403)', async () => {
    hooks = createTestHookline();
    const response = await admin('POST', '/admin/events', { type: 'x', data: {}, tenant: 'globex' }, 'acme');
    expect(response.status).toBe(403);
    expect(json(response)).toMatchObject({ error: { code: 'forbidden', details: { field: 'tenant' } } });
  });

  it('answers 404 for another tenant\'s message', async () => {
    hooks = createTestHookline();
    const { messageId } = json(await admin('POST', '/admin/events', { type: 'x', data: {} }, 'acme')) as { messageId: string };
    expect((await admin('GET', `/admin/messages/${messageId}`, undefined, 'globex')).status).toBe(404);
  });

  it('refuses a redeliver body that is not an object with 400 invalid_payload', async () => {
    hooks = createTestHookline();
    const response = await admin('POST', '/admin/messages/msg_x/redeliver', [1, 2]);
    expect(response.status).toBe(400);
    expect((json(response) as { error: { code: string } }).error.code).toBe('invalid_payload');
  });

  it('lists the event catalog', async () => {
    hooks = createTestHookline();
    const response = await admin('GET', '/admin/event-types');
    expect(response.status).toBe(200);
    const { items } = json(response) as { items: { type: string; schema: unknown; description: string }[] };
    expect(items.map((item) => item.type)).toContain('c1.webhooks.v1.PayloadTest');
    for (const item of items) expect(item.schema).toBeTypeOf('object');
  });
});

describe('admin API: inbound sources', () => {
  it('creates (201), reads, patches, lists and deletes a source, and its URL works in between', async () => {
    hooks = createTestHookline();
    const created = await admin('POST', '/admin/sources', { name: 'repo', platform: 'github', config: { secret: 'gh-secret-value' } });
    expect(created.status).toBe(201);
    const source = json(created) as { id: string; path: string; state: string; config: Record<string, unknown> };
    expect(source).toMatchObject({ state: 'unverified', config: { secret: '…alue' }, path: `/in/${source.id}` });

    const inbound = await hooks.handle(githubRequest({ url: source.path, secret: 'gh-secret-value', body: { zen: 'hi' } }));
    expect(inbound.status).toBe(200);
    expect((json(await admin('GET', `/admin/sources/${source.id}`)) as { state: string }).state).toBe('verified');

    const patched = await admin('PATCH', `/admin/sources/${source.id}`, { name: 'renamed' });
    expect((json(patched) as { name: string }).name).toBe('renamed');
    const list = json(await admin('GET', '/admin/sources')) as { items: { id: string }[] };
    expect(list.items.map((item) => item.id)).toEqual([source.id]);

    expect((await admin('DELETE', `/admin/sources/${source.id}`)).status).toBe(204);
    expect((await admin('GET', `/admin/sources/${source.id}`)).status).toBe(404);
  });

  it('refuses a source with a bad JSONPath (400 invalid_jsonpath) or a bad config (400 invalid_source)', async () => {
    hooks = createTestHookline();
    const badPath = await admin('POST', '/admin/sources', { name: 'x', platform: 'github', config: { secret: 's' }, matches: { 'no-dollar': 1 } });
    expect(badPath.status).toBe(400);
    expect((json(badPath) as { error: { code: string } }).error.code).toBe('invalid_jsonpath');
    const badConfig = await admin('POST', '/admin/sources', { name: 'x', platform: 'stripe', config: { secrets: [] } });
    expect(badConfig.status).toBe(400);
    expect((json(badConfig) as { error: { code: string } }).error.code).toBe('invalid_source');
  });
});

describe('admin API: request errors', () => {
  it('answers bad JSON 400 invalid_json without echoing the body', async () => {
    hooks = createTestHookline();
    const response = await hooks.handleAdmin(hookRequest('POST', '/admin/sources', { body: '{"secret": "hunter2"' }));
    expect(response.status).toBe(400);
    expect(json(response)).toEqual({ error: { code: 'invalid_json', message: 'The request body is not valid JSON.' } });
    expect(String(response.body)).not.toContain('hunter2');
  });

  it('answers a JSON body that is not an object 400 invalid_payload, and a missing one too', async () => {
    hooks = createTestHookline();
    for (const body of ['[]', '"text"', '']) {
      const response = await hooks.handleAdmin(hookRequest('POST', '/admin/endpoints', { body }));
      expect(response.status).toBe(400);
      expect((json(response) as { error: { code: string } }).error.code).toBe('invalid_payload');
    }
  });

  it('answers a declared non-JSON content type 415 unsupported_media_type', async () => {
    hooks = createTestHookline();
    const response = await hooks.handleAdmin(
      hookRequest('POST', '/admin/endpoints', { body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    );
    expect(response.status).toBe(415);
    expect((json(response) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
  });

  it('answers an oversize admin body 413 payload_too_large', async () => {
    hooks = createTestHookline({ maxRequestBodyBytes: 64 });
    const response = await admin('POST', '/admin/endpoints', { name: 'x'.repeat(100) });
    expect(response.status).toBe(413);
    expect(json(response)).toEqual({ error: { code: 'payload_too_large', message: 'The request body is larger than 64 bytes.', details: { limitBytes: 64 } } });
  });

  it('answers unknown admin routes 404 and wrong methods 405 with Allow', async () => {
    hooks = createTestHookline();
    const unknown = await admin('GET', '/admin/nothing');
    expect(unknown.status).toBe(404);
    expect(json(unknown)).toEqual({ error: { code: 'not_found', message: 'No such route.', details: { path: '/admin/nothing' } } });

    const wrong = await admin('PUT', '/admin/endpoints/ep_1');
    expect(wrong.status).toBe(405);
    expect(wrong.headers['allow']).toBe('GET, PATCH, DELETE');
    const collection = await admin('DELETE', '/admin/sources');
    expect(collection.headers['allow']).toBe('GET, POST');
  });

  it('does not serve public routes from the admin handler', async () => {
    hooks = createTestHookline();
    expect((await admin('GET', '/auth/v1/jwks')).status).toBe(404);
  });

  it('marks every admin answer no-store, errors included', async () => {
    hooks = createTestHookline();
    expect((await admin('GET', '/admin/endpoints')).headers['cache-control']).toBe('no-store');
    expect((await admin('GET', '/admin/nothing')).headers['cache-control']).toBe('no-store');
    expect((await admin('GET', '/admin/endpoints/ep_missing')).headers['cache-control']).toBe('no-store');
  });
});
