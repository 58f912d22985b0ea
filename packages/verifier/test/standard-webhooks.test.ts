import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createStandardSigner, generateStandardSecret, standardPublicKey } from '@hookline/signer';
import { MemorySeenIds, standardWebhooks, type VerifiedEvent, type WebhookRequest } from '@hookline/verifier';

interface Vector { provider: string; source: string; secret: string; now: number; body: string; headers: Record<string, string>; valid: boolean }
const vectors = (JSON.parse(readFileSync(new URL('../../../../shared/vectors/providers.json', import.meta.url), 'utf8')) as { vectors: Vector[] })
  .vectors.filter((v) => v.provider === 'standard-webhooks');

// The message of the reference libraries' own tests ("sign function works").
const reference = vectors.find((v) => v.valid && v.source.includes('javascript'))!;
const NOW_MS = reference.now * 1000;

function request(headers: Record<string, string | string[] | undefined>, body: WebhookRequest['body'] = reference.body): WebhookRequest {
  return { method: 'POST', url: '/hooks', headers, body };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'verified';
  } catch (error) {
    return (error as { code?: string }).code ?? `uncoded: ${String(error)}`;
  }
}

describe('standardWebhooks: known-answer vectors', () => {
  it.each(vectors.map((v) => [v.valid ? 'accepts' : 'rejects', v.source, v]))('%s %s', async (_verb, _source, vector) => {
    const verifier = standardWebhooks({ secret: vector.secret, now: () => vector.now * 1000 });
    const outcome = await codeOf(verifier.verify(request(vector.headers, vector.body)));
    expect(outcome).toBe(vector.valid ? 'verified' : 'signature_mismatch');
  });
});

describe('standardWebhooks: the reference libraries negative cases', () => {
  const verifier = standardWebhooks({ secret: reference.secret, now: () => NOW_MS });
  const headers = reference.headers;
  const valid = headers['webhook-signature']!;

  it('returns the verified payload with its id and timestamp', async () => {
    const event = await verifier.verify(request(headers));
    // payload and id are computed on first read (getters), so they are compared as read, the way apps use them.
    const { kind, payload, rawBody, id, timestamp } = event as VerifiedEvent;
    expect({ kind, payload, rawBody, id, timestamp }).toEqual({
      kind: 'event', payload: { test: 2432232314 }, rawBody: new TextEncoder().encode(reference.body),
      id: headers['webhook-id'], timestamp: Number(headers['webhook-timestamp']),
    });
  });

  it('rejects a timestamp older than the tolerance', async () => {
    const old = standardWebhooks({ secret: reference.secret, now: () => NOW_MS + 301_000 });
    expect(await codeOf(old.verify(request(headers)))).toBe('timestamp_out_of_window');
    const edge = standardWebhooks({ secret: reference.secret, now: () => NOW_MS + 300_000 });
    expect(await codeOf(edge.verify(request(headers)))).toBe('verified');
  });

  it('rejects a timestamp newer than the tolerance', async () => {
    const early = standardWebhooks({ secret: reference.secret, now: () => NOW_MS - 301_000 });
    expect(await codeOf(early.verify(request(headers)))).toBe('timestamp_out_of_window');
  });

  it('takes a configured tolerance', async () => {
    const strict = standardWebhooks({ secret: reference.secret, toleranceSeconds: 10, now: () => NOW_MS + 11_000 });
    expect(await codeOf(strict.verify(request(headers)))).toBe('timestamp_out_of_window');
  });

  it('rejects a truncated signature', async () => {
    expect(await codeOf(verifier.verify(request({ ...headers, 'webhook-signature': valid.slice(0, -4) })))).toBe('signature_mismatch');
  });

  it('rejects "v1," alone', async () => {
    expect(await codeOf(verifier.verify(request({ ...headers, 'webhook-signature': 'v1,' })))).toBe('signature_mismatch');
  });

  it('rejects an invalid signature', async () => {
    expect(await codeOf(verifier.verify(request({ ...headers, 'webhook-signature': 'v1,dawfeoifkpqwoekfpqoekf' })))).toBe('signature_mismatch');
  });

  it('ignores v2 entries and accepts the matching v1 among several', async () => {
    const wrong = 'Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    const several = `v1,${wrong} v2,${wrong} ${valid} v1,${wrong}`;
    expect(await codeOf(verifier.verify(request({ ...headers, 'webhook-signature': several })))).toBe('verified');
    expect(await codeOf(verifier.verify(request({ ...headers, 'webhook-signature': `v2,${valid.slice(3)}` })))).toBe('signature_mismatch');
  });

  it('rejects the wrong secret', async () => {
    const other = standardWebhooks({ secret: generateStandardSecret(), now: () => NOW_MS });
    expect(await codeOf(other.verify(request(headers)))).toBe('signature_mismatch');
  });

  it('accepts the secret without its whsec_ prefix, and unpadded', async () => {
    const bare = standardWebhooks({ secret: reference.secret.slice('whsec_'.length), now: () => NOW_MS });
    expect(await codeOf(bare.verify(request(headers)))).toBe('verified');
    const padded = `whsec_${Buffer.from('sixteen byte key').toString('base64')}`;
    expect(padded.endsWith('==')).toBe(true);
    const signed = createStandardSigner({ secret: padded }).sign({ id: 'msg_1', timestamp: reference.now, body: 'x' });
    const unpadded = standardWebhooks({ secret: padded.replace(/=+$/, ''), now: () => NOW_MS });
    expect(await codeOf(unpadded.verify(request(signed, 'x')))).toBe('verified');
  });

  it('rejects missing and repeated headers', async () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      expect(await codeOf(verifier.verify(request({ ...headers, [name]: undefined }))), name).toBe('missing_header');
      expect(await codeOf(verifier.verify(request({ ...headers, [name]: [headers[name]!, headers[name]!] }))), name).toBe('duplicate_header');
    }
  });

  it('reads header names in any case', async () => {
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(await codeOf(verifier.verify(request(upper)))).toBe('verified');
  });

  it('rejects a NaN, signed, decimal or empty timestamp as timestamp_invalid', async () => {
    for (const timestamp of ['NaN', 'hello', '-1614265330', '1614265330.5', '', ' 1614265330']) {
      expect(await codeOf(verifier.verify(request({ ...headers, 'webhook-timestamp': timestamp }))), timestamp).toBe('timestamp_invalid');
    }
  });

  it('rejects a signature header without any version entry as malformed_header', async () => {
    expect(await codeOf(verifier.verify(request({ ...headers, 'webhook-signature': 'garbage' })))).toBe('malformed_header');
  });

  it('rejects a tampered body and a tampered id', async () => {
    expect(await codeOf(verifier.verify(request(headers, reference.body.replace('2', '3'))))).toBe('signature_mismatch');
    expect(await codeOf(verifier.verify(request({ ...headers, 'webhook-id': 'msg_other' })))).toBe('signature_mismatch');
  });

  it('refuses a parsed body and a body over maxBodyBytes', async () => {
    expect(await codeOf(verifier.verify(request(headers, JSON.parse(reference.body))))).toBe('raw_body_unavailable');
    const small = standardWebhooks({ secret: reference.secret, maxBodyBytes: 10, now: () => NOW_MS });
    expect(small.maxBodyBytes).toBe(10);
    expect(await codeOf(small.verify(request(headers)))).toBe('payload_too_large');
  });
});

describe('standardWebhooks: our signer, rotation, v1a and replays', () => {
  const now = () => 1_700_000_000_000;

  it('verifies while a secret rotates: the receiver holds either one', async () => {
    const [oldSecret, newSecret] = [generateStandardSecret(), generateStandardSecret()];
    const headers = createStandardSigner({ secrets: [oldSecret, newSecret], now }).sign({ id: 'msg_r', body: '{}' });
    for (const secret of [oldSecret, newSecret]) {
      expect(await codeOf(standardWebhooks({ secret, now }).verify(request(headers, '{}')))).toBe('verified');
    }
    expect(await codeOf(standardWebhooks({ secrets: [generateStandardSecret(), newSecret], now }).verify(request(headers, '{}')))).toBe('verified');
  });

  it('verifies v1a Ed25519 signatures with the whpk_ public key', async () => {
    const signingKey = generateStandardSecret('v1a');
    const headers = createStandardSigner({ secret: signingKey, now }).sign({ id: 'msg_a', body: new Uint8Array([1, 2, 3]) });
    const verifier = standardWebhooks({ publicKey: standardPublicKey(signingKey), now });
    const event = await verifier.verify(request(headers, new Uint8Array([1, 2, 3])));
    expect(event).toMatchObject({ kind: 'event', id: 'msg_a', timestamp: 1_700_000_000 });
    expect(await codeOf(verifier.verify(request(headers, new Uint8Array([1, 2, 4]))))).toBe('signature_mismatch');
    const otherKey = standardWebhooks({ publicKey: standardPublicKey(generateStandardSecret('v1a')), now });
    expect(await codeOf(otherKey.verify(request(headers, new Uint8Array([1, 2, 3]))))).toBe('signature_mismatch');
    // A v1a entry of the wrong length is a rejection, not an exception.
    expect(await codeOf(verifier.verify(request({ ...headers, 'webhook-signature': 'v1a,AAAA' }, new Uint8Array([1, 2, 3]))))).toBe('signature_mismatch');
  });

  it('verifies when v1 and v1a are both sent and the receiver has only one of them', async () => {
    const [secret, signingKey] = [generateStandardSecret(), generateStandardSecret('v1a')];
    const headers = createStandardSigner({ secrets: [secret, signingKey], now }).sign({ id: 'msg_b', body: 'hi' });
    expect(await codeOf(standardWebhooks({ publicKey: standardPublicKey(signingKey), now }).verify(request(headers, 'hi')))).toBe('verified');
    expect(await codeOf(standardWebhooks({ secret, now }).verify(request(headers, 'hi')))).toBe('verified');
  });

  it('rejects the same webhook-id twice as replayed, until the window has passed', async () => {
    let clock = now();
    const secret = generateStandardSecret();
    const seenIds = new MemorySeenIds({ now: () => clock });
    const verifier = standardWebhooks({ secret, seenIds, now: () => clock });
    const headers = createStandardSigner({ secret, now: () => clock }).sign({ id: 'msg_once', body: '{}' });
    expect(await codeOf(verifier.verify(request(headers, '{}')))).toBe('verified');
    expect(await codeOf(verifier.verify(request(headers, '{}')))).toBe('replayed');
    clock += 301_000;
    expect(await codeOf(verifier.verify(request(headers, '{}')))).toBe('timestamp_out_of_window');
  });

  it('refuses a configuration without keys or with a bad key', () => {
    expect(() => standardWebhooks({})).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => standardWebhooks({ secret: 'whsec_***' })).toThrow(expect.objectContaining({ code: 'invalid_key' }));
    expect(() => standardWebhooks({ publicKey: 'whpk_AAAA' })).toThrow(expect.objectContaining({ code: 'invalid_key' }));
    expect(() => standardWebhooks({ secret: reference.secret, maxBodyBytes: 0 })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});

describe('standardWebhooks: arbitrary input', () => {
  it('answers any headers and body with a verified event or a coded HooklineError, never another exception', async () => {
    const verifier = standardWebhooks({ secret: reference.secret, now: () => NOW_MS });
    const headerValue = fc.oneof(
      fc.string(), fc.constant(reference.headers['webhook-signature']!), fc.constant('v1,'), fc.constant('v1a,AAAA'),
      fc.array(fc.string(), { maxLength: 3 }), fc.constant(undefined), fc.integer() as fc.Arbitrary<unknown>,
    );
    await fc.assert(fc.asyncProperty(
      fc.record({ 'webhook-id': headerValue, 'webhook-timestamp': fc.oneof(headerValue, fc.constant(reference.headers['webhook-timestamp']!)), 'webhook-signature': headerValue }),
      fc.oneof(fc.string(), fc.uint8Array(), fc.constant(reference.body)),
      async (headers, body) => {
        const outcome = await codeOf(verifier.verify(request(headers as Record<string, string>, body)));
        expect(outcome).not.toMatch(/^uncoded/);
      },
    ), { numRuns: 300 });
  });
});
