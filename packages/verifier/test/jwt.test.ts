import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createJwtSigner, generateSigningKey, SIGNING_ALGORITHMS, type JwtSigner, type SigningAlgorithm, type SigningKeyEntry,
} from '@hookline/signer';
import { jwt, MemorySeenIds, type WebhookRequest } from '@hookline/verifier';

const NOW = 1_713_312_120_000;
const ISSUER = 'acme.example';
const ENDPOINT = 'https://hooks.receiver.example/in/c1';
const BODY = '{"version":"v1","event":{"@type":"c1.webhooks.v1.PayloadTest"}}';

function sha256(body: string | Uint8Array, encoding: 'base64' | 'base64url' = 'base64'): string {
  return createHash('sha256').update(body).digest(encoding);
}

function request(headers: Record<string, string>, overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return { method: 'POST', url: '/in/c1', headers: { 'content-type': 'application/json', ...headers }, body: BODY, ...overrides };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'verified';
  } catch (error) {
    return (error as { code?: string }).code ?? `uncoded: ${String(error)}`;
  }
}

async function signerFor(alg: SigningAlgorithm = 'ES256'): Promise<JwtSigner> {
  return createJwtSigner({ issuer: ISSUER, keys: [await generateSigningKey(alg)], now: () => NOW });
}

/** A token made with plain jose, the way another ConductorOne-style sender would. */
async function joseToken(claims: JWTPayload, alg = 'ES256') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg };
  const token = await new SignJWT({ c1typ: 'wh', htm: 'POST', htu: ENDPOINT, htb_s256: sha256(BODY), jti: 'jti-1', ...claims })
    .setProtectedHeader({ alg, kid: 'k1', typ: 'JWT' })
    .setIssuer(ISSUER).setAudience('hooks.receiver.example')
    .setIssuedAt(NOW / 1000).setNotBefore(NOW / 1000 - 60).setExpirationTime(NOW / 1000 + 120)
    .sign(privateKey);
  return { token, jwks: { keys: [jwk] } as JSONWebKeySet };
}

describe('jwt: interoperability with plain jose', () => {
  it.each(SIGNING_ALGORITHMS.map((alg) => [alg]))('verifies a %s token made by jose SignJWT', async (alg) => {
    const { token, jwks } = await joseToken({}, alg);
    const verifier = jwt({ jwks, issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW });
    const event = await verifier.verify(request({ authorization: `Bearer ${token}` }));
    expect(event).toMatchObject({
      kind: 'event', id: 'jti-1', timestamp: NOW / 1000, payload: JSON.parse(BODY),
      claims: { iss: ISSUER, aud: 'hooks.receiver.example', c1typ: 'wh', htm: 'POST', htu: ENDPOINT, jti: 'jti-1' },
    });
  });

  it.each(SIGNING_ALGORITHMS.map((alg) => [alg]))('makes %s tokens plain jose verifies (jwtVerify + createLocalJWKSet)', async (alg) => {
    const signer = await signerFor(alg as SigningAlgorithm);
    const { authorization } = await signer.sign({ method: 'POST', url: ENDPOINT, body: BODY });
    const { payload } = await jwtVerify(authorization!.slice(7), createLocalJWKSet(signer.jwks()), {
      issuer: ISSUER, audience: 'hooks.receiver.example', currentDate: new Date(NOW), algorithms: [alg],
    });
    expect(payload.htb_s256).toBe(sha256(BODY));
    const ours = jwt({ jwks: signer.jwks(), issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW });
    expect(await codeOf(ours.verify(request({ authorization: authorization! })))).toBe('verified');
  });

  it('accepts htb_s256 in base64url, unpadded', async () => {
    const { token, jwks } = await joseToken({ htb_s256: sha256(BODY, 'base64url') });
    const verifier = jwt({ jwks, issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW });
    expect(await codeOf(verifier.verify(request({ authorization: `Bearer ${token}` })))).toBe('verified');
  });
});

describe('jwt: rejections', () => {
  let signer: JwtSigner;
  let authorization: string;
  const verifierAt = (now = NOW, extra: Partial<Parameters<typeof jwt>[0]> = {}) =>
    jwt({ jwks: signer.jwks(), issuer: ISSUER, publicUrl: ENDPOINT, now: () => now, ...extra });

  beforeAll(async () => {
    signer = await signerFor();
    authorization = (await signer.sign({ method: 'POST', url: ENDPOINT, body: BODY })).authorization!;
  });

  it('rejects a tampered body as claim_mismatch', async () => {
    expect(await codeOf(verifierAt().verify(request({ authorization }, { body: `${BODY} ` })))).toBe('claim_mismatch');
  });

  it('rejects another method as claim_mismatch', async () => {
    expect(await codeOf(verifierAt().verify(request({ authorization }, { method: 'PUT' })))).toBe('claim_mismatch');
  });

  it('rejects a token issued for another URL as claim_mismatch', async () => {
    const byOrigin = verifierAt(NOW, { publicUrl: 'https://hooks.receiver.example' });
    expect(await codeOf(byOrigin.verify(request({ authorization }, { url: '/in/other' })))).toBe('claim_mismatch');
    const elsewhere = verifierAt(NOW, { publicUrl: 'https://evil.example/in/c1' });
    expect(await codeOf(elsewhere.verify(request({ authorization })))).toBe('claim_mismatch');
  });

  it('rejects an expired token as token_expired, after the clock tolerance', async () => {
    const exp = NOW + 120_000;
    expect(await codeOf(verifierAt(exp + 29_000).verify(request({ authorization })))).toBe('verified');
    expect(await codeOf(verifierAt(exp + 30_000).verify(request({ authorization })))).toBe('token_expired');
    expect(await codeOf(verifierAt(exp, { clockToleranceSeconds: 0 }).verify(request({ authorization })))).toBe('token_expired');
  });

  it('rejects a token used before nbf as claim_mismatch', async () => {
    expect(await codeOf(verifierAt(NOW - 91_000).verify(request({ authorization })))).toBe('claim_mismatch');
  });

  it('rejects a replayed token as replayed', async () => {
    const seenIds = new MemorySeenIds({ now: () => NOW });
    const verifier = verifierAt(NOW, { seenIds });
    const fresh = (await signer.sign({ method: 'POST', url: ENDPOINT, body: BODY })).authorization!;
    expect(await codeOf(verifier.verify(request({ authorization: fresh })))).toBe('verified');
    expect(await codeOf(verifier.verify(request({ authorization: fresh })))).toBe('replayed');
  });

  it('rejects another issuer and another audience as claim_mismatch', async () => {
    expect(await codeOf(verifierAt(NOW, { issuer: 'other.example' }).verify(request({ authorization })))).toBe('claim_mismatch');
    expect(await codeOf(verifierAt(NOW, { audience: 'other.example' }).verify(request({ authorization })))).toBe('claim_mismatch');
    expect(await codeOf(verifierAt(NOW, { issuer: ['x', ISSUER], audience: ['hooks.receiver.example'] }).verify(request({ authorization })))).toBe('verified');
  });

  it('rejects a forged signature and a re-encoded payload as signature_mismatch', async () => {
    const [h, p, s] = authorization.slice(7).split('.') as [string, string, string];
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    expect(await codeOf(verifierAt().verify(request({ authorization: `Bearer ${h}.${p}.${flipped}` })))).toBe('signature_mismatch');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, htb_s256: sha256('evil') })).toString('base64url');
    expect(await codeOf(verifierAt().verify(request({ authorization: `Bearer ${h}.${forged}.${s}` }, { body: 'evil' })))).toBe('signature_mismatch');
    expect(await codeOf(verifierAt().verify(request({ authorization: `Bearer ${h}.${p}.${s.slice(0, 20)}` })))).toBe('signature_mismatch');
  });

  it('rejects alg none, HS256 and algorithms outside the allow-list as algorithm_not_allowed', async () => {
    const [, p] = authorization.slice(7).split('.') as [string, string];
    const none = Buffer.from('{"alg":"none"}').toString('base64url');
    expect(await codeOf(verifierAt().verify(request({ authorization: `Bearer ${none}.${p}.` })))).toBe('algorithm_not_allowed');
    const hs = Buffer.from(`{"alg":"HS256","kid":"${signer.activeKid}"}`).toString('base64url');
    expect(await codeOf(verifierAt().verify(request({ authorization: `Bearer ${hs}.${p}.c2ln` })))).toBe('algorithm_not_allowed');
    expect(await codeOf(verifierAt(NOW, { algorithms: ['EdDSA'] }).verify(request({ authorization })))).toBe('algorithm_not_allowed');
    expect(() => jwt({ jwks: signer.jwks(), issuer: ISSUER, algorithms: ['HS256' as never] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });

  it('rejects a token whose kid is not in the JWKS as key_not_found', async () => {
    const other = await signerFor();
    const foreign = (await other.sign({ method: 'POST', url: ENDPOINT, body: BODY })).authorization!;
    expect(await codeOf(verifierAt().verify(request({ authorization: foreign })))).toBe('key_not_found');
  });

  it('rejects a missing, repeated or non-bearer authorization header', async () => {
    expect(await codeOf(verifierAt().verify(request({})))).toBe('missing_header');
    expect(await codeOf(verifierAt().verify(request({}, { headers: { authorization: [authorization, authorization] } })))).toBe('duplicate_header');
    expect(await codeOf(verifierAt().verify(request({ authorization: 'Basic dXNlcjpwYXNz' })))).toBe('malformed_header');
    expect(await codeOf(verifierAt().verify(request({ authorization: 'Bearer not-a-jwt' })))).toBe('malformed_header');
  });

  it('rejects undecodable tokens and tokens without webhook claims with coded errors', async () => {
    const junk = Buffer.from('not json').toString('base64url');
    expect(await codeOf(verifierAt().verify(request({ authorization: `Bearer ${junk}.${junk}.${junk}` })))).toBe('token_invalid');
    const { token: noType, jwks } = await joseToken({ c1typ: undefined });
    expect(await codeOf(jwt({ jwks, issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW }).verify(request({ authorization: `Bearer ${noType}` })))).toBe('claim_mismatch');
    const short = await joseToken({ htb_s256: 'c2hvcnQ' });
    expect(await codeOf(jwt({ jwks: short.jwks, issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW }).verify(request({ authorization: `Bearer ${short.token}` })))).toBe('claim_mismatch');
    const noJti = await joseToken({ jti: undefined });
    expect(await codeOf(jwt({ jwks: noJti.jwks, issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW }).verify(request({ authorization: `Bearer ${noJti.token}` })))).toBe('token_invalid');
  });

  it('refuses a body over maxBodyBytes and a parsed body', async () => {
    const verifier = verifierAt(NOW, { maxBodyBytes: 8 });
    expect(verifier.maxBodyBytes).toBe(8);
    expect(await codeOf(verifier.verify(request({ authorization })))).toBe('payload_too_large');
    expect(await codeOf(verifierAt().verify(request({ authorization }, { body: { a: 1 } as never })))).toBe('raw_body_unavailable');
  });
});

describe('jwt: where htu is checked against', () => {
  let signer: JwtSigner;
  beforeAll(async () => {
    signer = await signerFor('EdDSA');
  });
  const sign = (url: string) => signer.sign({ method: 'POST', url, body: BODY }).then((h) => h.authorization!);

  it('joins an origin-only publicUrl with the request path and query', async () => {
    const authorization = await sign('https://hooks.receiver.example/in/c1?x=1');
    const verifier = jwt({ jwks: signer.jwks(), issuer: ISSUER, publicUrl: 'https://hooks.receiver.example', now: () => NOW });
    expect(await codeOf(verifier.verify(request({ authorization }, { url: '/in/c1?x=1' })))).toBe('verified');
    expect(await codeOf(verifier.verify(request({ authorization }, { url: '/in/c1' })))).toBe('claim_mismatch');
  });

  it('never trusts the Host header: without publicUrl a relative URL checks only path and query', async () => {
    const authorization = await sign('https://hooks.receiver.example/in/c1');
    const verifier = jwt({ jwks: signer.jwks(), issuer: ISSUER, now: () => NOW });
    const withHost = request({ authorization, host: 'evil.example' });
    expect(await codeOf(verifier.verify(withHost))).toBe('verified');
  });

  it('uses an absolute request URL, and its host as the audience', async () => {
    const authorization = await sign('https://hooks.receiver.example/in/c1');
    const verifier = jwt({ jwks: signer.jwks(), issuer: ISSUER, now: () => NOW });
    expect(await codeOf(verifier.verify(request({ authorization }, { url: 'https://hooks.receiver.example/in/c1' })))).toBe('verified');
    const other = await sign('https://hooks.receiver.example/in/c1');
    expect(await codeOf(verifier.verify(request({ authorization: other }, { url: 'https://elsewhere.example/in/c1' })))).toBe('claim_mismatch');
  });

  it('takes a function for publicUrl', async () => {
    const authorization = await sign('https://tenant-a.example/in/c1');
    const verifier = jwt({ jwks: signer.jwks(), issuer: ISSUER, publicUrl: (r) => `https://tenant-a.example${r.url}`, now: () => NOW });
    expect(await codeOf(verifier.verify(request({ authorization })))).toBe('verified');
  });
});

describe('jwt: a remote JWKS', () => {
  let server: Server;
  let jwksUrl: string;
  let served: () => { status: number; body: string };
  let fetches = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
      const { status, body } = served();
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fetches the JWKS once and caches it', async () => {
    const signer = await signerFor();
    served = () => ({ status: 200, body: JSON.stringify(signer.jwks()) });
    fetches = 0;
    const verifier = jwt({ jwks: jwksUrl, issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW });
    for (let i = 0; i < 5; i++) {
      const { authorization } = await signer.sign({ method: 'POST', url: ENDPOINT, body: BODY });
      expect(await codeOf(verifier.verify(request({ authorization: authorization! })))).toBe('verified');
    }
    expect(fetches).toBe(1);
  });

  it('fails with jwks_unavailable when the JWKS cannot be fetched', async () => {
    const signer = await signerFor();
    const { authorization } = await signer.sign({ method: 'POST', url: ENDPOINT, body: BODY });
    served = () => ({ status: 500, body: 'down' });
    const verifier = jwt({ jwks: jwksUrl, issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW });
    expect(await codeOf(verifier.verify(request({ authorization: authorization! })))).toBe('jwks_unavailable');
    served = () => ({ status: 200, body: 'not json' });
    const again = jwt({ jwks: jwksUrl, issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW });
    expect(await codeOf(again.verify(request({ authorization: authorization! })))).toBe('jwks_unavailable');
    const closed = jwt({ jwks: 'http://127.0.0.1:1/jwks.json', issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW });
    expect(await codeOf(closed.verify(request({ authorization: authorization! })))).toBe('jwks_unavailable');
  });

  it('walks a full key rotation with a caching verifier and never fails a request', async () => {
    // Only Date is faked: jose's JWKS cache reads Date.now(), the sockets keep their real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = NOW;
    vi.setSystemTime(start);
    const [oldKey, newKey] = [await generateSigningKey('ES256'), await generateSigningKey('EdDSA')];
    const at = (seconds: number) => start + seconds * 1000;
    // The rotation plan, as an app would configure its signer over time (cache max age 600 s, token ttl 120 s).
    const phases: Array<{ from: number; keys: SigningKeyEntry[] }> = [
      { from: 0, keys: [{ key: oldKey, status: 'active' }] },
      { from: 300, keys: [{ key: oldKey, status: 'active' }, { key: newKey, status: 'next' }] },
      { from: 1200, keys: [{ key: newKey, status: 'active' }, { key: oldKey, status: 'retiring', retiredAt: at(1200) }] },
    ];
    const signerAt = (seconds: number) => createJwtSigner({
      issuer: ISSUER, keys: phases.filter((p) => p.from <= seconds).at(-1)!.keys,
    });
    served = () => ({ status: 200, body: JSON.stringify(signerAt((Date.now() - start) / 1000).jwks()) });
    fetches = 0;
    const verifier = jwt({ jwks: jwksUrl, issuer: ISSUER, publicUrl: ENDPOINT, seenIds: new MemorySeenIds() });

    let delayed: string | undefined; // a token signed one step earlier and delivered late (a retry in flight)
    const outcomes: string[] = [];
    const kids = new Set<string>();
    for (let seconds = 0; seconds <= 2400; seconds += 20) {
      vi.setSystemTime(at(seconds));
      const signer = signerAt(seconds);
      kids.add(signer.activeKid);
      const now = (await signer.sign({ method: 'POST', url: ENDPOINT, body: BODY })).authorization!;
      outcomes.push(`${seconds}s now: ${await codeOf(verifier.verify(request({ authorization: now })))}`);
      if (delayed !== undefined) outcomes.push(`${seconds}s late: ${await codeOf(verifier.verify(request({ authorization: delayed })))}`);
      delayed = (await signer.sign({ method: 'POST', url: ENDPOINT, body: BODY })).authorization!;
    }
    expect(outcomes.filter((o) => !o.endsWith(': verified'))).toEqual([]);
    expect(kids).toEqual(new Set([oldKey.kid, newKey.kid]));
    // Cached: one fetch per cache age (600 s) over 2400 s, not one per request.
    expect(fetches).toBeGreaterThanOrEqual(4);
    expect(fetches).toBeLessThanOrEqual(5);
    // The old key has left the JWKS once its last token expired.
    expect(signerAt(2400).jwks().keys.map((k) => k.kid)).toEqual([newKey.kid]);
  });

  it('keeps verifying with the cached keys while the JWKS endpoint is down', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    const signer = createJwtSigner({ issuer: ISSUER, keys: [await generateSigningKey()] });
    served = () => ({ status: 200, body: JSON.stringify(signer.jwks()) });
    const verifier = jwt({ jwks: jwksUrl, issuer: ISSUER, publicUrl: ENDPOINT });
    const sign = async () => (await signer.sign({ method: 'POST', url: ENDPOINT, body: BODY })).authorization!;
    expect(await codeOf(verifier.verify(request({ authorization: await sign() })))).toBe('verified');
    served = () => ({ status: 503, body: '' });
    vi.setSystemTime(NOW + 601_000); // the cache is stale: a refetch is attempted and fails
    expect(await codeOf(verifier.verify(request({ authorization: await sign() })))).toBe('verified');
  });

  it('refuses a JWKS that is neither a URL nor a key set', () => {
    expect(() => jwt({ jwks: 'not a url', issuer: ISSUER })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => jwt({ jwks: {} as JSONWebKeySet, issuer: ISSUER })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => jwt({ jwks: { keys: [] }, issuer: '' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => jwt({ jwks: 'file:///etc/jwks.json', issuer: ISSUER })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => jwt({ jwks: { keys: [] }, issuer: ISSUER, publicUrl: '/relative' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => jwt({ jwks: { keys: [] }, issuer: ISSUER, algorithms: ['toString' as never] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});

// Keep the RSA generator referenced so an RS256 JWKS built by hand stays importable (a JWK without alg).
describe('jwt: a JWKS whose keys carry no alg', () => {
  it('matches the key by kty and kid', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'rsa-1' };
    const token = await new SignJWT({ c1typ: 'wh', htm: 'POST', htu: ENDPOINT, htb_s256: sha256(BODY), jti: 'j' })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).setIssuer(ISSUER).setAudience('hooks.receiver.example')
      .setIssuedAt(NOW / 1000).setExpirationTime(NOW / 1000 + 120).sign(privateKey);
    const verifier = jwt({ jwks: { keys: [jwk as never] }, issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW });
    expect(await codeOf(verifier.verify(request({ authorization: `Bearer ${token}` })))).toBe('verified');
    const asEs = jwt({ jwks: { keys: [jwk as never] }, issuer: ISSUER, publicUrl: ENDPOINT, algorithms: ['PS256'], now: () => NOW });
    expect(await codeOf(asEs.verify(request({ authorization: `Bearer ${token}` })))).toBe('algorithm_not_allowed');
  });
});

describe('jwt: arbitrary input', () => {
  it('answers any authorization header, method and URL with a coded HooklineError, never another exception', async () => {
    const signer = await signerFor();
    const verifier = jwt({ jwks: signer.jwks(), issuer: ISSUER, publicUrl: ENDPOINT, now: () => NOW });
    const segment = fc.oneof(fc.base64String(), fc.string(), fc.constant(Buffer.from('{"alg":"ES256"}').toString('base64url')));
    const token = fc.tuple(segment, segment, segment).map((parts) => parts.join('.'));
    await fc.assert(fc.asyncProperty(
      fc.oneof(token.map((t) => `Bearer ${t}`), fc.string()),
      fc.oneof(fc.constant('POST'), fc.string(), fc.constant(undefined) as fc.Arbitrary<unknown>),
      fc.oneof(fc.constant('/in/c1'), fc.string(), fc.webUrl()),
      async (authorization, method, url) => {
        const outcome = await codeOf(verifier.verify({ method: method as string, url, headers: { authorization }, body: BODY }));
        expect(outcome).not.toMatch(/^uncoded|^verified/);
      },
    ), { numRuns: 300 });
  });
});
