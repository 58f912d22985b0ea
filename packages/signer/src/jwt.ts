import { constants, hash, randomBytes, sign as cryptoSign, type SignKeyObjectInput } from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import type { PublicJwk, SigningKey } from './keys.js';
import { base64url } from './lib/base64url.js';

/** Where a key is in its life: published ahead (`next`), signing (`active`), or published until its tokens expire (`retiring`). */
export type SigningKeyStatus = 'next' | 'active' | 'retiring';

/** One key of a {@link JwtSigner} with its place in the rotation. */
export interface SigningKeyEntry {
  key: SigningKey;
  status: SigningKeyStatus;
  /**
   * When a `retiring` key stopped signing (unix ms or Date). It leaves the JWKS once every token it signed has
   * expired (`ttlSeconds` + `clockToleranceSeconds` later). Without it, a retiring key stays published until removed.
   */
  retiredAt?: number | Date;
}

export interface JwtSignerOptions {
  /** The `iss` claim: the sender's (or tenant's) domain, e.g. `acme.hookline.dev`. */
  issuer: string;
  /** The keys: exactly one `active`; a bare key counts as `active`. */
  keys: ReadonlyArray<SigningKey | SigningKeyEntry>;
  /** Token lifetime after `iat` (default 120). */
  ttlSeconds?: number;
  /** Clock skew allowed to receivers, used for `nbf` (default 60 s back) and to keep retiring keys published. */
  clockToleranceSeconds?: number;
  /** Current time in milliseconds; injectable for tests. */
  now?: () => number;
  /**
   * Compute each signature on libuv's threadpool (the callback form of `crypto.sign`) instead of the calling thread.
   * The event loop stays free while the ~35 µs of an ES256 signature run elsewhere, so a process sending many
   * webhooks at once (the dispatcher turns this on) sends more per second; one signature on its own takes longer, by
   * the thread hop. Default false.
   */
  offThread?: boolean;
}

export interface JwtSignRequest {
  method: string;
  /** The exact URL the request goes to; its host is the `aud`, the URL itself the `htu`. */
  url: string;
  /** The exact body bytes sent (a string is sent as UTF-8). */
  body: string | Uint8Array;
}

/** A public JSON Web Key Set, as served at `/.well-known/jwks.json`. */
export interface PublicJwks {
  keys: PublicJwk[];
}

export interface JwtSigner {
  /** The `kid` of the key signing now. */
  readonly activeKid: string;
  /** The headers to send with the request: `authorization: Bearer <jwt>`. */
  sign(request: JwtSignRequest): Promise<Record<string, string>>;
  /** The public keys receivers may need now: the active one, the next one and those still valid. */
  jwks(): PublicJwks;
}

const DEFAULT_TTL_SECONDS = 120;
const JTI_BYTES = 18;
const TARGET_CACHE_SIZE = 256;
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;

interface PreparedKey {
  encodedHeader: string;
  input: SignKeyObjectInput;
  algorithm: string | null;
}

function prepare(key: SigningKey): PreparedKey {
  const encodedHeader = base64url(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'JWT' }));
  switch (key.alg) {
    case 'ES256':
      // JWS wants the raw r||s signature, not DER.
      return { encodedHeader, algorithm: 'sha256', input: { key: key.privateKey, dsaEncoding: 'ieee-p1363' } };
    case 'EdDSA':
      return { encodedHeader, algorithm: null, input: { key: key.privateKey } };
    case 'RS256':
      return { encodedHeader, algorithm: 'sha256', input: { key: key.privateKey } };
    case 'PS256':
      return {
        encodedHeader,
        algorithm: 'sha256',
        input: { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      };
  }
}

/** Signs on libuv's threadpool (the callback form of crypto.sign), so the signature does not hold up the event loop. */
function signOffThread(prepared: PreparedKey, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    cryptoSign(prepared.algorithm, data, prepared.input, (error, signature) => (error ? reject(error) : resolve(signature)));
  });
}

/** Token ids from one pooled random buffer: one getrandom call per 1000 tokens instead of one per token. */
function jtiSource(): () => string {
  let pool = randomBytes(0);
  let offset = 0;
  return () => {
    if (offset + JTI_BYTES > pool.length) {
      pool = randomBytes(JTI_BYTES * 1000);
      offset = 0;
    }
    const jti = pool.toString('base64url', offset, offset + JTI_BYTES);
    offset += JTI_BYTES;
    return jti;
  };
}

function isEntry(value: SigningKey | SigningKeyEntry): value is SigningKeyEntry {
  return typeof value === 'object' && value !== null && 'key' in value && 'status' in value;
}

function isSigningKey(value: unknown): value is SigningKey {
  return typeof value === 'object' && value !== null && typeof (value as SigningKey).kid === 'string'
    && typeof (value as SigningKey).privateKey === 'object' && typeof (value as SigningKey).publicJwk === 'object';
}

function toMillis(value: number | Date | undefined): number | undefined {
  return value instanceof Date ? value.getTime() : value;
}

/**
 * Signs webhooks with a short-lived JWT bearer token (the ConductorOne scheme): claims `aud` (host of the URL),
 * `c1typ: "wh"`, `htb_s256` (base64 SHA-256 of the body), `htm`, `htu`, `iat`, `nbf`, `exp`, `iss`, `jti`.
 *
 * Rotation: publish the new key as `next` (receivers cache the JWKS, so give them at least their cache age), then make
 * it `active` and the old one `retiring` with `retiredAt`; the old key leaves the JWKS once its last token expired.
 *
 * @example
 * ```ts
 * const signer = createJwtSigner({ issuer: 'acme.example', keys: [await generateSigningKey()] });
 * const headers = await signer.sign({ method: 'POST', url: 'https://receiver.example/hooks', body: '{"a":1}' });
 * // { authorization: 'Bearer eyJ...' }; serve signer.jwks() at /.well-known/jwks.json
 * ```
 */
export function createJwtSigner(options: JwtSignerOptions): JwtSigner {
  if (typeof options?.issuer !== 'string' || options.issuer === '') {
    throw new HooklineError('invalid_config', 'A JWT signer needs an issuer.');
  }
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const toleranceSeconds = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || !Number.isInteger(toleranceSeconds) || toleranceSeconds < 0) {
    throw new HooklineError('invalid_config', 'ttlSeconds must be a positive integer and clockToleranceSeconds a non-negative one.');
  }
  if (!Array.isArray(options.keys)) throw new HooklineError('invalid_config', 'keys is a list of signing keys.');
  const entries: SigningKeyEntry[] = options.keys.map((k) => (isEntry(k) ? k : { key: k, status: 'active' }));
  const active = entries.filter((e) => e.status === 'active');
  if (active.length !== 1) {
    throw new HooklineError('invalid_config', 'A JWT signer needs exactly one active key.', { details: { active: active.length } });
  }
  for (const entry of entries) {
    if (!isSigningKey(entry.key)) {
      throw new HooklineError('invalid_config', 'keys holds SigningKeys from generateSigningKey or importSigningKey.');
    }
    if (!['next', 'active', 'retiring'].includes(entry.status)) {
      throw new HooklineError('invalid_config', 'A key status is next, active or retiring.', { details: { kid: entry.key.kid } });
    }
  }
  const now = options.now ?? Date.now;
  const activeKey = active[0]!.key;
  const prepared = prepare(activeKey);
  const issuer = options.issuer;
  const offThread = options.offThread === true;
  const order: Record<SigningKeyStatus, number> = { active: 0, next: 1, retiring: 2 };
  const published = [...entries].sort((a, b) => order[a.status] - order[b.status]);

  const nextJti = jtiSource();
  // Endpoints repeat: parse each URL once (bounded, so a stream of distinct URLs cannot grow it).
  const targets = new Map<string, { aud: string; htu: string }>();
  function targetOf(url: string): { aud: string; htu: string } {
    let target = targets.get(url);
    if (target !== undefined) return target;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new HooklineError('invalid_endpoint', 'The URL to sign for is not an absolute URL.');
    }
    parsed.hash = '';
    target = { aud: parsed.host, htu: parsed.href };
    if (targets.size >= TARGET_CACHE_SIZE) targets.clear();
    targets.set(url, target);
    return target;
  }

  return {
    activeKid: activeKey.kid,

    async sign({ method, url, body }: JwtSignRequest): Promise<Record<string, string>> {
      if (typeof url !== 'string') throw new HooklineError('invalid_endpoint', 'The URL to sign for is not an absolute URL.');
      if (typeof method !== 'string' || method === '') throw new HooklineError('invalid_endpoint', 'The HTTP method is missing.');
      const target = targetOf(url);
      const iat = Math.floor(now() / 1000);
      const claims = {
        aud: target.aud,
        c1typ: 'wh',
        exp: iat + ttlSeconds,
        htb_s256: hash('sha256', body, 'base64'),
        htm: method.toUpperCase(),
        htu: target.htu,
        iat,
        iss: issuer,
        jti: nextJti(),
        nbf: iat - toleranceSeconds,
      };
      const signingInput = `${prepared.encodedHeader}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
      const data = Buffer.from(signingInput);
      const signature = offThread ? await signOffThread(prepared, data) : cryptoSign(prepared.algorithm, data, prepared.input);
      return { authorization: `Bearer ${signingInput}.${signature.toString('base64url')}` };
    },

    jwks(): PublicJwks {
      const nowMs = now();
      const keys: PublicJwk[] = [];
      for (const entry of published) {
        const retiredAt = toMillis(entry.retiredAt);
        // A retiring key stays until the last token it could have signed is past its exp, plus receivers' skew.
        if (entry.status === 'retiring' && retiredAt !== undefined && nowMs > retiredAt + (ttlSeconds + toleranceSeconds) * 1000) continue;
        if (keys.some((k) => k.kid === entry.key.kid)) continue;
        keys.push({ ...entry.key.publicJwk });
      }
      return { keys };
    },
  };
}
