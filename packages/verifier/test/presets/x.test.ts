import { createHmac } from 'node:crypto';
import { createHmacSigner } from '@hookline/signer';
import { describe, expect, it } from 'vitest';
import { x } from '../../src/index.js';
import { outcome, verifiedEvent } from './helpers.js';

const secret = 'consumer-secret';
const crc = (token: string, key = secret) => `sha256=${createHmac('sha256', key).update(token).digest('base64')}`;

describe('x preset', () => {
  it('answers a CRC GET with the response_token as JSON', async () => {
    const result = await x({ secret }).verify({ method: 'GET', url: '/in/x?crc_token=abc%2B1', headers: {}, body: '' });
    expect(result).toEqual({
      kind: 'challenge',
      response: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ response_token: crc('abc+1') }) },
    });
  });

  it('answers the CRC with the first secret while several are configured', async () => {
    const result = await x({ secrets: ['new-secret', secret] }).verify({ method: 'GET', url: '/in/x?crc_token=t', headers: {}, body: '' });
    expect(result.kind === 'challenge' && result.response.body).toBe(JSON.stringify({ response_token: crc('t', 'new-secret') }));
  });

  it('refuses a CRC with crc_token twice (bad_request) or empty (challenge_failed)', async () => {
    expect(await outcome(x({ secret }).verify({ method: 'GET', url: '/in/x?crc_token=a&crc_token=b', headers: {}, body: '' }))).toBe('bad_request');
    expect(await outcome(x({ secret }).verify({ method: 'GET', url: '/in/x?crc_token=', headers: {}, body: '' }))).toBe('challenge_failed');
  });

  it('treats a GET without crc_token as an unsigned request: missing_header', async () => {
    expect(await outcome(x({ secret }).verify({ method: 'GET', url: '/in/x', headers: {}, body: '' }))).toBe('missing_header');
  });

  it('never answers a CRC token sent by POST: the body still needs its signature', async () => {
    expect(await outcome(x({ secret }).verify({ method: 'POST', url: '/in/x?crc_token=t', headers: {}, body: '{}' }))).toBe('missing_header');
  });

  it('round-trips with hookline\'s own HMAC signer configured X style', async () => {
    const signer = createHmacSigner({ secret, header: 'x-twitter-webhooks-signature', prefix: 'sha256=', encoding: 'base64' });
    const body = '{"for_user_id":"2244994945","tweet_create_events":[]}';
    const event = await verifiedEvent(x({ secret }).verify({ method: 'POST', url: '/in/x', headers: signer.sign({ body }), body }));
    expect(event.payload).toEqual({ for_user_id: '2244994945', tweet_create_events: [] });
  });
});
