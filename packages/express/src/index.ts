/**
 * Express 5 adapter: translates an Express request into hookline's plain request and writes the answer back.
 * Every protocol rule lives in `hookline`; this file only moves bytes.
 */
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { HooklineError, fail, isHooklineError } from '@hookline/errors';
import type { Verifier, VerifiedEvent } from '@hookline/verifier';
import type { HookRequest, HookResponse, Hookline } from 'hookline';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified webhook, set by `verifyWebhook()`. */
      webhook?: VerifiedEvent;
    }
  }
}

/** Decides who may use the admin API: a tenant id, `true` for the default tenant, or `false`/`undefined` for 401. */
export type AuthorizeAdmin = (req: Request) => string | boolean | undefined | Promise<string | boolean | undefined>;

export interface HooklineRouterOptions {
  /** Mounts `/admin/...` behind the app's own check. Without it the admin API is not served. */
  admin?: { authorize: AuthorizeAdmin };
  /** Largest body buffered, in bytes (default 1 MiB); sources may set a smaller limit. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const KEEP_RAW_BODY = 'app.use(express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } }))';

/**
 * A router serving hookline's public routes (JWKS, callbacks, inbound) and, with `admin`, the admin API.
 *
 * @example
 * ```ts
 * app.use('/hooks', hooklineRouter(hooks, { admin: { authorize: (req) => req.user?.tenantId } }));
 * ```
 */
export function hooklineRouter(hooks: Pick<Hookline, 'handle' | 'handleAdmin'>, options: HooklineRouterOptions = {}): Router {
  const router = Router();
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  router.use(express.raw({ type: () => true, limit }));
  router.use(async (req, res, next) => {
    try {
      const request = toHookRequest(req, limit);
      const isAdmin = req.path === '/admin' || req.path.startsWith('/admin/');
      if (!isAdmin || !options.admin) return send(res, await hooks.handle(request));
      const tenant = await options.admin.authorize(req);
      if (tenant === undefined || tenant === false) throw fail('unauthorized', 'The admin API needs an authorised caller.');
      send(res, await hooks.handleAdmin(request, tenant === true ? {} : { tenant }));
    } catch (error) {
      answerError(error, res, next);
    }
  });
  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => answerError(error, res, next));
  return router;
}

/**
 * Middleware for the app's own routes: verifies the request with a `@hookline/verifier` preset, answers a
 * provider's challenge, and puts the verified event on `req.webhook`.
 *
 * @example
 * ```ts
 * app.post('/github', verifyWebhook(github({ secret })), (req, res) => { res.json({ got: req.webhook!.id }); });
 * ```
 */
export function verifyWebhook(verifier: Verifier): RequestHandler {
  const readRaw = express.raw({ type: () => true, limit: verifier.maxBodyBytes });
  return (req, res, next) => {
    readRaw(req, res, async (parseError?: unknown) => {
      let result: Awaited<ReturnType<Verifier['verify']>>;
      try {
        if (parseError) throw parseError;
        result = await verifier.verify(toHookRequest(req, verifier.maxBodyBytes, req.originalUrl));
      } catch (error) {
        return answerError(error, res, next);
      }
      if (result.kind === 'challenge') return send(res, result.response);
      req.webhook = result;
      next();
    });
  };
}

/** `url` is relative to the router's mount point for hookline's routes, the whole target for the app's own. */
function toHookRequest(req: Request, limit: number, url = req.url): HookRequest {
  const body = rawBodyOf(req);
  if (body.byteLength > limit) throw tooLarge(limit);
  return { method: req.method, url, headers: req.headers, body };
}

function rawBodyOf(req: Request): Uint8Array {
  // `rawBody` is what apps (and NestJS's `rawBody: true`) conventionally keep from `express.json({ verify })`.
  const kept = (req as { rawBody?: unknown }).rawBody;
  if (req.body instanceof Uint8Array) return req.body;
  if (kept instanceof Uint8Array) return kept;
  if (typeof kept === 'string') return Buffer.from(kept, 'utf8');
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return new Uint8Array(0);
  throw fail('raw_body_unavailable', `The body was parsed before hookline could read its exact bytes. Mount hookline before the body parser, or keep the raw body: ${KEEP_RAW_BODY}`);
}

function send(res: Response, answer: HookResponse): void {
  // setHeader, not res.set: Express would rewrite the content type hookline chose.
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.end(answer.body);
}

/** body-parser errors (too large, aborted, bad encoding) become hookline's coded JSON errors. */
function answerError(error: unknown, res: Response, next: NextFunction): void {
  const parserError = error as { type?: string; status?: number; expose?: boolean; limit?: number };
  if (!isHooklineError(error) && parserError?.type === 'entity.too.large') error = tooLarge(Number(parserError.limit));
  else if (!isHooklineError(error) && parserError?.expose && Number(parserError.status) < 500) error = new HooklineError('bad_request', 'The request body could not be read.', { status: Number(parserError.status) });
  if (!isHooklineError(error) || res.headersSent) return next(error);
  send(res, { status: error.status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(error.toJSON()) });
}

function tooLarge(limit: number): HooklineError {
  return fail('payload_too_large', `The request body is larger than ${limit} bytes.`, { limitBytes: limit });
}

export type { Verifier, VerifiedEvent };
