import { createHmac } from 'node:crypto';
import { createHmacSigner } from '@hookline/signer';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES, GITHUB_MAX_BODY_BYTES, github } from '../../src/index.js';
import { outcome, signGithub, verifiedEvent, withHeader } from './helpers.js';

const secret = "It's a Secret to Everybody";
const body = '{"action":"opened","number":1}';

describe('github preset', () => {
  it('round-trips with hookline\'s own HMAC signer configured GitHub style', async () => {
    const signer = createHmacSigner({ secret, header: 'x-hub-signature-256', prefix: 'sha256=' });
    const event = await verifiedEvent(github({ secret }).verify({ method: 'POST', url: '/in/gh', headers: signer.sign({ body }), body }));
    expect(event.payload).toEqual({ action: 'opened', number: 1 });
  });

  it('reports X-GitHub-Delivery as the id and the unsigned event name and hook id as unverified', async () => {
    const request = withHeader(signGithub({ secret, body, id: '72d3162e-cc78-11e3-81ab-4c9367dc0958' }), 'x-github-hook-id', '292430182');
    const event = await verifiedEvent(github({ secret }).verify(request));
    expect(event.id).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(event.unverified).toEqual({ 'x-github-event': 'push', 'x-github-hook-id': '292430182' });
  });

  it('parses the payload on first read and serialises with it', async () => {
    const event = await verifiedEvent(github({ secret }).verify(signGithub({ secret, body, id: 'd-9' })));
    expect(JSON.parse(JSON.stringify(event))).toMatchObject({ kind: 'event', payload: { action: 'opened', number: 1 }, id: 'd-9' });
    event.payload = { replaced: true };
    expect(event.payload).toEqual({ replaced: true });
  });

  it('accepts bodies up to GitHub\'s 25 MB by default, unlike the 1 MiB of other presets', () => {
    expect(github({ secret }).maxBodyBytes).toBe(GITHUB_MAX_BODY_BYTES);
    expect(GITHUB_MAX_BODY_BYTES).toBe(25 * 1024 * 1024);
    expect(GITHUB_MAX_BODY_BYTES).toBeGreaterThan(DEFAULT_MAX_BODY_BYTES);
  });

  it('ignores the SHA-1 X-Hub-Signature unless asked for it', async () => {
    const sha1 = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
    const request = { method: 'POST', url: '/in/gh', headers: { 'x-hub-signature': sha1 }, body };
    expect(await outcome(github({ secret }).verify(request))).toBe('missing_header');
    expect((await verifiedEvent(github({ secret, acceptSha1: true }).verify(request))).kind).toBe('event');
  });

  it('checks X-Hub-Signature-256 when both are present, even with acceptSha1', async () => {
    const sha1 = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
    const request = { method: 'POST', url: '/in/gh', headers: { 'x-hub-signature': sha1, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }, body };
    expect(await outcome(github({ secret, acceptSha1: true }).verify(request))).toBe('signature_mismatch');
  });

  it('refuses two signatures joined into one header value by the server: duplicate_header', async () => {
    const value = signGithub({ secret, body }).headers['x-hub-signature-256'] as string;
    const request = withHeader(signGithub({ secret, body }), 'x-hub-signature-256', `${value}, ${value}`);
    expect(await outcome(github({ secret }).verify(request))).toBe('duplicate_header');
  });

  it('refuses a truncated signature as a mismatch, not an exception', async () => {
    const request = withHeader(signGithub({ secret, body }), 'x-hub-signature-256', 'sha256=abcd');
    expect(await outcome(github({ secret }).verify(request))).toBe('signature_mismatch');
  });

  it('reads the JSON inside a form-encoded delivery\'s payload field', async () => {
    const form = `payload=${encodeURIComponent(body)}`;
    const request = withHeader(signGithub({ secret, body: form }), 'content-type', 'application/x-www-form-urlencoded');
    expect((await verifiedEvent(github({ secret }).verify(request))).payload).toEqual({ action: 'opened', number: 1 });
  });
});
