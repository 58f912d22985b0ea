/**
 * The one behaviour suite every adapter passes (imported by relative path from the Koa and NestJS tests): a real
 * hookline on the in-memory store, the framework on port 0, real HTTP. The same requests must get the same statuses
 * and bodies everywhere, so every case pins the exact answer. Providers' requests are signed here with node:crypto.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '@hookline/store';
import { createHookline, silentLogger, type Hookline, type InboundEvent } from 'hookline';
import { originOf, type ServerOptions, type StartServer } from './harness.js';

const SECRET_KEY = '6f'.repeat(32);
const GITHUB_SECRET = "It's a Secret to Everybody";
const STRIPE_SECRET = 'whsec_behaviour_suite_stripe_secret';
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const META_SECRET = 'meta-app-secret';
const META_VERIFY_TOKEN = 'meta-verify-token';
const MiB = 1024 * 1024;

type Answer = { status: number; contentType: string | null; body: unknown };
type Headers = Record<string, string>;

const hmacHex = (secret: string, ...parts: string[]) => parts.reduce((mac, part) => mac.update(part), createHmac('sha256', secret)).digest('hex');
const nowSeconds = () => Math.floor(Date.now() / 1000);

function githubHeaders(body: string, delivery: string, secret = GITHUB_SECRET): Headers {
  return { 'content-type': 'application/json', 'x-github-delivery': delivery, 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmacHex(secret, body)}` };
}
function stripeHeaders(body: string, timestamp = nowSeconds()): Headers {
  return { 'content-type': 'application/json', 'stripe-signature': `t=${timestamp},v1=${hmacHex(STRIPE_SECRET, `${timestamp}.`, body)}` };
}
function slackHeaders(body: string, contentType = 'application/json', timestamp = nowSeconds()): Headers {
  return { 'content-type': contentType, 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': `v0=${hmacHex(SLACK_SECRET, `v0:${timestamp}:`, body)}` };
}
const tooLarge = (limitBytes: number) => ({ error: { code: 'payload_too_large', message: `The request body is larger than ${limitBytes} bytes.`, details: { limitBytes } } });

/** A subscriber that answers 202 (an asynchronous answer will follow) and keeps the callback URLs it was given. */
async function startSubscriber() {
  const callbackUrls: string[] = [];
  const waiting: Array<(url: string) => void> = [];
  const server: HttpServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { callbackUrl } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { callbackUrl: string };
      const waiter = waiting.shift();
      if (waiter) waiter(callbackUrl); else callbackUrls.push(callbackUrl);
      res.writeHead(202).end();
    });
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `${originOf(server.address())}/subscriber`,
    nextCallbackUrl: () => new Promise<string>((resolve) => { const ready = callbackUrls.shift(); if (ready) resolve(ready); else waiting.push(resolve); }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function runBehaviourSuite(name: string, start: StartServer): void {
  describe.each([
    { parser: 'none' as const, label: 'no app body parser' },
    { parser: 'keeps-raw-body' as const, label: 'an app JSON/form parser keeping the raw body' },
  ])(`${name}: hookline's routes over real HTTP with $label`, ({ parser }) => {
    let hooks: Hookline;
    let base: string;
    let close: () => Promise<void>;
    let subscriber: Awaited<ReturnType<typeof startSubscriber>>;

    const call = async (method: string, path: string, init: { body?: string | Uint8Array; headers?: Headers } = {}): Promise<Answer> => {
      const response = await fetch(`${base}/hooks${path}`, { method, headers: init.headers ?? {}, ...(init.body === undefined ? {} : { body: init.body }) });
      const text = await response.text();
      const contentType = response.headers.get('content-type');
      return { status: response.status, contentType, body: contentType?.startsWith('application/json') ? JSON.parse(text) : text };
    };
    const admin = (method: string, path: string, body?: unknown, tenant = 'acme') =>
      call(method, `/admin${path}`, { headers: { 'x-tenant': tenant, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const createSource = async (platform: string, config: Record<string, unknown>) => {
      const answer = await admin('POST', '/sources', { name: `${platform} source`, platform, config });
      expect(answer.status).toBe(201);
      return answer.body as { id: string; path: string; state: string };
    };

    beforeAll(async () => {
      subscriber = await startSubscriber();
      hooks = createHookline({
        store: new MemoryStore(), secretKey: SECRET_KEY, logger: silentLogger, publicUrl: 'https://app.example.test/hooks',
        destinations: { allowHttp: true, allowPrivateNetworks: true }, retrySchedule: [0], pollIntervalMs: 50,
      });
      hooks.start();
      const options: ServerOptions = { bodyParser: parser, authorize: (headers) => (typeof headers['x-tenant'] === 'string' ? headers['x-tenant'] : undefined) };
      ({ url: base, close } = await start(hooks, options));
    });
    afterAll(async () => {
      await close();
      await hooks.close();
      await subscriber.close();
    });

    describe('routes', () => {
      it('serves the same JWKS at /auth/v1/jwks and /.well-known/jwks.json, public keys only', async () => {
        const first = await call('GET', '/auth/v1/jwks');
        const second = await call('GET', '/.well-known/jwks.json');
        expect(first.status).toBe(200);
        expect(first.contentType).toBe('application/json; charset=utf-8');
        expect(second).toEqual(first);
        const { keys } = first.body as { keys: Array<Record<string, unknown>> };
        expect(keys.length).toBeGreaterThan(0);
        expect(keys.every((key) => typeof key['kid'] === 'string' && key['d'] === undefined)).toBe(true);
      });

      it('answers an unknown route 404 not_found', async () => {
        const answer = await call('GET', '/nowhere');
        expect([answer.status, (answer.body as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
      });

      it('answers a wrong method 405 method_not_allowed', async () => {
        const answer = await call('DELETE', '/auth/v1/jwks');
        expect([answer.status, (answer.body as { error: { code: string } }).error.code]).toEqual([405, 'method_not_allowed']);
      });
    });

    describe('inbound webhooks', () => {
      it('accepts a signed GitHub delivery, hands it to the app, and marks the source verified', async () => {
        const source = await createSource('github', { secret: GITHUB_SECRET });
        expect(source.state).toBe('unverified');
        const body = '{"ref":"refs/heads/main", "commits":[]}';
        const delivery = randomUUID();
        const received = hooks.waitFor(source.id, { timeoutMs: 5000 });
        expect(await call('POST', source.path, { body, headers: githubHeaders(body, delivery) }))
          .toEqual({ status: 200, contentType: 'application/json; charset=utf-8', body: { status: 'accepted', id: delivery } });
        const event: InboundEvent = await received;
        expect([event.payload, Buffer.from(event.rawBody).toString('utf8'), event.id]).toEqual([{ ref: 'refs/heads/main', commits: [] }, body, delivery]);
        expect(((await admin('GET', `/sources/${source.id}`)).body as { state: string }).state).toBe('verified');
      });

      it('answers a replayed GitHub delivery as a duplicate and hands it over only once', async () => {
        const source = await createSource('github', { secret: GITHUB_SECRET });
        const body = '{"action":"opened"}';
        const delivery = randomUUID();
        const seen: string[] = [];
        const stop = hooks.on(source.id, (event) => { seen.push(String(event.id)); });
        expect((await call('POST', source.path, { body, headers: githubHeaders(body, delivery) })).body).toEqual({ status: 'accepted', id: delivery });
        expect(await call('POST', source.path, { body, headers: githubHeaders(body, delivery) }))
          .toEqual({ status: 200, contentType: 'application/json; charset=utf-8', body: { status: 'duplicate', id: delivery } });
        stop();
        expect(seen).toEqual([delivery]);
      });

      it('refuses a GitHub delivery signed with another secret: 401 signature_mismatch', async () => {
        const source = await createSource('github', { secret: GITHUB_SECRET });
        const body = '{"action":"opened"}';
        const answer = await call('POST', source.path, { body, headers: githubHeaders(body, randomUUID(), 'not the secret') });
        expect([answer.status, (answer.body as { error: { code: string } }).error.code]).toEqual([401, 'signature_mismatch']);
      });

      it('refuses a GitHub delivery whose body changed by one byte after signing', async () => {
        const source = await createSource('github', { secret: GITHUB_SECRET });
        const body = '{"action":"opened"}';
        const answer = await call('POST', source.path, { body: body.replace('opened', 'closed'), headers: githubHeaders(body, randomUUID()) });
        expect([answer.status, (answer.body as { error: { code: string } }).error.code]).toEqual([401, 'signature_mismatch']);
      });

      it('accepts a signed Stripe event and refuses one signed outside the tolerance', async () => {
        const source = await createSource('stripe', { secret: STRIPE_SECRET });
        const body = JSON.stringify({ id: 'evt_behaviour_1', type: 'payment_intent.succeeded', data: { object: {} } });
        expect((await call('POST', source.path, { body, headers: stripeHeaders(body) })).body).toEqual({ status: 'accepted', id: 'evt_behaviour_1' });
        const stale = await call('POST', source.path, { body, headers: stripeHeaders(body, nowSeconds() - 3600) });
        expect([stale.status, (stale.body as { error: { code: string } }).error.code]).toEqual([401, 'timestamp_out_of_window']);
      });

      it('answers Slack\'s url_verification challenge after checking its signature', async () => {
        const source = await createSource('slack', { secret: SLACK_SECRET });
        const body = JSON.stringify({ token: 'legacy', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
        const answer = await call('POST', source.path, { body, headers: slackHeaders(body) });
        expect([answer.status, answer.body]).toEqual([200, { challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' }]);
        const unsigned = await call('POST', source.path, { body, headers: { 'content-type': 'application/json' } });
        expect(unsigned.status).toBe(400);
        expect((unsigned.body as { error: { code: string } }).error.code).toBe('missing_header');
      });

      it('verifies a Slack slash command form byte for byte', async () => {
        const source = await createSource('slack', { secret: SLACK_SECRET });
        const body = 'token=x&team_id=T1&command=%2Fdeploy&text=api+v2+%E2%9C%93';
        const answer = await call('POST', source.path, { body, headers: slackHeaders(body, 'application/x-www-form-urlencoded') });
        expect([answer.status, (answer.body as { status: string }).status]).toEqual([200, 'accepted']);
      });

      it('answers Meta\'s hub.challenge only with the right verify token', async () => {
        const source = await createSource('meta', { secret: META_SECRET, verifyToken: META_VERIFY_TOKEN });
        const query = (token: string) => new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': '1158201444' });
        const answer = await call('GET', `${source.path}?${query(META_VERIFY_TOKEN)}`);
        expect([answer.status, answer.body]).toEqual([200, '1158201444']);
        const wrong = await call('GET', `${source.path}?${query('guess')}`);
        expect([wrong.status, (wrong.body as { error: { code: string } }).error.code]).toEqual([403, 'challenge_failed']);
      });

      it('refuses a body over 1 MiB with 413 payload_too_large before verifying it', async () => {
        const source = await createSource('github', { secret: GITHUB_SECRET });
        const body = JSON.stringify({ pad: 'x'.repeat(MiB) });
        expect(await call('POST', source.path, { body, headers: githubHeaders(body, randomUUID()) }))
          .toEqual({ status: 413, contentType: 'application/json; charset=utf-8', body: tooLarge(MiB) });
      });

      it('answers an unknown source 404 not_found', async () => {
        const body = '{}';
        const answer = await call('POST', '/in/src_doesnotexist', { body, headers: githubHeaders(body, randomUUID()) });
        expect([answer.status, (answer.body as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
      });

      it('refuses a malformed signature header with 400 malformed_header', async () => {
        const source = await createSource('standard-webhooks', { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
        const answer = await call('POST', source.path, {
          body: '{"type":"invoice.paid"}',
          headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1', 'webhook-timestamp': String(nowSeconds()), 'webhook-signature': 'no-comma-here' },
        });
        expect([answer.status, (answer.body as { error: { code: string } }).error.code]).toEqual([400, 'malformed_header']);
      });
    });

    describe('callbacks', () => {
      let endpointId: string;
      beforeAll(async () => {
        const created = await admin('POST', '/endpoints', { name: 'approvals', url: subscriber.url, triggers: ['*'], auth: { type: 'none' } });
        expect(created.status).toBe(201);
        endpointId = (created.body as { id: string }).id;
      });
      const awaitCallbackPath = async () => {
        const published = await admin('POST', '/events', { type: 'access.request.created', data: { requestId: randomUUID() } });
        expect([published.status, (published.body as { deliveries: number }).deliveries]).toEqual([202, 1]);
        return new URL(await subscriber.nextCallbackUrl()).pathname.replace(/^\/hooks/, '');
      };

      it.each([
        { decision: 'approve', body: { version: 'v1', approve: { comment: 'ok' } } },
        { decision: 'deny', body: { version: 'v1', deny: { comment: 'no' } } },
        { decision: 'reassign', body: { version: 'v1', reassign: { newStepUserIds: ['u_1', 'u_2'] } } },
      ])('accepts a $decision answer once with 202, then 409 callback_already_answered', async ({ decision, body }) => {
        expect(endpointId).toMatch(/./);
        const path = await awaitCallbackPath();
        const headers = { 'content-type': 'application/json' };
        expect(await call('POST', path, { body: JSON.stringify(body), headers }))
          .toEqual({ status: 202, contentType: 'application/json; charset=utf-8', body: { status: 'accepted', decision } });
        const again = await call('POST', path, { body: JSON.stringify(body), headers });
        expect([again.status, (again.body as { error: { code: string } }).error.code]).toEqual([409, 'callback_already_answered']);
      });

      it('refuses an answer that is not exactly one decision with 400 invalid_callback', async () => {
        const path = await awaitCallbackPath();
        const answer = await call('POST', path, { body: JSON.stringify({ version: 'v1', approve: {}, deny: {} }), headers: { 'content-type': 'application/json' } });
        expect([answer.status, (answer.body as { error: { code: string } }).error.code]).toEqual([400, 'invalid_callback']);
      });

      it('refuses a reassign without users with 400 invalid_callback', async () => {
        const path = await awaitCallbackPath();
        const answer = await call('POST', path, { body: JSON.stringify({ version: 'v1', reassign: { newStepUserIds: [] } }), headers: { 'content-type': 'application/json' } });
        expect([answer.status, (answer.body as { error: { code: string } }).error.code]).toEqual([400, 'invalid_callback']);
      });

      it('refuses a callback body that is not JSON with 400 invalid_callback (or the app parser\'s 400)', async () => {
        const path = await awaitCallbackPath();
        const answer = await call('POST', path, { body: '{"version":"v1","approve":', headers: { 'content-type': 'application/json' } });
        expect(answer.status).toBe(400);
        if (parser === 'none') expect((answer.body as { error: { code: string } }).error.code).toBe('invalid_callback');
        const body = JSON.stringify({ version: 'v1', approve: {} });
        expect((await call('POST', path, { body, headers: { 'content-type': 'application/json' } })).status).toBe(202);
      });

      it('answers an unknown callback token 404 callback_not_found', async () => {
        const answer = await call('POST', `/callbacks/${'A'.repeat(43)}`, { body: '{"approve":{}}', headers: { 'content-type': 'application/json' } });
        expect(answer).toEqual({ status: 404, contentType: 'application/json; charset=utf-8', body: { error: { code: 'callback_not_found', message: 'No callback is waiting at this URL.' } } });
      });
    });

    describe('admin API behind the app\'s own check', () => {
      it('refuses a caller the app does not authorise with 401 unauthorized', async () => {
        const answer = await call('GET', '/admin/endpoints');
        expect(answer).toEqual({ status: 401, contentType: 'application/json; charset=utf-8', body: { error: { code: 'unauthorized', message: 'The admin API needs an authorised caller.' } } });
      });

      it('creates, reads, updates, lists and deletes an endpoint within the tenant', async () => {
        const created = await admin('POST', '/endpoints', { name: 'crm', url: 'https://crm.example.com/hooks', triggers: ['user.created'] }, 'crud');
        expect(created.status).toBe(201);
        const endpoint = created.body as { id: string; name: string };
        expect(((await admin('GET', `/endpoints/${endpoint.id}`, undefined, 'crud')).body as { name: string }).name).toBe('crm');
        const patched = await admin('PATCH', `/endpoints/${endpoint.id}`, { name: 'crm-v2', active: false }, 'crud');
        expect([patched.status, (patched.body as { name: string; active: boolean }).name, (patched.body as { active: boolean }).active]).toEqual([200, 'crm-v2', false]);
        const listed = await admin('GET', '/endpoints', undefined, 'crud');
        expect((listed.body as { items: Array<{ id: string }> }).items.map((item) => item.id)).toEqual([endpoint.id]);
        expect((await admin('GET', `/endpoints/${endpoint.id}`, undefined, 'other-tenant')).status).toBe(404);
        expect((await admin('DELETE', `/endpoints/${endpoint.id}`, undefined, 'crud')).status).toBe(204);
        expect((await admin('GET', `/endpoints/${endpoint.id}`, undefined, 'crud')).status).toBe(404);
      });

      it('creates, patches and deletes an inbound source, its secret never shown', async () => {
        const source = await createSource('github', { secret: GITHUB_SECRET });
        expect(JSON.stringify(source)).not.toContain(GITHUB_SECRET);
        expect(source.path).toBe(`/in/${source.id}`);
        const patched = await admin('PATCH', `/sources/${source.id}`, { name: 'renamed' });
        expect([patched.status, (patched.body as { name: string }).name]).toEqual([200, 'renamed']);
        expect((await admin('DELETE', `/sources/${source.id}`)).status).toBe(204);
        expect((await admin('GET', `/sources/${source.id}`)).status).toBe(404);
      });

      it('refuses an invalid endpoint with 400 and a coded error', async () => {
        const answer = await admin('POST', '/endpoints', { name: 'bad', url: 'not a url', triggers: [] });
        expect(answer.status).toBe(400);
        expect((answer.body as { error: { code: string } }).error.code).toMatch(/^invalid_/);
      });

      it('refuses malformed JSON with 400 (invalid_json from hookline when no app parser answers first)', async () => {
        const answer = await call('POST', '/admin/sources', { body: '{"name": "x",', headers: { 'x-tenant': 'acme', 'content-type': 'application/json' } });
        expect(answer.status).toBe(400);
        // An app's own JSON parser answers malformed JSON before any middleware runs, in its own format.
        if (parser === 'none') expect((answer.body as { error: { code: string } }).error.code).toBe('invalid_json');
      });

      it('serves the event catalog', async () => {
        const answer = await admin('GET', '/event-types');
        expect(answer.status).toBe(200);
        expect((answer.body as { items: Array<{ type: string }> }).items.map((item) => item.type)).toContain('c1.webhooks.v1.PayloadTest');
      });
    });
  });
}
