import type { VerifiedEvent } from '../types.js';
import { parsePayload } from './payload.js';

/**
 * The event a verifier returns, payload parsed once from the verified bytes. A plain data object (not a lazy getter):
 * V8 makes own accessors cost as much as the parse they would save, and spreading an event must keep its payload.
 */
export function verifiedEvent(
  rawBody: Uint8Array,
  contentType: string | undefined,
  fields: Omit<VerifiedEvent, 'kind' | 'payload' | 'rawBody'>,
): VerifiedEvent {
  return { kind: 'event', payload: parsePayload(rawBody, contentType), rawBody, ...fields };
}
