// The rules every provider preset keeps, run over each preset signed the way its provider signs.
import { describe, expect, it } from 'vitest';
import {
  github, MemorySeenIds, meta, pagerduty, sendgrid, shopify, slack, stripe, twilio, x, zendesk,
  type Verifier, type WebhookRequest,
} from '../../src/index.js';
import {
  NOW_SECONDS, TWILIO_ORIGIN, now, outcome, sendgridKeyPair, signGithub, signMeta, signPagerDuty, signSendGrid,
  signShopify, signSlack, signStripe, signTwilio, signX, signZendesk, verifiedEvent, withHeader, type SignInput,
} from './helpers.js';

interface PresetCase {
  name: string;
  make: (secrets: string[], extra?: Record<string, unknown>) => Verifier;
  sign: (input: SignInput) => WebhookRequest;
  body: string;
  payload: unknown;
  signatureHeader: string;
  timestampHeader?: string;
  /** The delivery id the verified event reports, where the provider has one. */
  id?: string;
}

const json = { event_id: 'Ev1', id: 'evt_1', event: { id: 'pd-event-1', event_type: 'incident.triggered' }, text: 'hello' };
const jsonBody = JSON.stringify(json);

const cases: PresetCase[] = [
  { name: 'github', make: (secrets, extra) => github({ secrets, now, ...extra }), sign: signGithub, body: jsonBody, payload: json, signatureHeader: 'x-hub-signature-256', id: 'delivery-1' },
  { name: 'stripe', make: (secrets, extra) => stripe({ secrets, now, ...extra }), sign: signStripe, body: jsonBody, payload: json, signatureHeader: 'stripe-signature', timestampHeader: 'stripe-signature', id: 'evt_1' },
  { name: 'slack', make: (secrets, extra) => slack({ secrets, now, ...extra }), sign: signSlack, body: jsonBody, payload: json, signatureHeader: 'x-slack-signature', timestampHeader: 'x-slack-request-timestamp', id: 'Ev1' },
  {
    name: 'twilio',
    make: (secrets, extra) => twilio({ secrets, publicUrl: TWILIO_ORIGIN, now, ...extra }),
    sign: signTwilio,
    body: 'From=%2B15551234567&Body=hello+there&To=%2B15557654321',
    payload: { From: '+15551234567', Body: 'hello there', To: '+15557654321' },
    signatureHeader: 'x-twilio-signature',
    id: 'idem-1',
  },
  { name: 'pagerduty', make: (secrets, extra) => pagerduty({ secrets, now, ...extra }), sign: signPagerDuty, body: jsonBody, payload: json, signatureHeader: 'x-pagerduty-signature', id: 'pd-event-1' },
  { name: 'zendesk', make: (secrets, extra) => zendesk({ secrets, now, ...extra }), sign: signZendesk, body: jsonBody, payload: json, signatureHeader: 'x-zendesk-webhook-signature', timestampHeader: 'x-zendesk-webhook-signature-timestamp', id: 'invocation-1' },
  {
    name: 'sendgrid',
    make: (names, extra) => sendgrid({ publicKeys: names.map((name) => sendgridKeyPair(name).publicKey), now, ...extra }),
    sign: signSendGrid,
    body: `[${jsonBody}]\r\n`,
    payload: [json],
    signatureHeader: 'x-twilio-email-event-webhook-signature',
    timestampHeader: 'x-twilio-email-event-webhook-timestamp',
  },
  { name: 'shopify', make: (secrets, extra) => shopify({ secrets, now, ...extra }), sign: signShopify, body: jsonBody, payload: json, signatureHeader: 'x-shopify-hmac-sha256', id: 'webhook-1' },
  { name: 'x', make: (secrets, extra) => x({ secrets, now, ...extra }), sign: signX, body: jsonBody, payload: json, signatureHeader: 'x-twitter-webhooks-signature' },
  { name: 'meta', make: (secrets, extra) => meta({ secrets, now, ...extra }), sign: signMeta, body: jsonBody, payload: json, signatureHeader: 'x-hub-signature-256' },
];

const SECRET = 'the-right-secret';
const OTHER = 'a-secret-that-was-never-configured';

function tamper(body: string): string {
  return body.replace('hello', 'jello');
}

describe.each(cases.map((c) => [c.name, c] as const))('%s preset', (_name, preset) => {
  const signed = (input: Partial<SignInput> = {}) => preset.sign({ secret: SECRET, body: preset.body, ...input });

  it('verifies a request signed the way the provider signs, with the exact bytes and the parsed payload', async () => {
    const event = await verifiedEvent(preset.make([SECRET]).verify(signed()));
    expect(Buffer.from(event.rawBody).toString('utf8')).toBe(preset.body);
    expect(event.payload).toEqual(preset.payload);
    expect(event.id).toBe(preset.id);
    if (preset.timestampHeader !== undefined) expect(event.timestamp).toBe(NOW_SECONDS);
  });

  it('verifies the same request given as bytes and with header names in any case', async () => {
    const request = signed();
    const upper = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toUpperCase(), v]));
    const event = await verifiedEvent(preset.make([SECRET]).verify({ ...request, headers: upper, body: Buffer.from(preset.body) }));
    expect(event.payload).toEqual(preset.payload);
  });

  it('accepts any configured secret while one is rotated', async () => {
    const verifier = preset.make([OTHER, SECRET]);
    expect((await verifiedEvent(verifier.verify(signed()))).kind).toBe('event');
    expect((await verifiedEvent(verifier.verify(signed({ secret: OTHER })))).kind).toBe('event');
  });

  it('refuses a request signed with a secret that is not configured: signature_mismatch', async () => {
    expect(await outcome(preset.make([SECRET]).verify(signed({ secret: OTHER })))).toBe('signature_mismatch');
  });

  it('refuses a tampered body: signature_mismatch', async () => {
    const request = signed();
    expect(await outcome(preset.make([SECRET]).verify({ ...request, body: tamper(preset.body) }))).toBe('signature_mismatch');
  });

  it('refuses a request without its signature header: missing_header', async () => {
    const request = withHeader(signed(), preset.signatureHeader, undefined);
    expect(await outcome(preset.make([SECRET]).verify(request))).toBe('missing_header');
  });

  it('refuses a signature header given twice, even when both copies are valid: duplicate_header', async () => {
    const request = signed();
    const value = request.headers[preset.signatureHeader] as string;
    expect(await outcome(preset.make([SECRET]).verify(withHeader(request, preset.signatureHeader, [value, value])))).toBe('duplicate_header');
  });

  it('refuses a signature header given twice under names that differ only in case: duplicate_header', async () => {
    const request = signed();
    const value = request.headers[preset.signatureHeader] as string;
    const headers = { ...request.headers, [preset.signatureHeader.toUpperCase()]: value };
    expect(await outcome(preset.make([SECRET]).verify({ ...request, headers }))).toBe('duplicate_header');
  });

  it('refuses a signature header that is not in the provider format: malformed_header', async () => {
    const request = withHeader(signed(), preset.signatureHeader, 'not a signature!');
    expect(await outcome(preset.make([SECRET]).verify(request))).toBe('malformed_header');
  });

  it('refuses a parsed body, which can never be verified: raw_body_unavailable', async () => {
    const request = { ...signed(), body: JSON.parse(JSON.stringify(preset.payload)) as never };
    expect(await outcome(preset.make([SECRET]).verify(request))).toBe('raw_body_unavailable');
  });

  it('refuses a body over maxBodyBytes before checking anything else: payload_too_large', async () => {
    const verifier = preset.make([SECRET], { maxBodyBytes: 16 });
    expect(verifier.maxBodyBytes).toBe(16);
    expect(await outcome(verifier.verify(signed()))).toBe('payload_too_large');
    const declared = withHeader(signed({ body: '' }), 'content-length', '1000000');
    expect(await outcome(verifier.verify(declared))).toBe('payload_too_large');
  });

  if (preset.timestampHeader !== undefined) {
    it('refuses a timestamp older or newer than the tolerance: timestamp_out_of_window', async () => {
      const verifier = preset.make([SECRET]);
      expect(await outcome(verifier.verify(signed({ timestamp: NOW_SECONDS - 301 })))).toBe('timestamp_out_of_window');
      expect(await outcome(verifier.verify(signed({ timestamp: NOW_SECONDS + 301 })))).toBe('timestamp_out_of_window');
      expect((await verifiedEvent(verifier.verify(signed({ timestamp: NOW_SECONDS - 300 })))).kind).toBe('event');
    });

    it('takes the tolerance from toleranceSeconds', async () => {
      const verifier = preset.make([SECRET], { toleranceSeconds: 900 });
      expect((await verifiedEvent(verifier.verify(signed({ timestamp: NOW_SECONDS - 899 })))).kind).toBe('event');
      expect(await outcome(verifier.verify(signed({ timestamp: NOW_SECONDS - 901 })))).toBe('timestamp_out_of_window');
    });

    it('refuses a timestamp that is not a number, never letting NaN pass: timestamp_invalid', async () => {
      const verifier = preset.make([SECRET]);
      const bad = preset.name === 'stripe'
        ? withHeader(signed(), 'stripe-signature', (signed().headers['stripe-signature'] as string).replace(/^t=\d+/, 't=NaN'))
        : withHeader(signed(), preset.timestampHeader!, 'NaN');
      expect(await outcome(verifier.verify(bad))).toBe('timestamp_invalid');
    });

    if (preset.timestampHeader !== preset.signatureHeader) {
      it('refuses a request without its timestamp header: missing_header', async () => {
        const request = withHeader(signed(), preset.timestampHeader!, undefined);
        expect(await outcome(preset.make([SECRET]).verify(request))).toBe('missing_header');
      });
    }
  }

  if (preset.id !== undefined) {
    it('refuses the same delivery a second time when a seen-ids store is given: replayed', async () => {
      const verifier = preset.make([SECRET], { seenIds: new MemorySeenIds({ now }) });
      expect((await verifiedEvent(verifier.verify(signed()))).id).toBe(preset.id);
      expect(await outcome(verifier.verify(signed()))).toBe('replayed');
    });

    it('keeps the ids of two sources apart with replayScope', async () => {
      const seenIds = new MemorySeenIds({ now });
      const first = preset.make([SECRET], { seenIds, replayScope: 'src_1' });
      const second = preset.make([SECRET], { seenIds, replayScope: 'src_2' });
      expect((await verifiedEvent(first.verify(signed()))).kind).toBe('event');
      expect((await verifiedEvent(second.verify(signed()))).kind).toBe('event');
    });
  }

  it('refuses a configuration without a secret: invalid_source naming the field', () => {
    const field = preset.name === 'sendgrid' ? 'publicKeys' : 'secrets';
    try {
      preset.make([]);
      expect.unreachable('a verifier without secrets was built');
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid_source', details: { field } });
    }
  });
});
