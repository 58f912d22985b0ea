/**
 * What every adapter must do as a translator, checked over real HTTP against a Hookline stand-in that echoes what it
 * received: exact body bytes, method, path and query, headers in and out, admin gating, size limits, and the
 * `verifyWebhook` guard for the app's own routes. Each adapter's test calls `runTranslationSuite` with its server.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEchoHooks, createTestVerifier, testSignature, type EchoedRequest, type ServerOptions, type StartServer } from './harness.js';

type Server = { url: string; close: () => Promise<void> };

async function withServer(start: StartServer, options: ServerOptions) {
  const hooks = createEchoHooks();
  const server = await start(hooks, options);
  return { hooks, server };
}

async function json(response: Response): Promise<unknown> {
  return JSON.parse(await response.text());
}

// Bytes no re-serialisation survives: odd whitespace, key order, escaped unicode, a lone invalid UTF-8 byte is not JSON.
const EXACT_JSON = '{ "b":1,  "a" : "caf\\u00e9",\n"z":[ ] }';

export function runTranslationSuite(name: string, start: StartServer): void {
  describe(`${name} adapter translates requests and responses`, () => {
    describe.each([
      { parser: 'none' as const },
      { parser: 'keeps-raw-body' as const },
    ])('with app body parser: $parser', ({ parser }) => {
      let server: Server;
      let hooks: ReturnType<typeof createEchoHooks>;
      beforeAll(async () => {
        ({ hooks, server } = await withServer(start, { bodyParser: parser, authorize: adminCheck, maxBodyBytes: 64 * 1024 }));
      });
      afterAll(() => server.close());

      it('passes the exact JSON bytes, method, path and query to hookline', async () => {
        const response = await fetch(`${server.url}/hooks/in/src_1?x=1&y=%20`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'x-custom': 'kept' }, body: EXACT_JSON,
        });
        expect(response.status).toBe(200);
        const echoed = (await json(response)) as EchoedRequest;
        expect(echoed).toEqual({
          route: 'public', tenant: null, method: 'POST', url: '/in/src_1?x=1&y=%20', contentType: 'application/json', custom: 'kept',
          bodyBase64: Buffer.from(EXACT_JSON).toString('base64'), bodySha256: sha256(EXACT_JSON),
        });
      });

      it('passes a form body byte for byte (Slack and Twilio sign the form as sent)', async () => {
        const form = 'token=x&text=hello+world%21&b=%E2%9C%93';
        const response = await fetch(`${server.url}/hooks/in/src_1`, {
          method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form,
        });
        expect(((await json(response)) as EchoedRequest).bodySha256).toBe(sha256(form));
      });

      it('passes binary bytes that are not valid UTF-8', async () => {
        const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0xc3]);
        const response = await fetch(`${server.url}/hooks/in/src_1`, {
          method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes,
        });
        expect(((await json(response)) as EchoedRequest).bodyBase64).toBe(Buffer.from(bytes).toString('base64'));
      });

      it('gives a GET without a body an empty body', async () => {
        const response = await fetch(`${server.url}/hooks/in/src_1?hub.challenge=42`);
        const echoed = (await json(response)) as EchoedRequest;
        expect([echoed.method, echoed.url, echoed.bodyBase64]).toEqual(['GET', '/in/src_1?hub.challenge=42', '']);
      });

      it('writes hookline\'s status, headers and binary body as given', async () => {
        const response = await fetch(`${server.url}/hooks/binary`);
        expect(response.status).toBe(203);
        expect(response.headers.get('content-type')).toBe('application/octet-stream');
        expect(response.headers.get('x-hookline-test')).toBe('yes');
        expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([0, 255, 128, 10]));
      });

      it('writes a bodiless answer', async () => {
        const response = await fetch(`${server.url}/hooks/empty`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
        expect(response.status).toBe(204);
        expect(await response.text()).toBe('');
      });

      it('routes /admin to handleAdmin with the tenant the app\'s check returned', async () => {
        const response = await fetch(`${server.url}/hooks/admin/endpoints?cursor=abc`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant': 'acme' }, body: EXACT_JSON,
        });
        const echoed = (await json(response)) as EchoedRequest;
        expect([echoed.route, echoed.tenant, echoed.url, echoed.bodySha256]).toEqual(['admin', 'acme', '/admin/endpoints?cursor=abc', sha256(EXACT_JSON)]);
      });

      it('routes /admin with the default tenant when the check returns true', async () => {
        const response = await fetch(`${server.url}/hooks/admin/endpoints`, { headers: { 'x-tenant': 'default' } });
        const echoed = (await json(response)) as EchoedRequest;
        expect([echoed.route, echoed.tenant]).toEqual(['admin', null]);
      });

      it('answers 401 unauthorized when the app\'s check refuses, without calling hookline', async () => {
        const before = hooks.calls.length;
        const response = await fetch(`${server.url}/hooks/admin/endpoints`);
        expect(response.status).toBe(401);
        expect(((await json(response)) as { error: { code: string } }).error.code).toBe('unauthorized');
        expect(hooks.calls.length).toBe(before);
      });

      it('refuses a body over its limit with 413 payload_too_large', async () => {
        const response = await fetch(`${server.url}/hooks/in/src_1`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }),
        });
        expect(response.status).toBe(413);
        expect(await json(response)).toEqual(tooLarge(64 * 1024));
      });

      it('refuses a chunked body (no Content-Length) once it passes the limit, with the same 413', async () => {
        const chunk = new TextEncoder().encode('x'.repeat(8 * 1024));
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i < 9; i++) controller.enqueue(chunk);
            controller.close();
          },
        });
        const response = await fetch(`${server.url}/hooks/in/src_1`, {
          method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: stream, duplex: 'half',
        } as RequestInit);
        expect(response.status).toBe(413);
        expect(await json(response)).toEqual(tooLarge(64 * 1024));
      });

      it('leaves malformed JSON to hookline unless the app parses JSON first', async () => {
        const response = await fetch(`${server.url}/hooks/in/src_1`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"broken": ',
        });
        // Without a parser in front, hookline (here the echo) decides; an app's own JSON parser answers 400 first.
        expect(response.status).toBe(parser === 'keeps-raw-body' ? 400 : 200);
      });
    });

    describe('without the admin option', () => {
      let server: Server;
      let hooks: ReturnType<typeof createEchoHooks>;
      beforeAll(async () => ({ hooks, server } = await withServer(start, {})));
      afterAll(() => server.close());

      it('does not mount the admin API: /admin goes to the public handler', async () => {
        const response = await fetch(`${server.url}/hooks/admin/endpoints`);
        expect(((await json(response)) as EchoedRequest).route).toBe('public');
        expect(hooks.calls.every((call) => call.route === 'public')).toBe(true);
      });
    });

    describe('behind a body parser that keeps no raw body', () => {
      let server: Server;
      beforeAll(async () => ({ server } = await withServer(start, { bodyParser: 'parsed-only', verifier: createTestVerifier() })));
      afterAll(() => server.close());

      it('answers 500 raw_body_unavailable naming the one line to add, instead of re-serialising', async () => {
        const response = await fetch(`${server.url}/hooks/in/src_1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: EXACT_JSON });
        expect(response.status).toBe(500);
        const { error } = (await json(response)) as { error: { code: string; message: string } };
        expect(error.code).toBe('raw_body_unavailable');
        expect(error.message).toMatch(/rawBody/);
      });

      it('still serves bodiless requests', async () => {
        const response = await fetch(`${server.url}/hooks/in/src_1?hub.challenge=1`);
        expect(((await json(response)) as EchoedRequest).bodyBase64).toBe('');
      });

      it('refuses to verify on the app\'s own route with raw_body_unavailable', async () => {
        const response = await fetch(`${server.url}/app/webhook`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'x-test-signature': testSignature(EXACT_JSON) }, body: EXACT_JSON,
        });
        expect(response.status).toBe(500);
        expect(((await json(response)) as { error: { code: string } }).error.code).toBe('raw_body_unavailable');
      });
    });

    describe.each([{ parser: 'none' as const }, { parser: 'keeps-raw-body' as const }])('verifyWebhook on the app\'s own route, body parser: $parser', ({ parser }) => {
      let server: Server;
      beforeAll(async () => ({ server } = await withServer(start, { bodyParser: parser, verifier: createTestVerifier(1024) })));
      afterAll(() => server.close());
      const post = (body: string, headers: Record<string, string>) =>
        fetch(`${server.url}/app/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

      it('hands the verified event to the route', async () => {
        const response = await post(EXACT_JSON, { 'x-test-signature': testSignature(EXACT_JSON), 'x-test-id': 'evt_1' });
        expect(response.status).toBe(200);
        expect(await json(response)).toEqual({ id: 'evt_1', payload: { b: 1, a: 'café', z: [] } });
      });

      it('answers 401 signature_mismatch and never reaches the route', async () => {
        const response = await post(EXACT_JSON, { 'x-test-signature': testSignature(`${EXACT_JSON} `) });
        expect(response.status).toBe(401);
        expect(await json(response)).toEqual({ error: { code: 'signature_mismatch', message: 'The signature does not match.' } });
      });

      it('answers 400 missing_header with its details', async () => {
        const response = await post(EXACT_JSON, {});
        expect(response.status).toBe(400);
        expect(await json(response)).toEqual({ error: { code: 'missing_header', message: 'x-test-signature is missing.', details: { header: 'x-test-signature' } } });
      });

      it('answers the provider\'s challenge itself', async () => {
        const body = '{"challenge":"abc123"}';
        const response = await post(body, { 'x-test-signature': testSignature(body) });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(await response.text()).toBe('abc123');
      });

      it('refuses a body over the verifier\'s limit with 413', async () => {
        const body = JSON.stringify({ pad: 'x'.repeat(2048) });
        const response = await post(body, { 'x-test-signature': testSignature(body) });
        expect(response.status).toBe(413);
        expect(await json(response)).toEqual(tooLarge(1024));
      });
    });
  });
}

/** The same answer hookline's core gives for a body over a source's limit. */
function tooLarge(limitBytes: number) {
  return { error: { code: 'payload_too_large', message: `The request body is larger than ${limitBytes} bytes.`, details: { limitBytes } } };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The app's own admin check in these tests: `x-tenant: acme` is tenant acme, `default` the default tenant. */
function adminCheck(headers: Record<string, string | string[] | undefined>): string | boolean | undefined {
  const tenant = headers['x-tenant'];
  if (tenant === 'default') return true;
  return typeof tenant === 'string' ? tenant : undefined;
}
