import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createStandardSigner, generateStandardSecret, standardPublicKey } from '@hookline/signer';

interface Vector { provider: string; source: string; secret: string; body: string; headers: Record<string, string>; valid: boolean }
const vectors = (JSON.parse(readFileSync(new URL('../../../../shared/vectors/providers.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors
  .filter((v) => v.provider === 'standard-webhooks' && v.valid);

function ed25519Verify(publicKey: string, content: string, signature: string): boolean {
  const x = Buffer.from(publicKey.slice('whpk_'.length), 'base64').toString('base64url');
  return verify(null, Buffer.from(content), createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }), Buffer.from(signature, 'base64'));
}

describe('createStandardSigner', () => {
  it.each(vectors.map((v) => [v.source, v]))('reproduces the reference signature: %s', (_source, vector) => {
    const signer = createStandardSigner({ secret: vector.secret });
    const headers = signer.sign({ id: vector.headers['webhook-id'], timestamp: Number(vector.headers['webhook-timestamp']), body: vector.body });
    expect(headers).toEqual(vector.headers);
  });

  it('accepts a secret without the whsec_ prefix', () => {
    const vector = vectors[0]!;
    const signer = createStandardSigner({ secret: vector.secret.slice('whsec_'.length) });
    expect(signer.sign({ id: vector.headers['webhook-id'], timestamp: Number(vector.headers['webhook-timestamp']), body: vector.body }))
      .toEqual(vector.headers);
  });

  it('signs once per secret during a rotation, space-separated, v1 and v1a together', () => {
    const hmacSecret = generateStandardSecret();
    const signingKey = generateStandardSecret('v1a');
    const signer = createStandardSigner({ secrets: [hmacSecret, signingKey] });
    const headers = signer.sign({ id: 'msg_1', timestamp: 1_700_000_000, body: '{"a":1}' });
    const [v1, v1a] = headers['webhook-signature']!.split(' ');
    expect(v1).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(v1a).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(ed25519Verify(standardPublicKey(signingKey), 'msg_1.1700000000.{"a":1}', v1a!.slice(4))).toBe(true);
  });

  it('uses the injected clock and generates a msg_ id when none is given', () => {
    const signer = createStandardSigner({ secret: generateStandardSecret(), now: () => 1_700_000_123_456 });
    const headers = signer.sign({ body: 'x' });
    expect(headers['webhook-timestamp']).toBe('1700000123');
    expect(headers['webhook-id']).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
  });

  it('generates whsec_ secrets of 24 random bytes and whsk_ keys whose whpk_ is 32 bytes', () => {
    const secret = generateStandardSecret('v1');
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(generateStandardSecret()).not.toBe(secret);
    const signingKey = generateStandardSecret('v1a');
    expect(Buffer.from(signingKey.slice(5), 'base64')).toHaveLength(32);
    expect(Buffer.from(standardPublicKey(signingKey).slice(5), 'base64')).toHaveLength(32);
  });

  it('accepts a 64-byte libsodium whsk_ key (seed then public key)', () => {
    const seedKey = generateStandardSecret('v1a');
    const publicKey = standardPublicKey(seedKey);
    const libsodium = `whsk_${Buffer.concat([Buffer.from(seedKey.slice(5), 'base64'), Buffer.from(publicKey.slice(5), 'base64')]).toString('base64')}`;
    expect(standardPublicKey(libsodium)).toBe(publicKey);
    const a = createStandardSigner({ secret: seedKey }).sign({ id: 'm', timestamp: 1, body: 'b' });
    const b = createStandardSigner({ secret: libsodium }).sign({ id: 'm', timestamp: 1, body: 'b' });
    expect(b).toEqual(a);
  });

  it('refuses a public key, a short secret, no secret, a bad id and a bad timestamp with coded errors', () => {
    const signingKey = generateStandardSecret('v1a');
    expect(() => createStandardSigner({ secret: standardPublicKey(signingKey) })).toThrow(expect.objectContaining({ code: 'invalid_key' }));
    expect(() => createStandardSigner({ secret: 'whsec_c2hvcnQ=' })).toThrow(expect.objectContaining({ code: 'invalid_key' }));
    expect(() => createStandardSigner({ secret: 'whsec_not base64!' })).toThrow(expect.objectContaining({ code: 'invalid_key' }));
    expect(() => createStandardSigner({ secrets: [] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    const signer = createStandardSigner({ secret: generateStandardSecret() });
    expect(() => signer.sign({ id: 'a b', body: '' })).toThrow(expect.objectContaining({ code: 'bad_request' }));
    expect(() => signer.sign({ id: 'a', timestamp: Number.NaN, body: '' })).toThrow(expect.objectContaining({ code: 'timestamp_invalid' }));
    expect(() => standardPublicKey('whsec_abc')).toThrow(expect.objectContaining({ code: 'invalid_key' }));
  });
});
