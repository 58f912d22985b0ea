import {
  createHmac, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import { base64, fromBase64, toBytes } from './lib/base64url.js';

export interface StandardSignerOptionsBase {
  /** Current time in milliseconds; injectable for tests. */
  now?: () => number;
}

/**
 * One secret (`whsec_…` for v1 HMAC-SHA256, `whsk_…` for v1a Ed25519), or several during a rotation: each gives one
 * signature in `webhook-signature`, space-separated, so receivers holding either secret accept the request.
 */
export type StandardSignerOptions = StandardSignerOptionsBase & ({ secret: string } | { secrets: readonly string[] });

export interface StandardSignRequest {
  /** The message id, the same on every retry (`webhook-id`). Generated (`msg_…`) when absent. */
  id?: string;
  /** Unix seconds (or a Date) of this attempt; now by default. */
  timestamp?: number | Date;
  /** The exact body bytes sent (a string is sent as UTF-8). */
  body: string | Uint8Array;
}

export interface StandardSigner {
  /** The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers for one attempt. */
  sign(request: StandardSignRequest): Record<string, string>;
}

type PreparedSecret = { version: 'v1'; key: KeyObject } | { version: 'v1a'; key: KeyObject };

const HMAC_PREFIX = 'whsec_';
const SECRET_KEY_PREFIX = 'whsk_';
const PUBLIC_KEY_PREFIX = 'whpk_';
// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function ed25519PrivateKey(secretKey: string): KeyObject {
  const raw = fromBase64(secretKey.slice(SECRET_KEY_PREFIX.length));
  // 32 bytes is the seed; 64 bytes is libsodium's seed || public key.
  if (raw === undefined || (raw.length !== 32 && raw.length !== 64)) {
    throw new HooklineError('invalid_key', 'A whsk_ key is the base64 of a 32-byte Ed25519 seed (or 64-byte seed and public key).');
  }
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
}

function prepareSecret(secret: string): PreparedSecret {
  if (typeof secret !== 'string' || secret === '') throw new HooklineError('invalid_key', 'A Standard Webhooks secret must be a non-empty string.');
  if (secret.startsWith(SECRET_KEY_PREFIX)) return { version: 'v1a', key: ed25519PrivateKey(secret) };
  if (secret.startsWith(PUBLIC_KEY_PREFIX)) throw new HooklineError('invalid_key', 'A whpk_ public key cannot sign; give the whsk_ secret key.');
  const raw = fromBase64(secret.startsWith(HMAC_PREFIX) ? secret.slice(HMAC_PREFIX.length) : secret);
  if (raw === undefined || raw.length < 16) {
    throw new HooklineError('invalid_key', 'A whsec_ secret is the base64 of at least 16 random bytes.');
  }
  return { version: 'v1', key: createSecretKey(raw) };
}

/**
 * Signs webhooks the Standard Webhooks way: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
 * for `whsec_` secrets, `v1a,<base64 Ed25519 signature>` for `whsk_` keys.
 *
 * @example
 * ```ts
 * const signer = createStandardSigner({ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
 * signer.sign({ id: 'msg_1', body: '{"type":"ping"}' });
 * // { 'webhook-id': 'msg_1', 'webhook-timestamp': '1700000000', 'webhook-signature': 'v1,...' }
 * ```
 */
export function createStandardSigner(options: StandardSignerOptions): StandardSigner {
  if (typeof options !== 'object' || options === null) throw new HooklineError('invalid_config', 'Give a secret or secrets.');
  const list = 'secrets' in options ? options.secrets : [options.secret];
  if (!Array.isArray(list) || list.length === 0) throw new HooklineError('invalid_config', 'A Standard Webhooks signer needs at least one secret.');
  const secrets = list.map(prepareSecret);
  const now = options.now ?? Date.now;

  return {
    sign({ id, timestamp, body }: StandardSignRequest): Record<string, string> {
      const messageId = id ?? `msg_${randomBytes(16).toString('base64url')}`;
      if (typeof messageId !== 'string' || messageId === '' || /[\s,]/.test(messageId)) {
        throw new HooklineError('bad_request', 'A webhook id is a non-empty string without spaces or commas.');
      }
      const seconds = timestamp === undefined ? Math.floor(now() / 1000)
        : timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
      if (!Number.isSafeInteger(seconds) || seconds < 0) throw new HooklineError('timestamp_invalid', 'The timestamp must be whole unix seconds.');
      const prefix = `${messageId}.${seconds}.`;
      const bytes = toBytes(body);
      const signatures = secrets.map((secret) => {
        if (secret.version === 'v1') {
          return `v1,${createHmac('sha256', secret.key).update(prefix).update(bytes).digest('base64')}`;
        }
        return `v1a,${base64(cryptoSign(null, Buffer.concat([Buffer.from(prefix), bytes]), secret.key))}`;
      });
      return { 'webhook-id': messageId, 'webhook-timestamp': String(seconds), 'webhook-signature': signatures.join(' ') };
    },
  };
}

/**
 * A new random Standard Webhooks secret: `whsec_…` (24 random bytes) for v1 HMAC, `whsk_…` (an Ed25519 seed) for v1a.
 * Give receivers the whsec_ itself, or {@link standardPublicKey} of the whsk_.
 *
 * @example
 * ```ts
 * const secret = generateStandardSecret();          // 'whsec_…'
 * const signingKey = generateStandardSecret('v1a');  // 'whsk_…'
 * ```
 */
export function generateStandardSecret(version: 'v1' | 'v1a' = 'v1'): string {
  if (version === 'v1') return `${HMAC_PREFIX}${randomBytes(24).toString('base64')}`;
  if (version !== 'v1a') throw new HooklineError('invalid_config', 'The version is v1 (HMAC) or v1a (Ed25519).');
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(ED25519_PKCS8_PREFIX.length);
  return `${SECRET_KEY_PREFIX}${seed.toString('base64')}`;
}

/**
 * The `whpk_…` public key of a `whsk_…` secret key: what v1a receivers verify with.
 *
 * @example
 * ```ts
 * const publicKey = standardPublicKey(generateStandardSecret('v1a')); // 'whpk_…'
 * ```
 */
export function standardPublicKey(secretKey: string): string {
  if (typeof secretKey !== 'string' || !secretKey.startsWith(SECRET_KEY_PREFIX)) {
    throw new HooklineError('invalid_key', 'Only a whsk_ secret key has a public key.');
  }
  const jwk = createPublicKey(ed25519PrivateKey(secretKey)).export({ format: 'jwk' });
  return `${PUBLIC_KEY_PREFIX}${Buffer.from(jwk.x as string, 'base64url').toString('base64')}`;
}
