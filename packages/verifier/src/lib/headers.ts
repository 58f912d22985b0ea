import { HooklineError } from '@hookline/errors';
import type { WebhookRequest } from '../types.js';

/** Header lookup that ignores case. Returns every value given for the name (a repeated header gives several). */
export function headerValues(request: Pick<WebhookRequest, 'headers'>, name: string): string[] {
  const wanted = name.toLowerCase();
  const out: string[] = [];
  for (const [key, value] of Object.entries(request.headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    if (Array.isArray(value)) out.push(...value);
    else out.push(value);
  }
  return out;
}

/** The one value of a header that must appear exactly once: missing is `missing_header`, repeated is `duplicate_header`. */
export function requireHeader(request: Pick<WebhookRequest, 'headers'>, name: string): string {
  const values = headerValues(request, name);
  if (values.length === 0) throw new HooklineError('missing_header', `The ${name} header is missing.`, { details: { header: name } });
  if (values.length > 1) throw new HooklineError('duplicate_header', `The ${name} header was given more than once.`, { details: { header: name } });
  return values[0]!;
}

/** The one value of an optional header: undefined when absent, `duplicate_header` when repeated. */
export function optionalHeader(request: Pick<WebhookRequest, 'headers'>, name: string): string | undefined {
  const values = headerValues(request, name);
  if (values.length > 1) throw new HooklineError('duplicate_header', `The ${name} header was given more than once.`, { details: { header: name } });
  return values[0];
}
