import { HooklineError } from '@hookline/errors';
import type { HookRequest } from '../contract.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The one value of a header, case-insensitively; the first when repeated. */
export function headerValue(request: HookRequest, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(request.headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * Refuses a body over `limit` bytes with `payload_too_large` (413): by its declared `Content-Length` first, so an
 * adapter that stopped reading early is refused the same way, then by the bytes actually given.
 */
export function assertBodyWithin(request: HookRequest, limit: number): void {
  const declared = Number(headerValue(request, 'content-length'));
  if ((Number.isFinite(declared) && declared > limit) || request.body.byteLength > limit) {
    throw new HooklineError('payload_too_large', `The request body is larger than ${limit} bytes.`, {
      details: { limitBytes: limit },
    });
  }
}

/**
 * Parses a JSON request body: `payload_too_large` over `limit`, `unsupported_media_type` for a declared non-JSON
 * type, `invalid_json` for bytes that are not JSON. An empty body is `undefined` (for routes where it is optional).
 */
export function readJson(request: HookRequest, limit: number): unknown {
  assertBodyWithin(request, limit);
  const type = headerValue(request, 'content-type');
  if (type !== undefined && type.trim() !== '' && !/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type.trim())) {
    throw new HooklineError('unsupported_media_type', 'Send the body as application/json.', { details: { contentType: type } });
  }
  if (request.body.byteLength === 0) return undefined;
  let text: string;
  try {
    text = decoder.decode(request.body);
  } catch {
    throw new HooklineError('invalid_json', 'The request body is not valid UTF-8.');
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the body, which may hold a secret: say only that it failed.
    throw new HooklineError('invalid_json', 'The request body is not valid JSON.');
  }
}

/** A JSON body that must be an object: a missing body or an array is `invalid_payload`. */
export function readJsonObject(request: HookRequest, limit: number): Record<string, unknown> {
  const value = readJson(request, limit);
  if (value === undefined) throw new HooklineError('invalid_payload', 'A JSON object body is required.');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HooklineError('invalid_payload', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}
