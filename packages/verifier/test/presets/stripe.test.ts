import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemorySeenIds, stripe } from '../../src/index.js';
import { NOW_SECONDS, now, outcome, verifiedEvent } from './helpers.js';

const secret = 'whsec_test_secret';
const body = '{"id":"evt_1","object":"event","type":"invoice.paid"}';
const mac = (key: string, t: number, text = body) => createHmac('sha256', key).update(`${t}.${text}`).digest('hex');
const request = (header: string) => ({ method: 'POST', url: '/in/stripe', headers: { 'stripe-signature': header }, body });

describe('stripe preset', () => {
  it('passes when any v1 matches, as Stripe sends one per secret while a secret is rolled', async () => {
    const header = `t=${NOW_SECONDS},v1=${mac('whsec_old', NOW_SECONDS)},v1=${mac(secret, NOW_SECONDS)}`;
    const event = await verifiedEvent(stripe({ secret, now }).verify(request(header)));
    expect(event.id).toBe('evt_1');
    expect(event.timestamp).toBe(NOW_SECONDS);
  });

  it('ignores v0 and unknown schemes: only v1 counts', async () => {
    const header = `t=${NOW_SECONDS},v0=${mac(secret, NOW_SECONDS)},v2=${mac(secret, NOW_SECONDS)}`;
    expect(await outcome(stripe({ secret, now }).verify(request(header)))).toBe('signature_mismatch');
  });

  it('keys the HMAC with the whole whsec_ string, never its decoded bytes', async () => {
    const decoded = Buffer.from('test_secret', 'base64').toString('latin1');
    const header = `t=${NOW_SECONDS},v1=${mac(decoded, NOW_SECONDS)}`;
    expect(await outcome(stripe({ secret, now }).verify(request(header)))).toBe('signature_mismatch');
  });

  it('refuses a header without t: malformed_header', async () => {
    expect(await outcome(stripe({ secret, now }).verify(request(`v1=${mac(secret, NOW_SECONDS)}`)))).toBe('malformed_header');
  });

  it('refuses two Stripe-Signature headers joined into one value: duplicate_header', async () => {
    const one = `t=${NOW_SECONDS},v1=${mac(secret, NOW_SECONDS)}`;
    expect(await outcome(stripe({ secret, now }).verify(request(`${one}, ${one}`)))).toBe('duplicate_header');
  });

  it('remembers an event id until its timestamp leaves the window', async () => {
    let clock = NOW_SECONDS * 1000;
    const seenIds = new MemorySeenIds({ now: () => clock });
    const verifier = stripe({ secret, now: () => clock, seenIds });
    const header = `t=${NOW_SECONDS},v1=${mac(secret, NOW_SECONDS)}`;
    expect((await verifiedEvent(verifier.verify(request(header)))).id).toBe('evt_1');
    expect(await outcome(verifier.verify(request(header)))).toBe('replayed');
    clock += 301_000;
    expect(await outcome(verifier.verify(request(header)))).toBe('timestamp_out_of_window');
  });
});
