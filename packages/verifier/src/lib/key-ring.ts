import { createPublicKey, type KeyObject } from 'node:crypto';

/** What a JWS algorithm needs from a key and from node:crypto. */
export interface AlgorithmSpec {
  kty: 'EC' | 'OKP' | 'RSA';
  crv?: readonly string[];
  hash: string | null;
  pss?: boolean;
  /** Raw r||s length for ECDSA signatures. */
  signatureBytes?: number;
}

export const ASYMMETRIC_ALGORITHMS = {
  ES256: { kty: 'EC', crv: ['P-256'], hash: 'sha256', signatureBytes: 64 },
  ES384: { kty: 'EC', crv: ['P-384'], hash: 'sha384', signatureBytes: 96 },
  ES512: { kty: 'EC', crv: ['P-521'], hash: 'sha512', signatureBytes: 132 },
  EdDSA: { kty: 'OKP', crv: ['Ed25519', 'Ed448'], hash: null },
  Ed25519: { kty: 'OKP', crv: ['Ed25519'], hash: null },
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256', pss: true },
  PS384: { kty: 'RSA', hash: 'sha384', pss: true },
  PS512: { kty: 'RSA', hash: 'sha512', pss: true },
} as const satisfies Record<string, AlgorithmSpec>;

export type JwtAlgorithm = keyof typeof ASYMMETRIC_ALGORITHMS;

interface RingKey {
  kid: string | undefined;
  alg: string | undefined;
  kty: string;
  crv: string | undefined;
  key: KeyObject;
}

/** The usable public keys of a JWKS, imported once into node:crypto KeyObjects. */
export class KeyRing {
  readonly #keys: RingKey[] = [];

  constructor(jwks: unknown) {
    const list = typeof jwks === 'object' && jwks !== null && Array.isArray((jwks as { keys?: unknown }).keys)
      ? (jwks as { keys: unknown[] }).keys : [];
    for (const jwk of list) {
      if (typeof jwk !== 'object' || jwk === null) continue;
      const { kid, alg, kty, crv, use, key_ops: keyOps, d } = jwk as Record<string, unknown>;
      if (d !== undefined || typeof kty !== 'string') continue; // a private key never belongs in a JWKS
      if (use !== undefined && use !== 'sig') continue;
      if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) continue;
      let key: KeyObject;
      try {
        key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
      } catch {
        continue; // one unusable key must not take the others down
      }
      this.#keys.push({
        kid: typeof kid === 'string' ? kid : undefined,
        alg: typeof alg === 'string' ? alg : undefined,
        kty,
        crv: typeof crv === 'string' ? crv : undefined,
        key,
      });
    }
  }

  static isKeySet(value: unknown): boolean {
    return typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys);
  }

  /** The keys that may have signed a token with this `alg` and `kid`. */
  find(alg: JwtAlgorithm, kid: string | undefined): KeyObject[] {
    const spec: AlgorithmSpec = ASYMMETRIC_ALGORITHMS[alg];
    const out: KeyObject[] = [];
    for (const entry of this.#keys) {
      if (kid !== undefined && entry.kid !== kid) continue;
      if (entry.alg !== undefined && entry.alg !== alg && !(alg === 'Ed25519' && entry.alg === 'EdDSA')) continue;
      if (entry.kty !== spec.kty) continue;
      if (spec.crv !== undefined && (entry.crv === undefined || !spec.crv.includes(entry.crv))) continue;
      out.push(entry.key);
    }
    return out;
  }
}
