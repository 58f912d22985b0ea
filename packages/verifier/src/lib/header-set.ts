import { HooklineError } from '@hookline/errors';
import type { WebhookRequest } from '../types.js';

/**
 * Reads several headers in one pass over the request headers, ignoring case (`names` are lower-case). Each gets its
 * one value or undefined. A header repeated is `duplicate_header`, except the informative ones from index
 * `firstWinsFrom` on (e.g. content-type), which keep their first value.
 */
export function readHeaders(
  request: Pick<WebhookRequest, 'headers'>,
  names: readonly string[],
  firstWinsFrom = names.length,
): Array<string | undefined> {
  const values: Array<string | undefined> = names.map(() => undefined);
  const headers = request.headers;
  // for-in over a plain object allocates nothing; the own-property check runs only on a name we want.
  for (const key in headers) {
    let index = names.indexOf(key);
    if (index < 0) index = names.indexOf(key.toLowerCase());
    if (index < 0 || !Object.hasOwn(headers, key)) continue;
    const value = headers[key];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    // Node gives strings; a hand-built request may not, and must still get a coded answer rather than a TypeError.
    const one = String(Array.isArray(value) ? value[0] : value);
    const repeated = values[index] !== undefined || (Array.isArray(value) && value.length > 1);
    if (repeated && index < firstWinsFrom) {
      throw new HooklineError('duplicate_header', `The ${names[index]} header was given more than once.`, { details: { header: names[index] } });
    }
    values[index] ??= one;
  }
  return values;
}

/** The value of a required header read by {@link readHeaders}: `missing_header` when absent. */
export function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new HooklineError('missing_header', `The ${name} header is missing.`, { details: { header: name } });
  return value;
}
