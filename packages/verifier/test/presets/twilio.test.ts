import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { twilio } from '../../src/index.js';
import { outcome, sha256Hex, twilioSignature, verifiedEvent } from './helpers.js';

const secret = '12345';
const fields = { CallSid: 'CA123', From: '+14158675309', To: '+18005551212' };
const form = new URLSearchParams(fields).toString();
const formHeaders = (signature: string) => ({ 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature });

describe('twilio preset', () => {
  it('signs with the configured public URL, not the host the request claims', async () => {
    const verifier = twilio({ secret, publicUrl: 'https://hooks.example.com' });
    const signature = twilioSignature(secret, 'https://hooks.example.com/in/voice?x=1', fields);
    const viaProxy = { method: 'POST', url: 'http://10.0.0.7:8080/in/voice?x=1', headers: formHeaders(signature), body: form };
    expect((await verifiedEvent(verifier.verify(viaProxy))).payload).toEqual(fields);
    const attackerSigned = twilioSignature(secret, 'https://evil.example/in/voice?x=1', fields);
    expect(await outcome(verifier.verify({ ...viaProxy, headers: formHeaders(attackerSigned) }))).toBe('signature_mismatch');
  });

  it('accepts a signature over the URL with or without the default port, as twilio-node does', async () => {
    const withPort = twilioSignature(secret, 'https://hooks.example.com:443/in/voice', fields);
    const withoutPort = twilioSignature(secret, 'https://hooks.example.com/in/voice', fields);
    for (const publicUrl of ['https://hooks.example.com', 'https://hooks.example.com:443']) {
      const verifier = twilio({ secret, publicUrl });
      for (const signature of [withPort, withoutPort]) {
        const result = await verifier.verify({ method: 'POST', url: '/in/voice', headers: formHeaders(signature), body: form });
        expect(result.kind).toBe('event');
      }
    }
    const otherPort = twilioSignature(secret, 'https://hooks.example.com:8443/in/voice', fields);
    const verifier = twilio({ secret, publicUrl: 'https://hooks.example.com' });
    expect(await outcome(verifier.verify({ method: 'POST', url: '/in/voice', headers: formHeaders(otherPort), body: form }))).toBe('signature_mismatch');
  });

  it('takes a public URL with a path as the endpoint itself, with the request\'s query', async () => {
    const verifier = twilio({ secret, publicUrl: 'https://example.com/hooks/in/voice' });
    const signature = twilioSignature(secret, 'https://example.com/hooks/in/voice?x=1', fields);
    const result = await verifier.verify({ method: 'POST', url: '/in/voice?x=1', headers: formHeaders(signature), body: form });
    expect(result.kind).toBe('event');
  });

  it('takes the exact URL from a publicUrl function', async () => {
    const verifier = twilio({ secret, publicUrl: (request) => `https://tenant.example.com${request.url}` });
    const signature = twilioSignature(secret, 'https://tenant.example.com/in/voice', fields);
    expect((await verifier.verify({ method: 'POST', url: '/in/voice', headers: formHeaders(signature), body: form })).kind).toBe('event');
  });

  it('sorts repeated form fields\' values, each appended as name + value', async () => {
    const body = 'To=%2B1&Media=b&Media=a';
    const signature = createHmac('sha1', secret).update('https://hooks.example.com/in/mmsMediaaMediabTo+1').digest('base64');
    const verifier = twilio({ secret, publicUrl: 'https://hooks.example.com' });
    expect((await verifier.verify({ method: 'POST', url: '/in/mms', headers: formHeaders(signature), body })).kind).toBe('event');
  });

  it('covers a JSON body through bodySHA256 in the signed URL, and refuses a changed body', async () => {
    const body = '{"property": "value", "boolean": true}';
    const path = `/in/json?bodySHA256=${sha256Hex(body)}`;
    const signature = twilioSignature(secret, `https://hooks.example.com${path}`, {});
    const verifier = twilio({ secret, publicUrl: 'https://hooks.example.com' });
    const request = { method: 'POST', url: path, headers: { 'content-type': 'application/json', 'x-twilio-signature': signature }, body };
    expect((await verifiedEvent(verifier.verify(request))).payload).toEqual({ property: 'value', boolean: true });
    expect(await outcome(verifier.verify({ ...request, body: body.replace('value', 'other') }))).toBe('signature_mismatch');
  });

  it('refuses a non-form body that no bodySHA256 covers: unsupported_media_type', async () => {
    const signature = twilioSignature(secret, 'https://hooks.example.com/in/json', {});
    const verifier = twilio({ secret, publicUrl: 'https://hooks.example.com' });
    const request = { method: 'POST', url: '/in/json', headers: { 'content-type': 'application/json', 'x-twilio-signature': signature }, body: '{"a":1}' };
    expect(await outcome(verifier.verify(request))).toBe('unsupported_media_type');
  });

  it('verifies a GET whose parameters are all in the signed URL', async () => {
    const signature = twilioSignature(secret, 'https://hooks.example.com/in/status?CallSid=CA1&CallStatus=completed', {});
    const verifier = twilio({ secret, publicUrl: 'https://hooks.example.com' });
    const result = await verifier.verify({ method: 'GET', url: '/in/status?CallSid=CA1&CallStatus=completed', headers: { 'x-twilio-signature': signature }, body: '' });
    expect(result.kind).toBe('event');
  });

  it('signs any form the way twilio-node does: names sorted, each name\'s distinct values sorted', async () => {
    const verifier = twilio({ secret, publicUrl: 'https://hooks.example.com' });
    const field = fc.tuple(fc.constantFrom('Body', 'From', 'To', 'MediaUrl0', 'a', 'A', '%', 'é'), fc.string({ unit: 'binary', maxLength: 12 }));
    await fc.assert(
      fc.asyncProperty(fc.array(field, { maxLength: 8 }), fc.constantFrom('', '&stray=%zz', '&bad=%E9', '&&empty='), async (pairs, tail) => {
        const body = new URLSearchParams(pairs).toString() + tail;
        // The reference: twilio-node over the fields a URLSearchParams parse gives.
        const byName = new Map<string, Set<string>>();
        for (const [name, value] of new URLSearchParams(body)) byName.set(name, (byName.get(name) ?? new Set()).add(value));
        let data = 'https://hooks.example.com/in/sms';
        for (const name of [...byName.keys()].sort()) for (const value of [...byName.get(name)!].sort()) data += name + value;
        const signature = createHmac('sha1', secret).update(data).digest('base64');
        const result = await verifier.verify({ method: 'POST', url: '/in/sms', headers: formHeaders(signature), body });
        expect(result.kind).toBe('event');
      }),
      { numRuns: 300 },
    );
  });

  it('needs an absolute publicUrl: invalid_source naming publicUrl', () => {
    expect(() => twilio({ secret, publicUrl: '/in/voice' })).toThrow(expect.objectContaining({ code: 'invalid_source', details: { field: 'publicUrl' } }));
  });
});
