/**
 * hookline in one process over node:http: the public routes (JWKS, callbacks, inbound sources), the admin API behind
 * a bearer token, and what an app would do with callbacks and inbound events (log them, keep the last few).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { HooklineError, isHooklineError } from '@hookline/errors';
import {
  createHookline, createSecretBox, type CallbackAnswer, type DeliveryStore, type Hookline, type HookRequest, type HookResponse,
  type InboundEvent, type OperationalEvent,
} from 'hookline';
import { pino, type Logger } from 'pino';
import { DATA_FILES, type ServerConfig } from './config.js';
import { loadOrCreateSigningKey } from './signing-key.js';

/** The tenant every route of the reference server acts for. */
export const TENANT = 'default';
/** How many handled inbound events and callback answers the server keeps for `GET /admin/inbound-events|callbacks`. */
export const KEEP_LAST = 100;
/** Requests larger than this are refused before hookline sees them (hookline applies its own, smaller limits). */
const MAX_REQUEST_BYTES = 5 * 1024 * 1024;

export interface RunningServer {
  /** Where the server listens, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** How receivers reach it (`PUBLIC_URL`, else `url`, with `localhost` for a wildcard host): callback URLs, JWT `iss`, JWKS. */
  readonly publicUrl: string;
  readonly jwksUrl: string;
  readonly hookline: Hookline;
  readonly logger: Logger;
  /** The signing key's `kid` and whether this start generated it. */
  readonly signingKey: { kid: string; created: boolean };
  readonly storeKind: 'sqlite' | 'postgres';
  /** Stops taking requests, lets in-flight deliveries finish or hands them back, closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where pino writes (stdout by default); tests pass a stream to read log lines. */
  logDestination?: NodeJS.WritableStream;
}

/** A handled inbound event as `GET /admin/inbound-events` lists it. */
export interface HandledInboundEvent {
  sourceId: string;
  platform: string;
  id?: string | undefined;
  /** Unsigned metadata the provider sent, such as `x-github-event`. */
  unverified?: Record<string, string> | undefined;
  payload: unknown;
  receivedAt: string;
}

/** A callback answer as `GET /admin/callbacks` lists it. */
export interface HandledCallback {
  messageId: string;
  endpointId: string;
  deliveryId: string;
  decision: CallbackAnswer['decision'];
  comment?: string | undefined;
  newStepUserIds?: string[] | undefined;
  receivedAt: string;
}

/**
 * Starts the reference server.
 *
 * @example
 * ```ts
 * const server = await startServer(loadConfig({ PORT: '0', HOOKLINE_DATA_DIR: './data' }));
 * console.log(server.url); // http://127.0.0.1:53120
 * await server.close();
 * ```
 */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = pino(
    {
      level: config.logLevel,
      base: { service: 'hookline-reference-server' },
      // Defence in depth: nothing below logs these, and if a field ever carries one it is censored.
      redact: {
        paths: ['authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'adminToken', 'secretKey', 'secret', '*.secret', 'token', '*.token', 'password', '*.password', 'databaseUrl'],
        censor: '[redacted]',
      },
    },
    options.logDestination ?? pino.destination({ dest: 1, sync: true }),
  );

  const signingKey = await loadOrCreateSigningKey(config.dataDir, createSecretBox(config.secretKey));
  const { store, kind: storeKind } = await openStore(config, logger);

  let hookline: Hookline | undefined;
  const adminTokenDigest = digest(config.adminToken);
  const inboundEvents: HandledInboundEvent[] = [];
  const callbacks: HandledCallback[] = [];

  const http = createServer((req, res) => {
    const started = performance.now();
    serve(req, res)
      .catch((error: unknown) => writeError(res, error, logger))
      .finally(() => {
        logger.info({ method: req.method, path: loggablePath(req.url), status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request');
      });
  });

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = requestPath(req.url);
    if (path === undefined) throw new HooklineError('bad_request', 'The request target is not a valid path.');
    const method = req.method ?? 'GET';
    if (path === '/' && method === 'GET') return writeJson(res, 200, info());
    if (path === '/healthz' && method === 'GET') return writeJson(res, 200, { status: 'ok', store: storeKind });
    if (hookline === undefined) throw new HooklineError('store_unavailable', 'The server is starting.');
    if (path === '/admin' || path.startsWith('/admin/')) {
      // Before reading the body: a caller without the token gets nothing buffered.
      if (!isAdmin(req.headers.authorization)) {
        throw new HooklineError('unauthorized', 'Send the admin token as "Authorization: Bearer <token>".');
      }
      if (path === '/admin/inbound-events' && method === 'GET') return writeJson(res, 200, { items: [...inboundEvents].reverse() });
      if (path === '/admin/callbacks' && method === 'GET') return writeJson(res, 200, { items: [...callbacks].reverse() });
      return writeResponse(res, await hookline.handleAdmin(await readRequest(req), { tenant: TENANT }));
    }
    return writeResponse(res, await hookline.handle(await readRequest(req)));
  };

  const isAdmin = (header: string | undefined): boolean => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
    // Compare digests: equal length always, so the comparison time says nothing about the token.
    return match !== null && timingSafeEqual(digest(match[1]!), adminTokenDigest);
  };

  try {
    await listen(http, config.port, config.host);
  } catch (error) {
    if (config.portGiven || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      await store.close();
      throw new HooklineError('invalid_config', `Could not listen on ${config.host}:${config.port}.`, { cause: error, details: { variable: 'PORT' } });
    }
    // The default port is taken and none was asked for: any free port will do for a local start.
    logger.warn({ port: config.port }, 'The default port is in use; listening on a free port instead (set PORT to choose)');
    await listen(http, 0, config.host);
  }
  const address = http.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const publicUrl = config.publicUrl ?? (isWildcard(address.address) ? `http://localhost:${address.port}` : url);
  const jwksUrl = `${publicUrl}/auth/v1/jwks`;

  const info = () => ({
    name: 'hookline reference server',
    publicUrl,
    jwks: [jwksUrl, `${publicUrl}/.well-known/jwks.json`],
    routes: {
      public: ['GET /auth/v1/jwks', 'GET /.well-known/jwks.json', 'POST /callbacks/:token', 'GET|POST /in/:sourceId', 'GET /healthz'],
      admin: 'Authorization: Bearer <HOOKLINE_ADMIN_TOKEN>; see docs/reference-server.md',
    },
    store: storeKind,
    dev: config.dev,
  });

  try {
    hookline = createHookline({
      store,
      secretKey: config.secretKey,
      signing: { issuer: publicUrl, keys: [signingKey.key] },
      publicUrl,
      ...(config.retrySchedule === undefined ? {} : { retrySchedule: config.retrySchedule }),
      destinations: { allowHttp: config.dev, allowPrivateNetworks: config.dev },
      logger: logger.child({ component: 'hookline' }),
    });
  } catch (error) {
    await closeHttp(http);
    await store.close();
    throw error;
  }
  const hooks = hookline;

  hooks.on((event: OperationalEvent) => logOperationalEvent(logger, event));
  hooks.onCallback((answer) => {
    keep(callbacks, {
      messageId: answer.messageId,
      endpointId: answer.endpointId,
      deliveryId: answer.deliveryId,
      decision: answer.decision,
      ...(answer.comment === undefined ? {} : { comment: answer.comment }),
      ...(answer.newStepUserIds === undefined ? {} : { newStepUserIds: answer.newStepUserIds }),
      receivedAt: new Date().toISOString(),
    });
    logger.info({ messageId: answer.messageId, endpointId: answer.endpointId, decision: answer.decision }, 'callback answer handled');
  });
  hooks.on({}, (event: InboundEvent) => {
    keep(inboundEvents, {
      sourceId: event.sourceId,
      platform: event.platform,
      id: event.id,
      unverified: event.unverified,
      payload: event.payload,
      receivedAt: new Date(event.receivedAt).toISOString(),
    });
    logger.info({ source: sourceHint(event.sourceId), platform: event.platform, deliveryId: event.id, unverified: event.unverified }, 'inbound webhook handled');
  });
  hooks.start();

  logger.info({ url, publicUrl, store: storeKind, dataDir: config.dataDir, dev: config.dev, kid: signingKey.key.kid }, 'hookline reference server listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    publicUrl,
    jwksUrl,
    hookline: hooks,
    logger,
    signingKey: { kid: signingKey.key.kid, created: signingKey.created },
    storeKind,
    close() {
      closing ??= (async () => {
        const stopped = closeHttp(http);
        await hooks.close();
        await stopped;
        logger.info({}, 'hookline reference server stopped');
      })();
      return closing;
    },
  };
}

async function openStore(config: ServerConfig, logger: Logger): Promise<{ store: DeliveryStore; kind: 'sqlite' | 'postgres' }> {
  if (config.databaseUrl !== undefined) {
    const { createPostgresStore } = await import('@hookline/store-postgres');
    const store = await createPostgresStore({
      connectionString: config.databaseUrl,
      schema: config.databaseSchema,
      // Only the code: a pg error message can quote the connection string.
      onError: (error) => logger.warn({ code: (error as { code?: unknown }).code }, 'Postgres connection trouble (the store reconnects)'),
    });
    return { store, kind: 'postgres' };
  }
  const { createSqliteStore } = await import('@hookline/store-sqlite');
  return { store: createSqliteStore({ path: join(config.dataDir, DATA_FILES.database) }), kind: 'sqlite' };
}

function listen(http: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
}

/** The path of a request target, as hookline's router reads it; undefined when it does not parse. */
function requestPath(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://server').pathname;
  } catch {
    return undefined;
  }
}

async function readRequest(req: IncomingMessage): Promise<HookRequest> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_REQUEST_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: new Uint8Array(Buffer.concat(chunks)) };
}

function tooLarge(): HooklineError {
  return new HooklineError('payload_too_large', `Requests are limited to ${MAX_REQUEST_BYTES} bytes.`);
}

function writeResponse(res: ServerResponse, response: HookResponse): void {
  const body = response.body === undefined ? undefined : typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : Buffer.from(response.body);
  res.writeHead(response.status, { ...response.headers, ...(body === undefined ? {} : { 'content-length': String(body.byteLength) }) });
  res.end(body);
}

function writeJson(res: ServerResponse, status: number, body: unknown): void {
  writeResponse(res, { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) });
}

function writeError(res: ServerResponse, error: unknown, logger: Logger): void {
  const coded = isHooklineError(error) ? error : new HooklineError('internal', 'Something went wrong on our side.');
  if (!isHooklineError(error) || coded.status >= 500) logger.error({ err: error, code: coded.code }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeJson(res, coded.status, coded.toJSON());
}

/**
 * The path without its query (a query may carry a verify token), with capabilities hidden: a callback token
 * entirely, a source id down to a hint, as hookline logs it.
 */
function loggablePath(target: string | undefined): string {
  const path = requestPath(target);
  if (path === undefined) return '[not a path]';
  if (path.startsWith('/callbacks/')) return '/callbacks/[redacted]';
  // Inbound URLs and admin routes alike carry source ids.
  return path.split('/').map((segment, index, all) => (all[index - 1] === 'in' || segment.startsWith('src_') ? sourceHint(segment) : segment)).join('/');
}

/** Enough of a source id to tell sources apart in logs: the id is the capability in the inbound URL. */
function sourceHint(id: string): string {
  return id.length > 12 ? `${id.slice(0, 4)}…${id.slice(-4)}` : 'src_…';
}

function logOperationalEvent(logger: Logger, event: OperationalEvent): void {
  switch (event.type) {
    case 'delivery.succeeded':
    case 'delivery.awaiting_callback':
    case 'delivery.exhausted':
      logger.info(deliveryFields(event.delivery, event.attempt), event.type);
      return;
    case 'delivery.failed':
      logger.warn({ ...deliveryFields(event.delivery, event.attempt), nextAttemptAt: new Date(event.nextAttemptAt).toISOString() }, event.type);
      return;
    case 'delivery.callback_expired':
      logger.warn(
        { deliveryId: event.delivery.id, messageId: event.delivery.messageId, endpointId: event.delivery.endpointId, reason: event.delivery.lastError },
        event.type,
      );
      return;
    // hookline logs these itself; the app's own handlers log callbacks.
    case 'endpoint.disabled':
    case 'callback.received':
    case 'worker.error':
      return;
  }
}

function deliveryFields(delivery: { id: string; messageId: string; endpointId: string }, attempt: { number: number; response?: { status: number } | undefined; error?: { code: string } | undefined; durationMs: number }) {
  return {
    deliveryId: delivery.id,
    messageId: delivery.messageId,
    endpointId: delivery.endpointId,
    attempt: attempt.number,
    status: attempt.response?.status,
    error: attempt.error?.code,
    ms: attempt.durationMs,
  };
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function keep<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > KEEP_LAST) list.splice(0, list.length - KEEP_LAST);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function closeHttp(http: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve) => {
    http.close(() => resolve());
    // Keep-alive sockets would hold close() open; requests still running finish first.
    http.closeIdleConnections();
  });
}
