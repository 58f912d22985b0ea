import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A prefixed id such as `msg_0lq3x9f2Kd8s7QwErTyUi`: time-ordered head (ms, base36) and 16 random base62 characters
 * (~95 bits), so ids sort by creation and cannot be guessed.
 */
export function newId(prefix: 'ep' | 'msg' | 'dlv' | 'att' | 'wrk', now: number): string {
  const bytes = randomBytes(16);
  let tail = '';
  for (const byte of bytes) tail += ALPHABET[byte % 62];
  return `${prefix}_${now.toString(36).padStart(9, '0')}${tail}`;
}
