import {
  createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, type JsonWebKey,
} from 'node:crypto';
import { HooklineError } from '@hookline/errors';

/** The asymmetric algorithms hookline signs JWTs with. */
export type SigningAlgorithm = 'ES256' | 'EdDSA' | 'RS256' | 'PS256';

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'EdDSA', 'RS256', 'PS256'];

/** A public JWK as published in a JWKS. */
export interface PublicJwk {
  kty: string;
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

/** A private JWK as kept in an app's secret store: the key material plus its `kid` and `alg`. */
export interface PrivateJwk extends Omit<PublicJwk, 'use'> {
  d: string;
  use?: 'sig';
  [member: string]: unknown;
}

/**
 * A JWT signing key: its private half (never leaves the process unless exported), its public JWK and its `kid`,
 * the RFC 7638 thumbprint of the public key.
 */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicJwk: PublicJwk;
}

const KEY_TYPE: Record<SigningAlgorithm, { kty: string; crv?: string }> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  RS256: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
};

// RFC 7638: the required members only, in lexicographic order, no whitespace.
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

function thumbprint(jwk: JsonWebKey): string {
  const members = THUMBPRINT_MEMBERS[jwk.kty as string] ?? [];
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

function fromPrivateKey(privateKey: KeyObject, alg: SigningAlgorithm): SigningKey {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const expected = KEY_TYPE[alg];
  if (jwk.kty !== expected.kty || (expected.crv !== undefined && jwk.crv !== expected.crv)) {
    throw new HooklineError('invalid_key', `This key cannot sign ${alg}.`, { details: { alg, kty: jwk.kty, crv: jwk.crv } });
  }
  if (jwk.kty === 'RSA' && (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new HooklineError('invalid_key', 'RSA signing keys must be at least 2048 bits.', { details: { alg } });
  }
  const kid = thumbprint(jwk);
  const publicJwk: PublicJwk = { kty: jwk.kty, kid, alg, use: 'sig' };
  for (const member of ['crv', 'x', 'y', 'n', 'e'] as const) {
    if (typeof jwk[member] === 'string') publicJwk[member] = jwk[member];
  }
  return Object.freeze({ kid, alg, privateKey, publicJwk: Object.freeze(publicJwk) });
}

/**
 * Generates a JWT signing key. ES256 by default; EdDSA (Ed25519), RS256 and PS256 (RSA 2048) too.
 *
 * @example
 * ```ts
 * const key = await generateSigningKey('EdDSA');
 * key.kid; // RFC 7638 thumbprint, e.g. "kTfQ3...": the `kid` of every token it signs
 * ```
 */
export async function generateSigningKey(alg: SigningAlgorithm = 'ES256'): Promise<SigningKey> {
  if (!isSigningAlgorithm(alg)) {
    throw new HooklineError('invalid_key', 'Unsupported signing algorithm.', { details: { alg, supported: SIGNING_ALGORITHMS } });
  }
  const privateKey = await new Promise<KeyObject>((resolve, reject) => {
    const done = (error: Error | null, _publicKey: KeyObject, key: KeyObject) => (error ? reject(error) : resolve(key));
    if (alg === 'ES256') generateKeyPair('ec', { namedCurve: 'P-256' }, done);
    else if (alg === 'EdDSA') generateKeyPair('ed25519', {}, done);
    else generateKeyPair('rsa', { modulusLength: 2048 }, done);
  });
  return fromPrivateKey(privateKey, alg);
}

/**
 * The private JWK of a key, with its `kid` and `alg`, to keep in the app's own secret store.
 *
 * @example
 * ```ts
 * const jwk = exportSigningKey(key);
 * await secrets.put('hookline-signing-key', JSON.stringify(jwk));
 * ```
 */
export function exportSigningKey(key: SigningKey): PrivateJwk {
  const jwk = key.privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: key.kid, alg: key.alg } as PrivateJwk;
}

/**
 * Loads a key exported by {@link exportSigningKey} (or any private EC P-256, Ed25519 or RSA JWK with an `alg`).
 * The `kid` is recomputed from the key material, so a JWK cannot claim another key's id.
 *
 * @example
 * ```ts
 * const key = importSigningKey(JSON.parse(await secrets.get('hookline-signing-key')));
 * ```
 */
export function importSigningKey(jwk: PrivateJwk | Record<string, unknown>): SigningKey {
  if (typeof jwk !== 'object' || jwk === null) throw new HooklineError('invalid_key', 'A signing key must be a JWK object.');
  const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : jwk.kty === 'OKP' ? 'EdDSA' : undefined);
  if (!isSigningAlgorithm(alg)) {
    throw new HooklineError('invalid_key', 'The JWK needs an "alg" of ES256, EdDSA, RS256 or PS256.', { details: { alg: String(alg) } });
  }
  if (typeof jwk.d !== 'string') throw new HooklineError('invalid_key', 'The JWK is not a private key.');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (cause) {
    throw new HooklineError('invalid_key', 'The JWK is not a valid private key.', { cause, details: { alg } });
  }
  const key = fromPrivateKey(privateKey, alg);
  if (typeof jwk.kid === 'string' && jwk.kid !== key.kid) {
    throw new HooklineError('invalid_key', 'The JWK "kid" is not the thumbprint of its key.', { details: { alg } });
  }
  return key;
}
