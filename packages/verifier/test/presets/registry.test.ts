import { createHmac } from 'node:crypto';
import { createHmacSigner, createJwtSigner, createStandardSigner, generateSigningKey } from '@hookline/signer';
import { describe, expect, it } from 'vitest';
import { createVerifier, isPlatform, MemorySeenIds, PLATFORMS } from '../../src/index.js';
import { NOW_SECONDS, now, outcome, sendgridKeyPair, verifiedEvent } from './helpers.js';

/** The least each platform needs to be built. */
const minimal: Record<string, Record<string, unknown>> = {
  github: { secret: 's' },
  slack: { secret: 's' },
  stripe: { secret: 'whsec_s' },
  twilio: { secret: 's', publicUrl: 'https://hooks.example.com' },
  pagerduty: { secret: 's' },
  zendesk: { secret: 's' },
  sendgrid: { publicKey: sendgridKeyPair('registry').publicKey },
  shopify: { secret: 's' },
  x: { secret: 's' },
  meta: { secret: 's', verifyToken: 't' },
  'standard-webhooks': { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  jwt: { jwks: { keys: [] }, issuer: 'https://sender.example.com' },
  header: { name: 'x-api-key', secret: 's' },
  hmac: { secret: 's', header: 'x-signature' },
};

describe('createVerifier', () => {
  it('knows exactly the platforms the product lists', () => {
    expect(PLATFORMS).toEqual([
      'github', 'slack', 'stripe', 'twilio', 'pagerduty', 'zendesk', 'sendgrid', 'shopify', 'x', 'meta',
      'standard-webhooks', 'jwt', 'header', 'hmac',
    ]);
    expect(isPlatform('github')).toBe(true);
    expect(isPlatform('gitlab')).toBe(false);
  });

  it.each(PLATFORMS.map((p) => [p]))('builds the %s verifier from its stored configuration', (platform) => {
    const verifier = createVerifier(platform, minimal[platform]);
    expect(verifier.name).toBe(platform);
    expect(verifier.maxBodyBytes).toBeGreaterThan(0);
  });

  it.each(PLATFORMS.filter((p) => p !== 'jwt' && p !== 'header').map((p) => [p]))(
    'refuses a %s source without its secret: invalid_source naming the field',
    (platform) => {
      const config = { ...minimal[platform] };
      delete config['secret'];
      delete config['publicKey'];
      const field = platform === 'sendgrid' ? 'publicKey' : 'secret';
      expect(() => createVerifier(platform, config)).toThrow(expect.objectContaining({ code: 'invalid_source', details: { field } }));
    },
  );

  it.each([
    ['github', { secret: '' }, 'secret'],
    ['github', { secrets: [] }, 'secrets'],
    ['github', { secrets: ['ok', 3] }, 'secrets[1]'],
    ['github', { secret: 'a', secrets: ['b'] }, 'secrets'],
    ['github', { secret: 's', maxBodyBytes: -1 }, 'maxBodyBytes'],
    ['slack', { secret: 's', toleranceSeconds: Number.NaN }, 'toleranceSeconds'],
    ['twilio', { secret: 's' }, 'publicUrl'],
    ['jwt', { issuer: 'https://a.example' }, 'jwks'],
    ['jwt', { jwks: { keys: [] } }, 'issuer'],
    ['meta', { secret: 's', verifyToken: [] }, 'verifyToken'],
  ] as const)('refuses the %s configuration %j: invalid_source naming %s', (platform, config, field) => {
    expect(() => createVerifier(platform, config)).toThrow(expect.objectContaining({ code: 'invalid_source', details: { field } }));
  });

  it('refuses an unknown platform and a configuration that is not an object', () => {
    expect(() => createVerifier('gitlab', { secret: 's' })).toThrow(expect.objectContaining({ code: 'invalid_source', details: { field: 'platform' } }));
    expect(() => createVerifier('github', 'secret')).toThrow(expect.objectContaining({ code: 'invalid_source', details: { field: 'config' } }));
    expect(() => createVerifier('github', null)).toThrow(expect.objectContaining({ code: 'invalid_source', details: { field: 'config' } }));
  });

  it('turns a foundation verifier\'s configuration error into invalid_source', () => {
    expect(() => createVerifier('standard-webhooks', { secret: 'whsec_***not base64***' })).toThrow(expect.objectContaining({ code: 'invalid_source' }));
    expect(() => createVerifier('hmac', { secret: 's' })).toThrow(expect.objectContaining({ code: 'invalid_source' }));
  });

  it('never puts a secret in an error message', () => {
    let message = '';
    try {
      createVerifier('hmac', { secret: 'super-secret-value' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain('super-secret-value');
  });

  it('passes the shared clock and seen-ids store to the verifier', async () => {
    const secret = 'whsec_s';
    const body = '{"id":"evt_1"}';
    const header = `t=${NOW_SECONDS},v1=${createHmac('sha256', secret).update(`${NOW_SECONDS}.${body}`).digest('hex')}`;
    const verifier = createVerifier('stripe', { secret }, { now, seenIds: new MemorySeenIds({ now }) });
    const request = { method: 'POST', url: '/in/s', headers: { 'stripe-signature': header }, body };
    expect((await verifiedEvent(verifier.verify(request))).id).toBe('evt_1');
    expect(await outcome(verifier.verify(request))).toBe('replayed');
  });

  it('takes a Twilio source\'s public URL from the shared options when its configuration has none', async () => {
    const { createHmac: hmac } = await import('node:crypto');
    const url = 'https://hooks.example.com/in/src_1';
    const signature = hmac('sha1', 's').update(`${url}Bodyhi`).digest('base64');
    const verifier = createVerifier('twilio', { secret: 's' }, { publicUrl: url });
    const request = { method: 'POST', url: '/in/src_1', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body: 'Body=hi' };
    expect((await verifier.verify(request)).kind).toBe('event');
  });

  it('lets the stored configuration win over the shared options', () => {
    expect(createVerifier('github', { secret: 's', maxBodyBytes: 10 }, { maxBodyBytes: 20 }).maxBodyBytes).toBe(10);
  });

  it('builds the custom hmac verifier that checks what hookline\'s HMAC signer sends', async () => {
    const scheme = { header: 'x-signature', prefix: 'sha512=', algorithm: 'sha512', encoding: 'base64', content: '{timestamp}.{body}', timestampHeader: 'x-timestamp' } as const;
    const signer = createHmacSigner({ secret: 'custom-secret', ...scheme }, { now });
    const verifier = createVerifier('hmac', { secret: 'custom-secret', ...scheme }, { now });
    const body = '{"hello":"world"}';
    const headers = signer.sign({ body });
    expect((await verifiedEvent(verifier.verify({ method: 'POST', url: '/in/c', headers, body }))).payload).toEqual({ hello: 'world' });
    expect(await outcome(verifier.verify({ method: 'POST', url: '/in/c', headers, body: '{"hello":"there"}' }))).toBe('signature_mismatch');
  });

  it('builds the standard-webhooks verifier that checks what hookline\'s Standard Webhooks signer sends', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"type":"user.created"}';
    const headers = createStandardSigner({ secret, now }).sign({ id: 'msg_1', body });
    const event = await verifiedEvent(createVerifier('standard-webhooks', { secret }, { now }).verify({ method: 'POST', url: '/in/sw', headers, body }));
    expect(event.id).toBe('msg_1');
  });

  it('builds the jwt verifier that checks what hookline\'s JWT signer sends', async () => {
    const key = await generateSigningKey('ES256');
    const signer = createJwtSigner({ issuer: 'https://sender.example.com', keys: [key], now });
    const body = '{"event":"c1.webhooks.v1.PayloadTest"}';
    const url = 'https://hooks.example.com/in/jwt';
    const headers = await signer.sign({ method: 'POST', url, body });
    const verifier = createVerifier('jwt', { jwks: signer.jwks(), issuer: 'https://sender.example.com', publicUrl: 'https://hooks.example.com' }, { now });
    expect((await verifier.verify({ method: 'POST', url: '/in/jwt', headers, body })).kind).toBe('event');
  });
});
