import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { HooklineError } from '@hookline/errors';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Seals secrets at rest with AES-256-GCM under the app's key; the admin API only ever shows a hint. */
export interface SecretBox {
  /** `v1.<iv>.<tag>.<ciphertext>` (base64url), authenticated: a tampered value fails to open. */
  seal(plaintext: string): string;
  open(sealed: string): string;
  isSealed(value: unknown): value is string;
}

/**
 * Creates a secret box from a 32-byte key: raw bytes, 64 hex characters or base64 of 32 bytes.
 * A passphrase of any other form is stretched with SHA-256 (fine for a random token, not for a human password).
 *
 * @example
 * ```ts
 * const box = createSecretBox(process.env.HOOKLINE_SECRET_KEY!);
 * const sealed = box.seal('whsec_...');
 * box.open(sealed); // 'whsec_...'
 * ```
 */
export function createSecretBox(key: string | Uint8Array): SecretBox {
  const keyBytes = normaliseKey(key);
  return {
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keyBytes, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
    },
    open(sealed) {
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== VERSION) {
        throw new HooklineError('invalid_config', 'A stored secret is not in the sealed format.');
      }
      try {
        const iv = Buffer.from(parts[1]!, 'base64url');
        const tag = Buffer.from(parts[2]!, 'base64url');
        if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('bad lengths');
        const decipher = createDecipheriv('aes-256-gcm', keyBytes, iv);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64url')), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new HooklineError('invalid_config', 'A stored secret could not be opened: wrong secret key or tampered data.', { cause });
      }
    },
    isSealed(value): value is string {
      return typeof value === 'string' && value.startsWith(`${VERSION}.`) && value.split('.').length === 4;
    },
  };
}

/** A short, safe reminder of a secret: its prefix and last four characters (`whsec_…k3Qz`). */
export function secretHint(secret: string): string {
  const prefix = /^[a-z]+_/.exec(secret)?.[0] ?? '';
  return secret.length <= prefix.length + 8 ? `${prefix}…` : `${prefix}…${secret.slice(-4)}`;
}

/**
 * A key for one purpose derived from the app's secret key (HKDF-SHA256), so one configured key can seal secrets and
 * mint callback tokens without either use weakening the other.
 *
 * @example
 * ```ts
 * const tokenKey = deriveSubkey(process.env.HOOKLINE_SECRET_KEY!, 'hookline callback tokens');
 * ```
 */
export function deriveSubkey(key: string | Uint8Array, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', normaliseKey(key), new Uint8Array(0), purpose, 32));
}

function normaliseKey(key: string | Uint8Array): Buffer {
  if (key instanceof Uint8Array) {
    if (key.length !== 32) throw new HooklineError('invalid_config', 'The secret key must be 32 bytes.');
    return Buffer.from(key);
  }
  if (/^[0-9a-fA-F]{64}$/.test(key)) return Buffer.from(key, 'hex');
  const decoded = Buffer.from(key, 'base64');
  if (decoded.length === 32 && /^[A-Za-z0-9+/_-]{43}=?$/.test(key)) return decoded;
  if (key.length < 16) throw new HooklineError('invalid_config', 'The secret key is too short: use 32 random bytes (64 hex characters).');
  return createHash('sha256').update(key, 'utf8').digest();
}
