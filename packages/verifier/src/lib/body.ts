import { HooklineError } from '@hookline/errors';
import { bodyBytes } from './bytes.js';

/** The raw body bytes, refused as `payload_too_large` past the limit before any cryptography runs. */
export function limitedBody(body: unknown, maxBodyBytes: number): Uint8Array {
  const bytes = bodyBytes(body);
  if (bytes.length > maxBodyBytes) {
    throw new HooklineError('payload_too_large', `The body is larger than ${maxBodyBytes} bytes.`, { details: { maxBodyBytes } });
  }
  return bytes;
}

/** Checks a configured byte limit once, when the verifier is built. */
export function checkMaxBodyBytes(value: number | undefined, fallback: number): number {
  const limit = value ?? fallback;
  if (!Number.isSafeInteger(limit) || limit <= 0) {
    throw new HooklineError('invalid_config', 'maxBodyBytes must be a positive integer.');
  }
  return limit;
}

/** Checks a configured tolerance once, when the verifier is built. */
export function checkSeconds(value: number | undefined, fallback: number, option: string): number {
  const seconds = value ?? fallback;
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new HooklineError('invalid_config', `${option} must be a non-negative number of seconds.`, { details: { option } });
  }
  return seconds;
}
