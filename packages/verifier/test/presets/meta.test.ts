import { createHmacSigner } from '@hookline/signer';
import { describe, expect, it } from 'vitest';
import { meta } from '../../src/index.js';
import { outcome } from './helpers.js';

const secret = 'app-secret';
const subscribe = (query: Record<string, string>) => ({ method: 'GET', url: `/in/meta?${new URLSearchParams(query)}`, headers: {}, body: '' });

describe('meta preset', () => {
  it('answers hub.challenge as text/plain when hub.verify_token matches', async () => {
    const result = await meta({ secret, verifyToken: 'tok' }).verify(subscribe({ 'hub.mode': 'subscribe', 'hub.verify_token': 'tok', 'hub.challenge': '42' }));
    expect(result).toEqual({ kind: 'challenge', response: { status: 200, headers: { 'content-type': 'text/plain' }, body: '42' } });
  });

  it.each([
    ['a wrong verify token', { 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': '42' }],
    ['a verify token that only shares a prefix', { 'hub.mode': 'subscribe', 'hub.verify_token': 'to', 'hub.challenge': '42' }],
    ['a mode other than subscribe', { 'hub.mode': 'unsubscribe', 'hub.verify_token': 'tok', 'hub.challenge': '42' }],
    ['no challenge', { 'hub.mode': 'subscribe', 'hub.verify_token': 'tok' }],
    ['no verify token', { 'hub.mode': 'subscribe', 'hub.challenge': '42' }],
  ])('refuses a subscription with %s: challenge_failed', async (_case, query) => {
    expect(await outcome(meta({ secret, verifyToken: 'tok' }).verify(subscribe(query)))).toBe('challenge_failed');
  });

  it('refuses every subscription when no verify token is configured', async () => {
    expect(await outcome(meta({ secret }).verify(subscribe({ 'hub.mode': 'subscribe', 'hub.verify_token': 'tok', 'hub.challenge': '1' })))).toBe('challenge_failed');
  });

  it('accepts each of several verify tokens while one replaces another', async () => {
    const verifier = meta({ secret, verifyToken: ['new', 'old'] });
    for (const token of ['new', 'old']) {
      const result = await verifier.verify(subscribe({ 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': '7' }));
      expect(result.kind).toBe('challenge');
    }
  });

  it('round-trips with hookline\'s own HMAC signer configured Meta style', async () => {
    const signer = createHmacSigner({ secret, header: 'x-hub-signature-256', prefix: 'sha256=' });
    const body = '{"object":"page","entry":[]}';
    expect((await meta({ secret }).verify({ method: 'POST', url: '/in/meta', headers: signer.sign({ body }), body })).kind).toBe('event');
  });
});
