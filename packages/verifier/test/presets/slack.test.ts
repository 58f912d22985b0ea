import { createHmacSigner } from '@hookline/signer';
import { describe, expect, it } from 'vitest';
import { slack } from '../../src/index.js';
import { NOW_SECONDS, now, outcome, signSlack, verifiedEvent, withHeader } from './helpers.js';

const secret = '8f742231b10e8888abcd99yyyzzz85a5';
const challengeBody = '{"token":"t","challenge":"c-123","type":"url_verification"}';

describe('slack preset', () => {
  it('answers url_verification with {"challenge"} as JSON once its signature checks', async () => {
    const result = await slack({ secret, now }).verify(signSlack({ secret, body: challengeBody }));
    expect(result).toEqual({ kind: 'challenge', response: { status: 200, headers: { 'content-type': 'application/json' }, body: '{"challenge":"c-123"}' } });
  });

  it('never answers a url_verification that is unsigned, forged or stale', async () => {
    const verifier = slack({ secret, now });
    const signed = signSlack({ secret, body: challengeBody });
    expect(await outcome(verifier.verify(withHeader(signed, 'x-slack-signature', undefined)))).toBe('missing_header');
    expect(await outcome(verifier.verify(signSlack({ secret: 'forged', body: challengeBody })))).toBe('signature_mismatch');
    expect(await outcome(verifier.verify(signSlack({ secret, body: challengeBody, timestamp: NOW_SECONDS - 600 })))).toBe('timestamp_out_of_window');
  });

  it('answers a signed slash-command ssl_check=1 with an empty 200 and delivers no event', async () => {
    const form = withHeader(signSlack({ secret, body: 'ssl_check=1&token=abc' }), 'content-type', 'application/x-www-form-urlencoded');
    const result = await slack({ secret, now }).verify(form);
    expect(result).toEqual({ kind: 'challenge', response: { status: 200, headers: { 'content-type': 'text/plain' }, body: '' } });
    expect(await outcome(slack({ secret, now }).verify(withHeader(form, 'x-slack-signature', undefined)))).toBe('missing_header');
  });

  it('delivers an event whose text merely mentions url_verification', async () => {
    const body = '{"type":"event_callback","event_id":"Ev9","event":{"type":"message","text":"url_verification ssl_check=1"}}';
    const event = await verifiedEvent(slack({ secret, now }).verify(signSlack({ secret, body })));
    expect(event.id).toBe('Ev9');
    expect(event.payload).toMatchObject({ type: 'event_callback' });
  });

  it('reports Slack\'s retry headers as unverified', async () => {
    const request = withHeader(signSlack({ secret, body: '{"event_id":"Ev1"}' }), 'x-slack-retry-num', '1');
    expect((await verifiedEvent(slack({ secret, now }).verify(request))).unverified).toEqual({ 'x-slack-retry-num': '1' });
  });

  it('round-trips with hookline\'s own HMAC signer configured Slack style', async () => {
    const signer = createHmacSigner(
      { secret, header: 'x-slack-signature', prefix: 'v0=', content: 'v0:{timestamp}:{body}', timestampHeader: 'x-slack-request-timestamp' },
      { now },
    );
    const body = 'command=%2Fdeploy&text=staging';
    const headers = { ...signer.sign({ body }), 'content-type': 'application/x-www-form-urlencoded' };
    const event = await verifiedEvent(slack({ secret, now }).verify({ method: 'POST', url: '/in/slack', headers, body }));
    expect(event.payload).toEqual({ command: '/deploy', text: 'staging' });
  });
});
