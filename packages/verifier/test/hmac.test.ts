import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHmacSigner, type HmacScheme } from '@hookline/signer';
import { hmac, MemorySeenIds, type HmacVerifierOptions, type WebhookRequest } from '@hookline/verifier';

interface Vector { provider: string; source: string; secret: string; body: string; headers: Record<string, string>; valid: boolean; now?: number }
const vectors = (JSON.parse(readFileSync(new URL('../../../../shared/vectors/providers.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors;

const NOW = 1_700_000_000_000;

function request(headers: Record<string, string>, body: WebhookRequest['body']): WebhookRequest {
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

/** The receiver's mirror of a sender's scheme: same fields, `secrets` for rotation. */
function mirror({ secret, ...scheme }: HmacScheme, extra: Partial<HmacVerifierOptions> = {}): HmacVerifierOptions {
  return { ...scheme, secrets: [secret], now: () => NOW, ...extra };
}

const schemes: Array<[string, HmacScheme]> = [
  ['GitHub style', { secret: 's3cret', header: 'x-hub-signature-256', prefix: 'sha256=' }],
  ['Slack style', { secret: 's3cret', header: 'x-slack-signature', prefix: 'v0=', content: 'v0:{timestamp}:{body}', timestampHeader: 'x-slack-request-timestamp' }],
  ['sha1 base64', { secret: 's3cret', header: 'x-sig', algorithm: 'sha1', encoding: 'base64' }],
  ['sha512 with id', { secret: new Uint8Array([7, 7, 7]), header: 'x-sig', algorithm: 'sha512', content: '{id}.{timestamp}.{body}', timestampHeader: 'x-ts', idHeader: 'x-id' }],
];

describe('hmac: round trip with the signer scheme', () => {
  it.each(schemes)('verifies what createHmacSigner signs (%s)', async (_name, scheme) => {
    const headers = createHmacSigner(scheme, { now: () => NOW }).sign({ body: '{"a":"é"}', id: 'evt_1' });
    const event = await hmac(mirror(scheme)).verify(request(headers, '{"a":"é"}'));
    expect(event).toMatchObject({ kind: 'event', payload: { a: 'é' } });
    expect(await codeOf(hmac(mirror(scheme)).verify(request(headers, '{"a":"e"}')))).toBe('signature_mismatch');
    expect(await codeOf(hmac(mirror({ ...scheme, secret: 'other' })).verify(request(headers, '{"a":"é"}')))).toBe('signature_mismatch');
  });

  it('verifies during a rotation with either secret', async () => {
    const scheme: HmacScheme = { secret: 'new', header: 'x-sig' };
    const headers = createHmacSigner(scheme).sign({ body: 'b' });
    expect(await codeOf(hmac({ header: 'x-sig', secrets: ['old', 'new'] }).verify(request(headers, 'b')))).toBe('verified');
  });
});

describe('hmac: known-answer vectors', () => {
  it.each(vectors.filter((v) => v.provider === 'github').map((v) => [v.source, v]))('%s', async (_source, vector) => {
    const verifier = hmac({ secrets: [vector.secret], header: 'x-hub-signature-256', prefix: 'sha256=' });
    expect(await codeOf(verifier.verify(request(vector.headers, vector.body)))).toBe(vector.valid ? 'verified' : 'signature_mismatch');
  });

  // The Slack vectors that carry a signature: the docs example verifies at its time, and is stale 10 minutes later.
  it.each(vectors.filter((v) => v.provider === 'slack' && v.secret !== undefined).map((v) => [v.source, v]))('%s', async (_source, vector) => {
    const verifier = hmac({
      secrets: [vector.secret], header: 'x-slack-signature', prefix: 'v0=', content: 'v0:{timestamp}:{body}',
      timestampHeader: 'x-slack-request-timestamp', now: () => vector.now! * 1000,
    });
    const fresh = Math.abs(vector.now! - Number(vector.headers['x-slack-request-timestamp'])) <= 300;
    expect(await codeOf(verifier.verify(request(vector.headers, vector.body))))
      .toBe(vector.valid ? 'verified' : fresh ? 'signature_mismatch' : 'timestamp_out_of_window');
  });
});

describe('hmac: rejections', () => {
  const scheme: HmacScheme = { secret: 'k', header: 'x-sig', prefix: 'sha256=', content: '{timestamp}.{body}', timestampHeader: 'x-ts', idHeader: 'x-id' };
  const signed = () => createHmacSigner(scheme, { now: () => NOW }).sign({ body: 'b', id: 'evt_9' });

  it('rejects a missing signature or timestamp header', async () => {
    const { 'x-sig': _sig, ...noSig } = signed();
    const { 'x-ts': _ts, ...noTs } = signed();
    expect(await codeOf(hmac(mirror(scheme)).verify(request(noSig, 'b')))).toBe('missing_header');
    expect(await codeOf(hmac(mirror(scheme)).verify(request(noTs, 'b')))).toBe('missing_header');
  });

  it('rejects a wrong prefix or encoding as malformed_header and a wrong length as signature_mismatch', async () => {
    const headers = signed();
    const hex = headers['x-sig']!.slice('sha256='.length);
    expect(await codeOf(hmac(mirror(scheme)).verify(request({ ...headers, 'x-sig': `sha1=${hex}` }, 'b')))).toBe('malformed_header');
    expect(await codeOf(hmac(mirror(scheme)).verify(request({ ...headers, 'x-sig': 'sha256=zz' }, 'b')))).toBe('malformed_header');
    expect(await codeOf(hmac(mirror(scheme)).verify(request({ ...headers, 'x-sig': `sha256=${hex.slice(2)}` }, 'b')))).toBe('signature_mismatch');
  });

  it('rejects a stale or NaN timestamp', async () => {
    const headers = signed();
    expect(await codeOf(hmac(mirror(scheme, { now: () => NOW + 301_000 })).verify(request(headers, 'b')))).toBe('timestamp_out_of_window');
    expect(await codeOf(hmac(mirror(scheme)).verify(request({ ...headers, 'x-ts': 'NaN' }, 'b')))).toBe('timestamp_invalid');
    expect(await codeOf(hmac(mirror(scheme)).verify(request({ ...headers, 'x-ts': String(NOW / 1000 + 1) }, 'b')))).toBe('signature_mismatch');
  });

  it('rejects a replayed delivery id, scoped by the verifier name', async () => {
    const seenIds = new MemorySeenIds({ now: () => NOW });
    const verifier = hmac(mirror(scheme, { seenIds, name: 'acme' }));
    const headers = signed();
    expect(await codeOf(verifier.verify(request(headers, 'b')))).toBe('verified');
    expect(await codeOf(verifier.verify(request(headers, 'b')))).toBe('replayed');
    expect(await codeOf(hmac(mirror(scheme, { seenIds, name: 'other' })).verify(request(headers, 'b')))).toBe('verified');
  });

  it('refuses a body over maxBodyBytes', async () => {
    const verifier = hmac(mirror(scheme, { maxBodyBytes: 1 }));
    expect(await codeOf(verifier.verify(request(signed(), 'bb')))).toBe('payload_too_large');
  });

  it('refuses a configuration it could not check with', () => {
    expect(() => hmac({ header: 'x-sig', secrets: [] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => hmac({ header: 'x-sig', secrets: ['k'], content: '{timestamp}{body}' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => hmac({ header: 'x-sig', secrets: ['k'], algorithm: 'md5' as never })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => hmac({ header: 'x-sig', secrets: [''] })).toThrow(expect.objectContaining({ code: 'invalid_key' }));
  });
});

describe('hmac: arbitrary input', () => {
  it('answers any signature and timestamp header with a coded HooklineError, never another exception', async () => {
    const verifier = hmac({ secrets: ['k'], header: 'x-sig', prefix: 'sha256=', content: '{timestamp}.{body}', timestampHeader: 'x-ts', now: () => NOW });
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.string(), fc.string().map((s) => `sha256=${s}`), fc.constant(undefined) as fc.Arbitrary<unknown>),
      fc.oneof(fc.string(), fc.constant(String(NOW / 1000)), fc.integer() as fc.Arbitrary<unknown>),
      async (signature, timestamp) => {
        const outcome = await codeOf(hmac({ secrets: ['k'], header: 'x-sig' }).verify(request({ 'x-sig': signature as string }, 'b')));
        expect(outcome).not.toMatch(/^uncoded|^verified/);
        const timed = await codeOf(verifier.verify(request({ 'x-sig': signature as string, 'x-ts': timestamp as string }, 'b')));
        expect(timed).not.toMatch(/^uncoded|^verified/);
      },
    ), { numRuns: 300 });
  });
});
