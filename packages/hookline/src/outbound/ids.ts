import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// One system call per 256 ids instead of one per id: ids are minted on every publish, delivery and attempt.
const pool = new Uint8Array(4096);
let offset = pool.length;

/**
 * A prefixed id such as `msg_0lq3x9f2Kd8s7QwErTyUi`: time-ordered head (ms, base36) and 16 random base62 characters
 * (~95 bits), so ids sort by creation and cannot be guessed.
 */
export function newId(prefix: 'ep' | 'msg' | 'dlv' | 'att' | 'wrk', now: number): string {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let tail = '';
  for (let i = offset; i < offset + 16; i++) tail += ALPHABET[pool[i]! % 62];
  offset += 16;
  return `${prefix}_${now.toString(36).padStart(9, '0')}${tail}`;
}
