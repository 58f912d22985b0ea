import { HooklineError, isHooklineError } from '@hookline/errors';
import type { HookResponse } from '../contract.js';
import type { Logger } from './logger.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** A JSON response. Every hookline answer with a body is JSON, errors included. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HookResponse {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

export function noContent(): HookResponse {
  return { status: 204, headers: {} };
}

/**
 * The one error shape, `{ "error": { code, message, details? } }`. A HooklineError speaks for itself; anything else
 * is a bug or an outage, logged in full and answered as `internal` with nothing of it leaked. With `public`, a
 * server-side HooklineError (a 500 such as `invalid_config`) is logged and answered as `internal` too: a provider or
 * a stranger has no business learning how the server is configured. A 503 stays, so senders know to retry.
 */
export function errorResponse(
  error: unknown,
  logger: Logger,
  headers: Record<string, string> = {},
  audience: 'public' | 'admin' = 'admin',
): HookResponse {
  if (isHooklineError(error)) {
    if (error.status < 500) return jsonResponse(error.status, error.toJSON(), headers);
    logger.error({ err: error, code: error.code }, 'hookline request failed');
    if (audience === 'admin' || error.status === 503) return jsonResponse(error.status, error.toJSON(), headers);
    return internalResponse(headers);
  }
  logger.error({ err: error }, 'hookline request failed unexpectedly');
  return internalResponse(headers);
}

function internalResponse(headers: Record<string, string>): HookResponse {
  const internal = new HooklineError('internal', 'Something went wrong on our side; the request was not processed.');
  return jsonResponse(internal.status, internal.toJSON(), headers);
}
