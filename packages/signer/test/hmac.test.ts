import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createHmacSigner } from '@hookline/signer';

interface Vector { provider: string; secret: string; body: string; headers: Record<string, string>; valid: boolean; now?: number }
const vectors = (JSON.parse(readFileSync(new URL('../../../../shared/vectors/providers.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors;

describe('createHmacSigner', () => {
  it.each(vectors.filter((v) => v.provider === 'github' && v.valid).map((v) => [v.body, v]))(
    'signs like GitHub (x-hub-signature-256) for %s', (_body, vector) => {
      const signer = createHmacSigner({ secret: vector.secret, header: 'X-Hub-Signature-256', prefix: 'sha256=' });
      expect(signer.sign({ body: vector.body })).toEqual(vector.headers);
    });

  it.each(vectors.filter((v) => v.provider === 'slack' && v.valid).map((v) => [v.now, v]))(
    'signs like Slack (v0:{timestamp}:{body}) at %s', (_now, vector) => {
      const signer = createHmacSigner({
        secret: vector.secret, header: 'x-slack-signature', prefix: 'v0=', content: 'v0:{timestamp}:{body}',
        timestampHeader: 'x-slack-request-timestamp',
      });
      const headers = signer.sign({ body: vector.body, timestamp: Number(vector.headers['x-slack-request-timestamp']) });
      expect(headers).toEqual({
        'x-slack-signature': vector.headers['x-slack-signature'],
        'x-slack-request-timestamp': vector.headers['x-slack-request-timestamp'],
      });
    });

  it('signs sha1 and sha512 in base64, with the id and timestamp in the content', () => {
    const signer = createHmacSigner({
      secret: 'k', header: 'x-sig', algorithm: 'sha512', encoding: 'base64', content: '{id}|{timestamp}|{body}',
      timestampHeader: 'x-ts', idHeader: 'x-id',
    });
    expect(signer.sign({ body: 'b', id: 'evt_1', timestamp: 42 })).toEqual({
      'x-sig': createHmac('sha512', 'k').update('evt_1|42|b').digest('base64'), 'x-ts': '42', 'x-id': 'evt_1',
    });
    const sha1 = createHmacSigner({ secret: new Uint8Array([1, 2, 3]), header: 'x-sig', algorithm: 'sha1' });
    expect(sha1.sign({ body: new Uint8Array([9]) })).toEqual({
      'x-sig': createHmac('sha1', new Uint8Array([1, 2, 3])).update(new Uint8Array([9])).digest('hex'),
    });
  });

  it('exposes its scheme without the secret', () => {
    const signer = createHmacSigner({ secret: 'hush', header: 'x-sig', prefix: 'sha256=' });
    expect(signer.scheme).toEqual({ header: 'x-sig', prefix: 'sha256=' });
  });

  it('refuses a scheme the receiver could not check with invalid_config', () => {
    const bad = [
      { secret: 'k', header: 'x-sig', content: '{timestamp}.{body}' },
      { secret: 'k', header: 'x-sig', content: '{id}.{body}' },
      { secret: 'k', header: 'x-sig', content: '{timestamp}', timestampHeader: 'x-ts' },
      { secret: 'k', header: 'bad header' },
      { secret: 'k', header: 'x-sig', algorithm: 'md5' },
      { secret: 'k', header: 'x-sig', encoding: 'base32' },
    ];
    for (const scheme of bad) {
      expect(() => createHmacSigner(scheme as never), JSON.stringify(scheme)).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    }
    expect(() => createHmacSigner({ secret: '', header: 'x-sig' })).toThrow(expect.objectContaining({ code: 'invalid_key' }));
  });
});
