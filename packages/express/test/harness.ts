/**
 * Test-only pieces shared by the Express, Koa and NestJS adapter tests (imported by relative path, never published):
 * the server contract each adapter's test implements, a Hookline stand-in that echoes what it was given, and a
 * small HMAC verifier, so the translation cases need nothing but the adapter under test.
 */
import { createHmac, createHash, timingSafeEqual } from 'node:crypto';
import { fail } from '@hookline/errors';
import type { Verifier } from '@hookline/verifier';
import type { HookRequest, HookResponse, Hookline } from 'hookline';

export type HooksLike = Pick<Hookline, 'handle' | 'handleAdmin'>;

export interface ServerOptions {
  /** The app's own admin check; omitted means the admin API is not mounted. */
  authorize?: (headers: Record<string, string | string[] | undefined>) => string | boolean | undefined | Promise<string | boolean | undefined>;
  /** An app-level JSON (and form) parser in front of everything, as most apps have. */
  bodyParser?: 'none' | 'parsed-only' | 'keeps-raw-body';
  /** The adapter's buffering limit. */
  maxBodyBytes?: number;
  /** Verifier for the app's own route `POST /app/webhook`, which answers `{ id, payload }` of the verified event. */
  verifier?: Verifier;
}

/** Starts the framework on 127.0.0.1 port 0 with hookline mounted at `/hooks`; `url` is the server's origin. */
export type StartServer = (hooks: HooksLike, options: ServerOptions) => Promise<{ url: string; close: () => Promise<void> }>;

export interface EchoedRequest {
  route: 'public' | 'admin';
  tenant: string | null;
  method: string;
  url: string;
  contentType: string | null;
  custom: string | string[] | null;
  bodyBase64: string;
  bodySha256: string;
}

/** A Hookline stand-in that answers every request with what it received (and a binary body on `/binary`). */
export function createEchoHooks(): HooksLike & { calls: EchoedRequest[] } {
  const calls: EchoedRequest[] = [];
  const echo = (route: 'public' | 'admin', req: HookRequest, tenant?: string): HookResponse => {
    if (req.url.startsWith('/binary')) {
      return { status: 203, headers: { 'content-type': 'application/octet-stream', 'x-hookline-test': 'yes' }, body: new Uint8Array([0, 255, 128, 10]) };
    }
    if (req.url.startsWith('/empty')) return { status: 204, headers: {} };
    const echoed: EchoedRequest = {
      route,
      tenant: tenant ?? null,
      method: req.method,
      url: req.url,
      contentType: (req.headers['content-type'] as string | undefined) ?? null,
      custom: req.headers['x-custom'] ?? null,
      bodyBase64: Buffer.from(req.body).toString('base64'),
      bodySha256: createHash('sha256').update(req.body).digest('hex'),
    };
    calls.push(echoed);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(echoed) };
  };
  return {
    calls,
    handle: async (req) => echo('public', req),
    handleAdmin: async (req, context) => echo('admin', req, context?.tenant),
  };
}

export const TEST_SECRET = 'test-secret-for-the-adapter-suite';

/** Signs like a minimal provider: `x-test-signature: sha256=<hex HMAC of the body>`. */
export function testSignature(body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', TEST_SECRET).update(body).digest('hex')}`;
}

/** A verifier with the shape of `@hookline/verifier` presets; a `{"challenge": ...}` body is a handshake. */
export function createTestVerifier(maxBodyBytes = 4096): Verifier {
  return {
    name: 'test-hmac',
    maxBodyBytes,
    async verify(request) {
      const header = request.headers['x-test-signature'];
      if (typeof header !== 'string') throw fail('missing_header', 'x-test-signature is missing.', { header: 'x-test-signature' });
      const body = typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
      const expected = Buffer.from(testSignature(body));
      const given = Buffer.from(header);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw fail('signature_mismatch', 'The signature does not match.');
      let payload: unknown;
      try {
        payload = JSON.parse(Buffer.from(body).toString('utf8'));
      } catch {
        throw fail('invalid_json', 'The body is not JSON.');
      }
      const challenge = (payload as { challenge?: unknown }).challenge;
      if (typeof challenge === 'string') return { kind: 'challenge', response: { status: 200, headers: { 'content-type': 'text/plain' }, body: challenge } };
      const id = request.headers['x-test-id'];
      return { kind: 'event', payload, rawBody: body, ...(typeof id === 'string' ? { id } : {}) };
    },
  };
}

/** Node's own error shape for an address in use etc. is not needed: port 0 and 127.0.0.1 everywhere. */
export function originOf(address: unknown): string {
  const { port } = address as { port: number };
  return `http://127.0.0.1:${port}`;
}
