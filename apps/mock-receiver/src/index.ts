/**
 * A webhook subscriber for demos and end-to-end tests: it verifies what it receives (a JWT through a JWKS URL, or
 * Standard Webhooks), records every request, drops duplicates by webhook id, and answers as it is told.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HooklineError, fail, isHooklineError } from '@hookline/errors';
import { callbackBody, resolveBehaviour, type Behaviour, type ResolvedBehaviour } from './behaviour.js';
import { createRequestVerifier, type Verification } from './verify.js';

export { resolveBehaviour, callbackBody } from './behaviour.js';
export type { Behaviour, ResolvedBehaviour, CallbackDecision } from './behaviour.js';
export type { Verification } from './verify.js';

export interface MockReceiverOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on (default `127.0.0.1`). */
  host?: string;
  /** Verify `Authorization: Bearer <JWT>` with the keys at this JWKS URL. */
  jwksUrl?: string;
  /** The JWT `iss` to require (with `jwksUrl`). */
  issuer?: string;
  /** Verify Standard Webhooks signatures with this `whsec_…` secret. */
  standardWebhooksSecret?: string;
  /** The initial behaviour (default: answer 200). */
  behaviour?: Behaviour;
  /** Called once per webhook after it is answered: the demo prints these. */
  onWebhook?: (webhook: ReceivedWebhook) => void;
  /** Called once per callback the mock POSTs. */
  onCallback?: (callback: SentCallback) => void;
}

/** One webhook request as the mock saw and answered it. */
export interface ReceivedWebhook {
  /** 1, 2, 3... in arrival order. */
  seq: number;
  receivedAt: string;
  method: string;
  path: string;
  /** Request headers; `authorization` and signature headers are redacted. */
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
  /** The message id: the `webhook-id` header, else the envelope's `webhookId`. */
  webhookId?: string;
  verification: Verification;
  /** True when this webhook id had already been accepted (2xx) before: processed once, answered 200 again. */
  duplicate: boolean;
  response: { status: number };
}

/** A callback the mock POSTed to an envelope's `callbackUrl` after answering 202. */
export interface SentCallback {
  webhookId?: string;
  url: string;
  body: Record<string, unknown>;
  /** The status hookline answered (202 expected), absent when the request failed. */
  status?: number;
  responseBody?: string;
  error?: string;
}

/** What `GET /received` answers. */
export interface ReceivedSummary {
  webhooks: ReceivedWebhook[];
  /** Webhook ids accepted (answered 2xx), each once, in order of first acceptance. */
  accepted: string[];
  /** How many requests repeated an already accepted webhook id. */
  duplicates: number;
  callbacks: SentCallback[];
}

export interface MockReceiver {
  /** Base URL, e.g. `http://127.0.0.1:53121`; any path except the control routes receives webhooks. */
  readonly url: string;
  received(): ReceivedSummary;
  setBehaviour(behaviour: Behaviour): ResolvedBehaviour;
  /** Forgets every recorded request, accepted id and callback, and restores the default behaviour. */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const REDACTED_HEADERS = new Set(['authorization', 'webhook-signature', 'x-hub-signature-256', 'x-signature']);

/**
 * Starts a mock subscriber. Control routes: `GET /received`, `POST /reset`, `GET|POST /behaviour`; every other
 * `POST`, `PUT` or `DELETE` is a webhook.
 *
 * @example
 * ```ts
 * const mock = await startMockReceiver({ jwksUrl: 'http://127.0.0.1:3000/auth/v1/jwks', issuer: 'http://127.0.0.1:3000' });
 * mock.setBehaviour({ failTimes: 2, failStatus: 503 });
 * // ... register `${mock.url}/webhook` as an endpoint, publish, then:
 * mock.received().accepted; // ['msg_...']
 * await mock.close();
 * ```
 */
export async function startMockReceiver(options: MockReceiverOptions = {}): Promise<MockReceiver> {
  const verifier = createRequestVerifier(options);
  let behaviour = resolveBehaviour(options.behaviour ?? {});
  let failuresLeft = behaviour.failTimes;
  let webhooks: ReceivedWebhook[] = [];
  let callbacks: SentCallback[] = [];
  let accepted = new Set<string>();
  let duplicates = 0;
  let seq = 0;
  const timers = new Set<NodeJS.Timeout>();
  let baseUrl = '';

  const setBehaviour = (input: Behaviour): ResolvedBehaviour => {
    behaviour = resolveBehaviour(input);
    failuresLeft = behaviour.failTimes;
    return behaviour;
  };

  const summary = (): ReceivedSummary => structuredClone({ webhooks, accepted: [...accepted], duplicates, callbacks });

  const sendCallback = (url: string, webhookId: string | undefined, plan: ResolvedBehaviour['callback']): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      const body = callbackBody(plan);
      const record: SentCallback = { ...(webhookId === undefined ? {} : { webhookId }), url, body };
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then(async (response) => {
          record.status = response.status;
          record.responseBody = await response.text();
        })
        .catch((error: unknown) => {
          record.error = error instanceof Error ? error.message : String(error);
        })
        .finally(() => {
          callbacks.push(record);
          options.onCallback?.(structuredClone(record));
        });
    }, plan.delayMs);
    timers.add(timer);
  };

  const receiveWebhook = async (req: IncomingMessage, path: string, body: Buffer): Promise<{ status: number; body: unknown }> => {
    const plan = behaviour;
    const text = body.toString('utf8');
    const json = parseJson(text);
    const headers = flattenHeaders(req.headers);
    const webhookId = headers['webhook-id'] ?? envelopeField(json, 'webhookId');
    const verification = await verifier({ method: req.method ?? 'POST', url: `${baseUrl}${req.url ?? '/'}`, headers: req.headers, body });
    const record: ReceivedWebhook = {
      seq: ++seq,
      receivedAt: new Date().toISOString(),
      method: req.method ?? 'POST',
      path,
      headers: redact(headers),
      body: text,
      ...(json === undefined ? {} : { json }),
      ...(webhookId === undefined ? {} : { webhookId }),
      verification,
      duplicate: false,
      response: { status: 0 },
    };
    webhooks.push(record);

    let answer: { status: number; body: unknown };
    if (verification.scheme !== 'none' && !verification.verified) {
      answer = { status: 401, body: { error: verification.error } };
    } else if (webhookId !== undefined && accepted.has(webhookId)) {
      record.duplicate = true;
      duplicates += 1;
      answer = { status: 200, body: { received: true, duplicate: true } };
    } else if (failuresLeft > 0) {
      failuresLeft -= 1;
      answer = { status: plan.failStatus, body: { error: 'failing as told', failuresLeft } };
    } else if (plan.answer === 'gone') {
      answer = { status: 410, body: { error: 'gone' } };
    } else if (plan.answer === 'accepted') {
      answer = { status: 202, body: { received: true, callback: plan.callback.decision } };
    } else {
      answer = { status: 200, body: { received: true, seq: record.seq } };
    }

    if (plan.delayMs > 0) await delay(plan.delayMs, timers);
    // Only a webhook actually answered 2xx counts as processed: a sender that gave up on us will try again.
    if (answer.status >= 200 && answer.status < 300 && !record.duplicate) {
      if (webhookId !== undefined) accepted.add(webhookId);
      const callbackUrl = envelopeField(json, 'callbackUrl');
      if (plan.answer === 'accepted' && callbackUrl) sendCallback(callbackUrl, webhookId, plan.callback);
    }
    record.response = { status: answer.status };
    options.onWebhook?.(structuredClone(record));
    return answer;
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://mock').pathname;
    const method = req.method ?? 'GET';
    if (path === '/received' && method === 'GET') return send(res, 200, summary());
    if (path === '/reset' && method === 'POST') {
      server.reset();
      return send(res, 200, { reset: true });
    }
    if (path === '/behaviour' && method === 'GET') return send(res, 200, behaviour);
    const body = await readBody(req);
    if (path === '/behaviour' && method === 'POST') {
      const parsed = parseJson(body.toString('utf8'));
      if (parsed === undefined) throw fail('invalid_json', 'The behaviour must be JSON.');
      return send(res, 200, setBehaviour(parsed as Behaviour));
    }
    if (method === 'POST' || method === 'PUT' || method === 'DELETE') {
      const answer = await receiveWebhook(req, path, body);
      return send(res, answer.status, answer.body);
    }
    throw fail('method_not_allowed', `${method} ${path} is not a mock receiver route.`);
  };

  const http = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const coded = isHooklineError(error) ? error : new HooklineError('internal', 'The mock receiver failed.', { cause: error });
      if (!res.headersSent) send(res, coded.status, coded.toJSON());
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${host}:${address.port}`;

  const server: MockReceiver = {
    url: baseUrl,
    received: summary,
    setBehaviour,
    reset() {
      webhooks = [];
      callbacks = [];
      accepted = new Set();
      duplicates = 0;
      seq = 0;
      setBehaviour({});
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
  return server;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw fail('payload_too_large', `The mock receiver accepts bodies up to ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function envelopeField(json: unknown, field: string): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const value = (json as Record<string, unknown>)[field];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function redact(headers: Record<string, string>): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) safe[name] = REDACTED_HEADERS.has(name) ? '[redacted]' : value;
  return safe;
}

function delay(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, ms);
    timers.add(timer);
  });
}
