import { constants, createHash, verify as cryptoVerify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import { createRemoteJWKSet, type JSONWebKeySet } from 'jose';
import { HooklineError } from '@hookline/errors';
import { base64Bytes } from './lib/base64.js';
import { safeEqual } from './lib/bytes.js';
import { checkMaxBodyBytes, checkSeconds, limitedBody } from './lib/body.js';
import { readHeaders, required } from './lib/header-set.js';
import { ASYMMETRIC_ALGORITHMS, KeyRing, type JwtAlgorithm } from './lib/key-ring.js';
import { parsePayload } from './lib/payload.js';
import { assertFirstDelivery } from './replay.js';
import { DEFAULT_MAX_BODY_BYTES, type CommonVerifierOptions, type VerifiedEvent, type Verifier, type WebhookRequest } from './types.js';

export type { JwtAlgorithm } from './lib/key-ring.js';

export interface JwtVerifierOptions extends Omit<CommonVerifierOptions, 'toleranceSeconds'> {
  /** The sender's JWKS URL (fetched and cached) or the key set itself. */
  jwks: string | URL | JSONWebKeySet;
  /** The expected `iss` (the sender's or tenant's domain); several when any of them may sign. */
  issuer: string | readonly string[];
  /** The expected `aud`; by default the host of the public URL the request was sent to. */
  audience?: string | readonly string[];
  /** Accepted signature algorithms (default: every asymmetric one). Symmetric and `none` are never accepted. */
  algorithms?: readonly JwtAlgorithm[];
  /**
   * The public URL the sender was given, to check `htu` against (never the Host header). An origin such as
   * `https://hooks.example.com` is joined with the request path; a URL with a path is taken as the exact endpoint URL.
   * Without it, an absolute request URL is used, else only the path and query of `htu` are checked.
   */
  publicUrl?: string | ((request: WebhookRequest) => string);
  /** Clock skew allowed on `exp`, `nbf` and `iat` (default 30 s). */
  clockToleranceSeconds?: number;
  /** How long a fetched JWKS is trusted before it is fetched again (default 600 s). */
  jwksCacheMaxAgeSeconds?: number;
  /** The least time between two fetches triggered by an unknown `kid` (default 30 s). */
  jwksCooldownSeconds?: number;
  /** Time limit of one JWKS fetch (default 5000 ms). */
  jwksTimeoutMs?: number;
}

const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;
const SHA256_BYTES = 32;
const HEADERS = ['authorization', 'content-type'] as const;
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Where verification keys come from: a fixed set, or a remote JWKS cached with jose. */
interface KeySource {
  keysFor(alg: JwtAlgorithm, kid: string | undefined): Promise<KeyObject[]>;
}

function localKeySource(jwks: JSONWebKeySet): KeySource {
  const ring = new KeyRing(jwks);
  return { keysFor: async (alg, kid) => ring.find(alg, kid) };
}

function remoteKeySource(url: URL, maxAgeMs: number, cooldownMs: number, timeoutMs: number): KeySource {
  const remote = createRemoteJWKSet(url, { cacheMaxAge: maxAgeMs, cooldownDuration: cooldownMs, timeoutDuration: timeoutMs });
  let ring: KeyRing | undefined;
  let failedAt = -Infinity;

  async function refresh(): Promise<void> {
    // After a failed fetch, wait out the cooldown instead of making every request wait on a dead JWKS endpoint.
    if (Date.now() - failedAt < cooldownMs) {
      if (ring !== undefined) return;
      throw new HooklineError('jwks_unavailable', 'The JWKS could not be fetched.', { details: { jwks: url.href } });
    }
    try {
      await remote.reload();
      ring = new KeyRing(remote.jwks());
    } catch (cause) {
      failedAt = Date.now();
      // A stale key set keeps verifying while the endpoint is down; only a first fetch failure fails the request.
      if (ring === undefined) {
        throw new HooklineError('jwks_unavailable', 'The JWKS could not be fetched.', { cause, details: { jwks: url.href } });
      }
    }
  }

  return {
    async keysFor(alg, kid) {
      if (ring === undefined || !remote.fresh) await refresh();
      let keys = ring!.find(alg, kid);
      if (keys.length === 0 && !remote.coolingDown) {
        await refresh(); // a new kid: the sender may have rotated since the last fetch
        keys = ring!.find(alg, kid);
      }
      return keys;
    },
  };
}

function decodeJson(segment: string): unknown {
  try {
    return JSON.parse(textDecoder.decode(Buffer.from(segment, 'base64url')));
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function normalizeUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    url.hash = '';
    return url.href;
  } catch {
    return undefined;
  }
}

function pathAndQuery(text: string): string | undefined {
  try {
    const url = new URL(text, 'http://relative.invalid');
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

function claimMismatch(claim: string, message: string): HooklineError {
  return new HooklineError('claim_mismatch', message, { details: { claim } });
}

function verifySignature(alg: JwtAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const spec = ASYMMETRIC_ALGORITHMS[alg];
  const input: VerifyKeyObjectInput = { key };
  if (spec.kty === 'EC') {
    if (signature.length !== spec.signatureBytes) return false;
    input.dsaEncoding = 'ieee-p1363';
  }
  if ('pss' in spec) {
    input.padding = constants.RSA_PKCS1_PSS_PADDING;
    input.saltLength = constants.RSA_PSS_SALTLEN_DIGEST;
  }
  try {
    return cryptoVerify(spec.hash, data, input, signature);
  } catch {
    return false; // a key that cannot check this signature did not make it
  }
}

/**
 * Verifies a webhook signed with a JWT bearer token (the ConductorOne scheme, and what `createJwtSigner` sends): the
 * signature against the sender's JWKS with an allow-list of asymmetric algorithms, `iss`, `aud`, `exp`/`nbf`/`iat`,
 * `c1typ`, `htm` against the method, `htu` against the public URL, `htb_s256` against the raw body, and `jti` never
 * seen before until the token expires (with `seenIds`).
 *
 * @example
 * ```ts
 * const verifier = jwt({
 *   jwks: 'https://acme.example/.well-known/jwks.json',
 *   issuer: 'acme.example',
 *   publicUrl: 'https://hooks.myapp.example/c1',
 *   seenIds: new MemorySeenIds(),
 * });
 * const event = await verifier.verify({ method: 'POST', url: '/c1', headers, body: rawBytes });
 * event.claims?.jti; // the token id, also event.id
 * ```
 */
export function jwt(options: JwtVerifierOptions): Verifier {
  const issuers = typeof options.issuer === 'string' ? [options.issuer] : [...(options.issuer ?? [])];
  if (issuers.length === 0 || issuers.some((i) => typeof i !== 'string' || i === '')) {
    throw new HooklineError('invalid_config', 'A JWT verifier needs the expected issuer.');
  }
  const audiences = options.audience === undefined ? undefined : typeof options.audience === 'string' ? [options.audience] : [...options.audience];
  const algorithms = new Set<string>(options.algorithms ?? Object.keys(ASYMMETRIC_ALGORITHMS));
  for (const alg of algorithms) {
    if (!Object.hasOwn(ASYMMETRIC_ALGORITHMS, alg)) {
      throw new HooklineError('invalid_config', 'Only asymmetric JWS algorithms can verify webhooks.', { details: { alg } });
    }
  }
  const tolerance = checkSeconds(options.clockToleranceSeconds, DEFAULT_CLOCK_TOLERANCE_SECONDS, 'clockToleranceSeconds');
  const maxBodyBytes = checkMaxBodyBytes(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
  const now = options.now ?? Date.now;
  const seenIds = options.seenIds;

  let keys: KeySource;
  if (typeof options.jwks === 'string' || options.jwks instanceof URL) {
    let url: URL;
    try {
      url = new URL(options.jwks);
    } catch {
      throw new HooklineError('invalid_config', 'The JWKS URL is not a valid absolute URL.');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new HooklineError('invalid_config', 'The JWKS URL must be http(s).', { details: { protocol: url.protocol } });
    }
    keys = remoteKeySource(
      url,
      checkSeconds(options.jwksCacheMaxAgeSeconds, 600, 'jwksCacheMaxAgeSeconds') * 1000,
      checkSeconds(options.jwksCooldownSeconds, 30, 'jwksCooldownSeconds') * 1000,
      Math.round(checkSeconds(options.jwksTimeoutMs, 5000, 'jwksTimeoutMs')),
    );
  } else if (KeyRing.isKeySet(options.jwks)) {
    keys = localKeySource(options.jwks);
  } else {
    throw new HooklineError('invalid_config', 'jwks is a JWKS URL or a { keys: [...] } key set.');
  }

  function parsePublicUrl(configured: unknown): URL {
    try {
      return new URL(configured as string);
    } catch {
      throw new HooklineError('invalid_config', 'publicUrl is not a valid absolute URL.');
    }
  }
  // A fixed public URL is parsed once, and a bad one refused when the verifier is built.
  const fixedPublicUrl = typeof options.publicUrl === 'string' ? parsePublicUrl(options.publicUrl) : undefined;

  function expectedUrl(request: WebhookRequest): { absolute?: string; path?: string } {
    const configured = typeof options.publicUrl === 'function' ? options.publicUrl(request) : options.publicUrl;
    if (configured !== undefined) {
      const base = fixedPublicUrl ?? parsePublicUrl(configured);
      if (base.pathname === '/' && base.search === '') {
        const path = pathAndQuery(request.url);
        if (path === undefined) throw new HooklineError('bad_request', 'The request URL is not valid.');
        return { absolute: normalizeUrl(new URL(path, base).href)! };
      }
      return { absolute: normalizeUrl(base.href)! };
    }
    const absolute = normalizeUrl(request.url);
    if (absolute !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(request.url)) return { absolute };
    return { path: pathAndQuery(request.url) ?? '' };
  }

  return {
    name: 'jwt',
    maxBodyBytes,
    async verify(request: WebhookRequest): Promise<VerifiedEvent> {
      const body = limitedBody(request.body, maxBodyBytes);
      if (typeof request.method !== 'string' || typeof request.url !== 'string') {
        throw new HooklineError('bad_request', 'The request needs a method and a URL.');
      }
      const [authorizationValue, contentType] = readHeaders(request, HEADERS, 1);
      const authorization = required(authorizationValue, 'authorization');
      const match = BEARER.exec(authorization.trim());
      if (match === null) {
        throw new HooklineError('malformed_header', 'The authorization header is not "Bearer <jwt>".', { details: { header: 'authorization' } });
      }
      const token = match[1]!;
      const [encodedHeader, encodedClaims, encodedSignature] = token.split('.') as [string, string, string];

      const header = decodeJson(encodedHeader);
      if (!isObject(header) || typeof header.alg !== 'string') throw new HooklineError('token_invalid', 'The token header is not valid.');
      if (header.crit !== undefined || header.b64 !== undefined) {
        throw new HooklineError('token_invalid', 'The token uses JWS extensions that are not supported.');
      }
      const alg = header.alg;
      if (!algorithms.has(alg)) throw new HooklineError('algorithm_not_allowed', 'The token algorithm is not allowed.', { details: { alg } });
      const kid = header.kid;
      if (kid !== undefined && typeof kid !== 'string') throw new HooklineError('token_invalid', 'The token kid is not a string.');

      const candidates = await keys.keysFor(alg as JwtAlgorithm, kid);
      if (candidates.length === 0) throw new HooklineError('key_not_found', 'No key of the JWKS matches the token.', { details: { kid, alg } });
      const data = Buffer.from(`${encodedHeader}.${encodedClaims}`);
      const signature = Buffer.from(encodedSignature, 'base64url');
      if (!candidates.some((key) => verifySignature(alg as JwtAlgorithm, key, data, signature))) {
        throw new HooklineError('signature_mismatch', 'The token signature does not verify.', { details: { kid } });
      }

      const claims = decodeJson(encodedClaims);
      if (!isObject(claims)) throw new HooklineError('token_invalid', 'The token claims are not a JSON object.');
      const nowSeconds = Math.floor(now() / 1000);
      const { exp, nbf, iat, iss, aud, jti } = claims;
      if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new HooklineError('token_invalid', 'The token has no exp claim.');
      if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new HooklineError('token_invalid', 'The token has no iat claim.');
      if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) throw new HooklineError('token_invalid', 'The token nbf claim is not a number.');
      if (nowSeconds - tolerance >= exp) throw new HooklineError('token_expired', 'The token has expired.', { details: { exp } });
      if (typeof nbf === 'number' && nowSeconds + tolerance < nbf) throw claimMismatch('nbf', 'The token is not valid yet.');
      if (nowSeconds + tolerance < iat) throw claimMismatch('iat', 'The token was issued in the future.');
      if (typeof iss !== 'string' || !issuers.includes(iss)) throw claimMismatch('iss', 'The token issuer is not the expected one.');
      if (claims.c1typ !== 'wh') throw claimMismatch('c1typ', 'The token is not a webhook token (c1typ).');
      if (typeof claims.htm !== 'string' || claims.htm.toUpperCase() !== request.method.toUpperCase()) {
        throw claimMismatch('htm', 'The token was issued for another HTTP method.');
      }

      const target = expectedUrl(request);
      if (typeof claims.htu !== 'string') throw claimMismatch('htu', 'The token has no htu claim.');
      const htuMatches = target.absolute !== undefined
        ? normalizeUrl(claims.htu) === target.absolute
        : normalizeUrl(claims.htu) !== undefined && pathAndQuery(claims.htu) === target.path;
      if (!htuMatches) throw claimMismatch('htu', 'The token was issued for another URL.');

      const expectedAudiences = audiences ?? (target.absolute === undefined ? undefined : [new URL(target.absolute).host]);
      if (expectedAudiences !== undefined) {
        const given = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
        if (!given.some((a) => typeof a === 'string' && expectedAudiences.includes(a))) {
          throw claimMismatch('aud', 'The token was issued for another audience.');
        }
      }

      const bodyHash = typeof claims.htb_s256 === 'string' ? base64Bytes(claims.htb_s256) : undefined;
      if (bodyHash === undefined || bodyHash.length !== SHA256_BYTES) throw claimMismatch('htb_s256', 'The token has no valid htb_s256 claim.');
      if (!safeEqual(createHash('sha256').update(body).digest(), bodyHash)) {
        throw claimMismatch('htb_s256', 'The body is not the one the token was issued for.');
      }

      if (typeof jti !== 'string' || jti === '') throw new HooklineError('token_invalid', 'The token has no jti claim.');
      if (seenIds !== undefined) await assertFirstDelivery(seenIds, `jwt:${iss}`, jti, (exp + tolerance) * 1000);

      return { kind: 'event', payload: parsePayload(body, contentType), rawBody: body, id: jti, timestamp: iat, claims };
    },
  };
}
