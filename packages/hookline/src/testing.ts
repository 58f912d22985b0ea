/**
 * Test helpers for apps and adapters: a ready Hookline on the in-memory store, and requests signed the way GitHub,
 * Stripe, Slack, Meta, X and Standard Webhooks senders sign them, so a test can drive `/in/:sourceId` end to end.
 *
 * @example
 * ```ts
 * import { createTestHookline, githubRequest } from 'hookline/testing';
 * const hooks = createTestHookline();
 * const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's3cret' } });
 * const response = await hooks.handle(githubRequest({ url: source.path, secret: 's3cret', body: { action: 'opened' } }));
 * // response.status === 200
 * ```
 */
import { createHmac, randomUUID } from 'node:crypto';
import { MemoryStore } from '@hookline/store';
import type { HookRequest, Hookline } from './contract.js';
import { createHookline, type HooklineOptions } from './http/hookline.js';
import { silentLogger } from './http/logger.js';

/** A fixed key for tests only: never use it where a secret matters. */
export const TEST_SECRET_KEY = '7e57'.repeat(16);

export type TestHooklineOptions = Partial<HooklineOptions>;

/**
 * A Hookline for tests and demos: the in-memory store, a fixed secret key, http and loopback destinations allowed
 * (so a subscriber on 127.0.0.1 can be reached), silent logs. Anything given overrides these defaults.
 *
 * @example
 * ```ts
 * const hooks = createTestHookline({ clock: { now: () => 1_700_000_000_000 } });
 * afterEach(() => hooks.close());
 * ```
 */
export function createTestHookline(options: TestHooklineOptions = {}): Hookline {
  return createHookline({
    secretKey: TEST_SECRET_KEY,
    logger: silentLogger,
    destinations: { allowHttp: true, allowPrivateNetworks: true, allowCustomPorts: true },
    ...options,
    store: options.store ?? new MemoryStore(),
  });
}

/** A body as a test writes it: exact bytes, text, or a value to serialise as JSON. */
export type TestBody = string | Uint8Array | Record<string, unknown> | unknown[];

const encoder = new TextEncoder();

function bytesOf(body: TestBody | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body;
  return encoder.encode(typeof body === 'string' ? body : JSON.stringify(body));
}

function hmacHex(secret: string | Uint8Array, ...parts: (string | Uint8Array)[]): string {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest('hex');
}

function hmacBase64(secret: string | Uint8Array, ...parts: (string | Uint8Array)[]): string {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest('base64');
}

function unixSeconds(now: number | undefined): number {
  return now ?? Math.floor(Date.now() / 1000);
}

/**
 * A plain request with JSON defaults: `POST`, `content-type: application/json`, a correct `content-length`.
 *
 * @example
 * ```ts
 * await hooks.handleAdmin(hookRequest('POST', '/admin/sources', { body: { name: 'x', platform: 'github', config: { secret: 's' } } }));
 * ```
 */
export function hookRequest(
  method: string,
  url: string,
  options: { body?: TestBody; headers?: Record<string, string | string[]> } = {},
): HookRequest {
  const body = bytesOf(options.body);
  const headers: Record<string, string | string[]> = {};
  if (body.byteLength > 0) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.byteLength);
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  return { method, url, headers, body };
}

export interface SignedRequestOptions {
  /** Where the source is mounted, e.g. `source.path` (`/in/src_…`). */
  url: string;
  secret: string;
  body: TestBody;
  /** Unix seconds the sender signs with (default: now). */
  timestamp?: number;
  /** Extra or overriding headers. */
  headers?: Record<string, string | string[]>;
}

/** A GitHub delivery: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`, a delivery id and an event name. */
export function githubRequest(options: SignedRequestOptions & { deliveryId?: string; event?: string }): HookRequest {
  const body = bytesOf(options.body);
  return hookRequest('POST', options.url, {
    body,
    headers: {
      'x-hub-signature-256': `sha256=${hmacHex(options.secret, body)}`,
      'x-github-delivery': options.deliveryId ?? randomUUID(),
      'x-github-event': options.event ?? 'push',
      ...options.headers,
    },
  });
}

/** A Stripe event: `Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256(whole whsec_ secret, "t.body")>`. */
export function stripeRequest(options: SignedRequestOptions): HookRequest {
  const body = bytesOf(options.body);
  const timestamp = unixSeconds(options.timestamp);
  return hookRequest('POST', options.url, {
    body,
    headers: { 'stripe-signature': `t=${timestamp},v1=${hmacHex(options.secret, `${timestamp}.`, body)}`, ...options.headers },
  });
}

/** A Slack request: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:ts:body")>` with its timestamp header. */
export function slackRequest(options: SignedRequestOptions): HookRequest {
  const body = bytesOf(options.body);
  const timestamp = unixSeconds(options.timestamp);
  return hookRequest('POST', options.url, {
    body,
    headers: {
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': `v0=${hmacHex(options.secret, `v0:${timestamp}:`, body)}`,
      ...options.headers,
    },
  });
}

/** Slack's Events API `url_verification` handshake, signed like any Slack request. */
export function slackChallengeRequest(options: Omit<SignedRequestOptions, 'body'> & { challenge: string }): HookRequest {
  return slackRequest({ ...options, body: { token: 'verification-token', challenge: options.challenge, type: 'url_verification' } });
}

/** Meta's subscription check: `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`. */
export function metaChallengeRequest(options: { url: string; verifyToken: string; challenge: string }): HookRequest {
  const query = new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.verify_token': options.verifyToken, 'hub.challenge': options.challenge });
  return hookRequest('GET', `${options.url}?${query.toString()}`);
}

/** A Meta (Facebook, Instagram, WhatsApp) event: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`. */
export function metaRequest(options: SignedRequestOptions): HookRequest {
  const body = bytesOf(options.body);
  return hookRequest('POST', options.url, {
    body,
    headers: { 'x-hub-signature-256': `sha256=${hmacHex(options.secret, body)}`, ...options.headers },
  });
}

/** X's CRC check: `GET ?crc_token=…`; the answer is `{"response_token":"sha256=<base64 HMAC(consumer secret, token)>"}`. */
export function xCrcRequest(options: { url: string; crcToken: string }): HookRequest {
  return hookRequest('GET', `${options.url}?${new URLSearchParams({ crc_token: options.crcToken }).toString()}`);
}

/** The `response_token` X expects for a CRC token, to compare a response with. */
export function xCrcResponseToken(consumerSecret: string, crcToken: string): string {
  return `sha256=${hmacBase64(consumerSecret, crcToken)}`;
}

/** An X Account Activity event: `X-Twitter-Webhooks-Signature: sha256=<base64 HMAC-SHA256(consumer secret, body)>`. */
export function xRequest(options: SignedRequestOptions): HookRequest {
  const body = bytesOf(options.body);
  return hookRequest('POST', options.url, {
    body,
    headers: { 'x-twitter-webhooks-signature': `sha256=${hmacBase64(options.secret, body)}`, ...options.headers },
  });
}

/** A Standard Webhooks delivery: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over `id.ts.body`. */
export function standardWebhooksRequest(options: SignedRequestOptions & { id?: string }): HookRequest {
  const body = bytesOf(options.body);
  const timestamp = unixSeconds(options.timestamp);
  const id = options.id ?? `msg_${randomUUID().replace(/-/g, '')}`;
  const key = Buffer.from(options.secret.replace(/^whsec_/, ''), 'base64');
  return hookRequest('POST', options.url, {
    body,
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${hmacBase64(key, `${id}.${timestamp}.`, body)}`,
      ...options.headers,
    },
  });
}
