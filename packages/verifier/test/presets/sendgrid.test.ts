import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sendgrid } from '../../src/index.js';
import { now, outcome, sendgridKeyPair, signSendGrid, withHeader } from './helpers.js';

const body = '[{"email":"a@example.com","event":"delivered","sg_event_id":"e1"}]\r\n';

describe('sendgrid preset', () => {
  it('takes the verification key as PEM as well as base64 DER', async () => {
    const der = sendgridKeyPair('main').publicKey;
    const pem = createPublicKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
    const result = await sendgrid({ publicKey: pem, now }).verify(signSendGrid({ secret: 'main', body }));
    expect(result.kind).toBe('event');
  });

  it('refuses a signature that is base64 but not DER as a mismatch, never a crash', async () => {
    const request = withHeader(signSendGrid({ secret: 'main', body }), 'x-twilio-email-event-webhook-signature', Buffer.from('not der').toString('base64'));
    expect(await outcome(sendgrid({ publicKey: sendgridKeyPair('main').publicKey, now }).verify(request))).toBe('signature_mismatch');
  });

  it.each(['not-a-key', Buffer.from('junk').toString('base64')])('refuses the key %j: invalid_source naming publicKey', (publicKey) => {
    expect(() => sendgrid({ publicKey })).toThrow(expect.objectContaining({ code: 'invalid_source', details: { field: 'publicKey' } }));
  });
});
