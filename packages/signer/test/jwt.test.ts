import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwtSigner, generateSigningKey, SIGNING_ALGORITHMS, type SigningAlgorithm } from '@hookline/signer';

const NOW = 1_713_312_120_000;
const URL_ = 'https://receiver.example:8443/hooks/c1?tenant=a';

function bearer(headers: Record<string, string>): string {
  const value = headers.authorization!;
  expect(value.startsWith('Bearer ')).toBe(true);
  return value.slice('Bearer '.length);
}

describe('createJwtSigner', () => {
  it('signs the ConductorOne claims', async () => {
    const key = await generateSigningKey();
    const signer = createJwtSigner({ issuer: 'acme.example', keys: [key], now: () => NOW });
    const body = '{"version":"v1","event":"ping"}';
    const token = bearer(await signer.sign({ method: 'post', url: URL_, body }));
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(signer.jwks()), {
      issuer: 'acme.example', audience: 'receiver.example:8443', currentDate: new Date(NOW),
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: key.kid, typ: 'JWT' });
    expect(payload).toEqual({
      aud: 'receiver.example:8443',
      c1typ: 'wh',
      exp: NOW / 1000 + 120,
      htb_s256: createHash('sha256').update(body).digest('base64'),
      htm: 'POST',
      htu: URL_,
      iat: NOW / 1000,
      iss: 'acme.example',
      jti: payload.jti,
      nbf: NOW / 1000 - 60,
    });
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  it.each(SIGNING_ALGORITHMS.map((alg) => [alg]))('signs %s tokens that plain jose verifies', async (alg) => {
    const key = await generateSigningKey(alg as SigningAlgorithm);
    const signer = createJwtSigner({ issuer: 'acme.example', keys: [key] });
    const token = bearer(await signer.sign({ method: 'POST', url: URL_, body: new Uint8Array([0, 1, 2, 255]) }));
    const { payload } = await jwtVerify(token, createLocalJWKSet(signer.jwks()), { issuer: 'acme.example', algorithms: [alg] });
    expect(payload.htb_s256).toBe(createHash('sha256').update(new Uint8Array([0, 1, 2, 255])).digest('base64'));
  });

  it.each(SIGNING_ALGORITHMS.map((alg) => [alg]))('signs %s off the event loop (offThread) with tokens that plain jose verifies', async (alg) => {
    const key = await generateSigningKey(alg as SigningAlgorithm);
    const signer = createJwtSigner({ issuer: 'acme.example', keys: [key], offThread: true });
    // Several at once, as the dispatcher signs: each token is whole and verifies on its own.
    const bodies = Array.from({ length: 8 }, (_, i) => `{"n":${i}}`);
    const tokens = await Promise.all(bodies.map(async (body) => bearer(await signer.sign({ method: 'POST', url: URL_, body }))));
    for (const [i, token] of tokens.entries()) {
      const { payload } = await jwtVerify(token, createLocalJWKSet(signer.jwks()), { issuer: 'acme.example', algorithms: [alg] });
      expect(payload.htb_s256).toBe(createHash('sha256').update(bodies[i]!).digest('base64'));
    }
  });

  it('gives every token its own jti', async () => {
    const signer = createJwtSigner({ issuer: 'acme.example', keys: [await generateSigningKey('EdDSA')], now: () => NOW });
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const token = bearer(await signer.sign({ method: 'POST', url: URL_, body: 'same' }));
      ids.add(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti);
    }
    expect(ids.size).toBe(50);
  });

  it('takes the token lifetime from ttlSeconds', async () => {
    const signer = createJwtSigner({ issuer: 'i', keys: [await generateSigningKey()], ttlSeconds: 30, now: () => NOW });
    const token = bearer(await signer.sign({ method: 'PUT', url: URL_, body: '' }));
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(30);
    expect(claims.htm).toBe('PUT');
  });

  it('refuses a relative URL with invalid_endpoint', async () => {
    const signer = createJwtSigner({ issuer: 'i', keys: [await generateSigningKey()] });
    await expect(signer.sign({ method: 'POST', url: '/hooks', body: '' })).rejects.toMatchObject({ code: 'invalid_endpoint' });
  });

  it('needs exactly one active key and an issuer', async () => {
    const a = await generateSigningKey();
    const b = await generateSigningKey();
    expect(() => createJwtSigner({ issuer: 'i', keys: [] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => createJwtSigner({ issuer: 'i', keys: [a, b] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => createJwtSigner({ issuer: 'i', keys: [{ key: a, status: 'next' }] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => createJwtSigner({ issuer: '', keys: [a] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => createJwtSigner({ issuer: 'i', keys: [{ kid: 'x' } as never] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => createJwtSigner({ issuer: 'i', keys: [null as never] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => createJwtSigner({ issuer: 'i', keys: [{ key: a, status: 'paused' as never }] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});

describe('key rotation in the JWKS', () => {
  it('publishes a next key before it signs, signs with the active one only', async () => {
    const [old, next] = [await generateSigningKey(), await generateSigningKey('EdDSA')];
    const signer = createJwtSigner({ issuer: 'i', keys: [{ key: old, status: 'active' }, { key: next, status: 'next' }] });
    expect(signer.jwks().keys.map((k) => k.kid)).toEqual([old.kid, next.kid]);
    expect(signer.activeKid).toBe(old.kid);
    const token = bearer(await signer.sign({ method: 'POST', url: URL_, body: '' }));
    expect(decodeProtectedHeader(token).kid).toBe(old.kid);
  });

  it('keeps a retiring key published until every token it signed has expired, then drops it', async () => {
    const [old, current] = [await generateSigningKey(), await generateSigningKey()];
    let now = NOW;
    const retiredAt = NOW;
    const signer = createJwtSigner({
      issuer: 'i',
      keys: [{ key: current, status: 'active' }, { key: old, status: 'retiring', retiredAt: new Date(retiredAt) }],
      now: () => now,
    });
    expect(signer.jwks().keys.map((k) => k.kid)).toEqual([current.kid, old.kid]);
    now = retiredAt + (120 + 60) * 1000; // last token's exp plus receivers' clock skew
    expect(signer.jwks().keys.map((k) => k.kid)).toEqual([current.kid, old.kid]);
    now += 1;
    expect(signer.jwks().keys.map((k) => k.kid)).toEqual([current.kid]);
  });

  it('keeps a retiring key without retiredAt until it is removed', async () => {
    const [old, current] = [await generateSigningKey(), await generateSigningKey()];
    const signer = createJwtSigner({
      issuer: 'i', keys: [{ key: old, status: 'retiring' }, current], now: () => NOW + 365 * 86_400_000,
    });
    expect(signer.jwks().keys.map((k) => k.kid)).toEqual([current.kid, old.kid]);
  });

  it('publishes only public members', async () => {
    const signer = createJwtSigner({ issuer: 'i', keys: [await generateSigningKey('RS256')] });
    const [jwk] = signer.jwks().keys;
    expect(Object.keys(jwk!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });
});
