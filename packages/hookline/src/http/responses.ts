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
 * is a bug or an outage, logged in full and answered as `internal` with nothing of it leaked.
 */
export function errorResponse(error: unknown, logger: Logger, headers: Record<string, string> = {}): HookResponse {
  if (isHooklineError(error)) {
    if (error.status >= 500) logger.error({ err: error, code: error.code }, 'hookline request failed');
    return jsonResponse(error.status, error.toJSON(), headers);
  }
  logger.error({ err: error }, 'hookline request failed unexpectedly');
  const internal = new HooklineError('internal', 'Something went wrong on our side; the request was not processed.');
  return jsonResponse(internal.status, internal.toJSON(), headers);
}
