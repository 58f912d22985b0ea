/**
 * Koa 3 adapter: translates a Koa context into hookline's plain request and writes the answer back.
 * Every protocol rule lives in `hookline`; this file only moves bytes.
 */
import type { Context, Middleware, Next } from 'koa';
import { fail, isHooklineError } from '@hookline/errors';
import type { Verifier, VerifiedEvent } from '@hookline/verifier';
import type { HookRequest, HookResponse, Hookline } from 'hookline';

/** Decides who may use the admin API: a tenant id, `true` for the default tenant, or `false`/`undefined` for 401. */
export type AuthorizeAdmin = (ctx: Context) => string | boolean | undefined | Promise<string | boolean | undefined>;

export interface HooklineMiddlewareOptions {
  /** Where hookline is mounted, e.g. `/hooks` (default: the root). Other paths go to the next middleware. */
  prefix?: string;
  /** Mounts `/admin/...` behind the app's own check. Without it the admin API is not served. */
  admin?: { authorize: AuthorizeAdmin };
  /** Largest body buffered, in bytes (default 1 MiB); sources may set a smaller limit. */
  maxBodyBytes?: number;
}

/** What `verifyWebhook()` puts on `ctx.state`. */
export interface WebhookState {
  webhook: VerifiedEvent;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const KEEP_RAW_BODY = 'app.use(bodyParser()) from @koa/bodyparser (it keeps ctx.request.rawBody), or mount hookline before the parser';

/**
 * Middleware serving hookline's public routes (JWKS, callbacks, inbound) under `prefix` and, with `admin`, the admin API.
 *
 * @example
 * ```ts
 * app.use(hooklineMiddleware(hooks, { prefix: '/hooks', admin: { authorize: (ctx) => ctx.state.user?.tenantId } }));
 * ```
 */
export function hooklineMiddleware(hooks: Pick<Hookline, 'handle' | 'handleAdmin'>, options: HooklineMiddlewareOptions = {}): Middleware {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (ctx, next) => {
    const path = ctx.path.slice(prefix.length);
    if (!ctx.path.startsWith(prefix) || (path !== '' && !path.startsWith('/'))) return next();
    await answering(ctx, async () => {
      const request: HookRequest = { method: ctx.method, url: (path || '/') + ctx.search, headers: ctx.headers, body: await rawBodyOf(ctx, limit) };
      const isAdmin = path === '/admin' || path.startsWith('/admin/');
      if (!isAdmin || !options.admin) return send(ctx, await hooks.handle(request));
      const tenant = await options.admin.authorize(ctx);
      if (tenant === undefined || tenant === false) throw fail('unauthorized', 'The admin API needs an authorised caller.');
      send(ctx, await hooks.handleAdmin(request, tenant === true ? {} : { tenant }));
    });
  };
}

/**
 * Middleware for the app's own routes: verifies the request with a `@hookline/verifier` preset, answers a
 * provider's challenge, and puts the verified event on `ctx.state.webhook`.
 *
 * @example
 * ```ts
 * router.post('/github', verifyWebhook(github({ secret })), (ctx) => { ctx.body = { got: ctx.state.webhook.id }; });
 * ```
 */
export function verifyWebhook(verifier: Verifier): Middleware<WebhookState> {
  return async (ctx, next: Next) => {
    let verified: VerifiedEvent | undefined;
    await answering(ctx, async () => {
      const body = await rawBodyOf(ctx, verifier.maxBodyBytes);
      const result = await verifier.verify({ method: ctx.method, url: ctx.originalUrl, headers: ctx.headers, body });
      if (result.kind === 'challenge') return send(ctx, result.response);
      verified = result;
    });
    if (!verified) return;
    ctx.state.webhook = verified;
    await next();
  };
}

async function rawBodyOf(ctx: Context, limit: number): Promise<Uint8Array> {
  const kept = (ctx.request as { rawBody?: unknown }).rawBody;
  const body = kept instanceof Uint8Array ? kept : typeof kept === 'string' ? Buffer.from(kept, 'utf8') : await readStream(ctx, limit);
  if (body.byteLength > limit) throw tooLarge(limit);
  return body;
}

async function readStream(ctx: Context, limit: number): Promise<Uint8Array> {
  const hasBody = ctx.req.headers['transfer-encoding'] !== undefined || Number(ctx.req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return new Uint8Array(0);
  // A parser that read the stream without keeping `rawBody` leaves nothing exact to verify.
  if (ctx.req.readableEnded) {
    throw fail('raw_body_unavailable', `The body was parsed before hookline could read its exact bytes. Use ${KEEP_RAW_BODY}.`);
  }
  if (Number(ctx.req.headers['content-length']) > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Stop buffering as soon as the limit is passed: the rest is never held in memory.
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function send(ctx: Context, answer: HookResponse): void {
  ctx.status = answer.status;
  ctx.set(answer.headers);
  ctx.body = answer.body === undefined ? null : typeof answer.body === 'string' ? answer.body : Buffer.from(answer.body);
}

async function answering(ctx: Context, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!isHooklineError(error)) throw error;
    send(ctx, { status: error.status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(error.toJSON()) });
  }
}

function tooLarge(limit: number) {
  return fail('payload_too_large', `The request body is larger than ${limit} bytes.`, { limitBytes: limit });
}

export type { Verifier, VerifiedEvent };
