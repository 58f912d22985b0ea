import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { exportSigningKey, generateSigningKey, importSigningKey, SIGNING_ALGORITHMS, type SigningAlgorithm } from '@hookline/signer';
import { isHooklineError } from '@hookline/errors';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isHooklineError(error) ? error.code : `not a HooklineError: ${String(error)}`;
  }
  return undefined;
}

describe('signing keys', () => {
  it('generates ES256 by default', async () => {
    const key = await generateSigningKey();
    expect(key.alg).toBe('ES256');
    expect(key.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: key.kid });
  });

  it.each(SIGNING_ALGORITHMS.map((alg) => [alg]))('gives a %s key the RFC 7638 thumbprint jose computes as kid', async (alg) => {
    const key = await generateSigningKey(alg as SigningAlgorithm);
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk, 'sha256'));
    expect(key.publicJwk).not.toHaveProperty('d');
  });

  it.each(SIGNING_ALGORITHMS.map((alg) => [alg]))('round-trips a %s key through its private JWK', async (alg) => {
    const key = await generateSigningKey(alg as SigningAlgorithm);
    const jwk = exportSigningKey(key);
    expect(jwk).toMatchObject({ kid: key.kid, alg });
    expect(typeof jwk.d).toBe('string');
    const back = importSigningKey(JSON.parse(JSON.stringify(jwk)));
    expect(back.kid).toBe(key.kid);
    expect(back.alg).toBe(alg);
    expect(back.publicJwk).toEqual(key.publicJwk);
  });

  it('refuses a JWK whose kid is not its thumbprint', async () => {
    const jwk = exportSigningKey(await generateSigningKey());
    expect(codeOf(() => importSigningKey({ ...jwk, kid: 'someone-else' }))).toBe('invalid_key');
  });

  it('refuses a public JWK, a key of the wrong type for its alg and garbage with invalid_key', async () => {
    const key = await generateSigningKey('EdDSA');
    const jwk = exportSigningKey(key);
    expect(codeOf(() => importSigningKey(key.publicJwk as unknown as Record<string, unknown>))).toBe('invalid_key');
    expect(codeOf(() => importSigningKey({ ...jwk, alg: 'ES256', kid: undefined }))).toBe('invalid_key');
    expect(codeOf(() => importSigningKey({ kty: 'EC', crv: 'P-256', d: 'AAAA', x: 'AA', y: 'AA' }))).toBe('invalid_key');
    expect(codeOf(() => importSigningKey({ ...jwk, alg: 'HS256' }))).toBe('invalid_key');
    expect(codeOf(() => importSigningKey(null as unknown as Record<string, unknown>))).toBe('invalid_key');
  });

  it('refuses an unknown algorithm with invalid_key', async () => {
    await expect(generateSigningKey('HS256' as SigningAlgorithm)).rejects.toMatchObject({ code: 'invalid_key' });
  });
});
