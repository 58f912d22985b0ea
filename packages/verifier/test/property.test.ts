// Whatever arrives, a verifier answers with a result or a HooklineError: never a TypeError, never a crash.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { isHooklineError } from '@hookline/errors';
import { describe, expect, it } from 'vitest';
import { createVerifier, MemorySeenIds, PLATFORMS, type Platform, type WebhookRequest } from '../src/index.js';
import { NOW_SECONDS, now, sendgridKeyPair } from './presets/helpers.js';

const configs: Record<Platform, Record<string, unknown>> = {
  github: { secret: 's', acceptSha1: true },
  slack: { secret: 's' },
  stripe: { secret: 'whsec_s' },
  twilio: { secret: 's', publicUrl: 'https://hooks.example.com' },
  pagerduty: { secret: 's' },
  zendesk: { secret: 's' },
  sendgrid: { publicKey: sendgridKeyPair('property').publicKey },
  shopify: { secret: 's' },
  x: { secret: 's' },
  meta: { secret: 's', verifyToken: 'tok' },
  'standard-webhooks': { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  jwt: { jwks: { keys: [] }, issuer: 'https://sender.example.com', publicUrl: 'https://hooks.example.com' },
  header: { name: 'x-api-key', secret: 's' },
  hmac: { secret: 's', header: 'x-signature', content: '{timestamp}.{body}', timestampHeader: 'x-timestamp', idHeader: 'x-id' },
};

/** Header names the presets read, so random requests reach deep into each verifier, not only its first check. */
const knownHeaders = [
  'x-hub-signature-256', 'x-hub-signature', 'x-github-delivery', 'stripe-signature', 'x-slack-signature', 'x-slack-request-timestamp',
  'x-twilio-signature', 'x-pagerduty-signature', 'x-zendesk-webhook-signature', 'x-zendesk-webhook-signature-timestamp',
  'x-twilio-email-event-webhook-signature', 'x-twilio-email-event-webhook-timestamp', 'x-shopify-hmac-sha256',
  'x-twitter-webhooks-signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'authorization', 'x-api-key',
  'x-signature', 'x-timestamp', 'x-id', 'content-type', 'content-length', 'Content-Type', 'X-Hub-Signature-256',
];

const headerValue = fc.oneof(
  fc.string(),
  fc.constantFrom('sha256=', 'sha1=', 'v0=', 'v1=', 't=', 'v1,', 'Bearer ', 'application/json', 'application/x-www-form-urlencoded')
    .chain((prefix) => fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^[0-9a-f]{0,80}$/)).map((rest) => prefix + rest)),
  fc.constantFrom(String(NOW_SECONDS), 'NaN', '-1', '1e10', '', ' 1700000000', '2023-11-14T22:13:20Z', '99999999999999999999'),
  fc.stringMatching(/^t=\d{1,10}(,v1=[0-9a-f]{0,64}){0,3}$/),
);

const headers = fc.dictionary(
  fc.oneof(fc.constantFrom(...knownHeaders), fc.string({ minLength: 1, maxLength: 20 })),
  fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 }), fc.constant(undefined)),
  { maxKeys: 8 },
) as fc.Arbitrary<WebhookRequest['headers']>;

const url = fc.oneof(
  fc.string(),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.array(
    fc.tuple(fc.constantFrom('crc_token', 'hub.mode', 'hub.verify_token', 'hub.challenge', 'bodySHA256', 'x'), fc.string()),
    { maxLength: 4 },
  ).map((pairs) => `/in/src?${new URLSearchParams(pairs)}`),
);

const body = fc.oneof(
  fc.string(),
  fc.uint8Array({ maxLength: 256 }),
  fc.json(),
  fc.constantFrom('{"type":"url_verification","challenge":"c"}', 'ssl_check=1', '{"id":"evt_1"}', ''),
  fc.anything() as fc.Arbitrary<unknown>,
) as fc.Arbitrary<WebhookRequest['body']>;

const request = fc.record({ method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'get'), fc.string()), url, headers, body });

describe('every verifier under random requests', () => {
  it.each(PLATFORMS.map((p) => [p]))('%s: returns a result or throws a HooklineError, nothing else', async (platform) => {
    const verifier = createVerifier(platform, configs[platform], { now, seenIds: new MemorySeenIds({ now }) });
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        try {
          const result = await verifier.verify(req);
          expect(['event', 'challenge']).toContain(result.kind);
        } catch (error) {
          if (!isHooklineError(error)) throw error;
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('requests that are not request-shaped', () => {
  const shapeless = [
    { method: 'POST', url: '/in/x', body: '{}' },
    { method: 'POST', url: '/in/x', headers: null, body: '{}' },
    { method: 'POST', url: '/in/x', headers: {}, body: { parsed: true } },
    { method: 'POST', url: '/in/x', headers: {}, body: undefined },
  ] as unknown as WebhookRequest[];

  it.each(PLATFORMS.map((p) => [p]))('%s: refuses each with a HooklineError', async (platform) => {
    const verifier = createVerifier(platform, configs[platform], { now });
    for (const request of shapeless) {
      const error = await verifier.verify(request).then(() => undefined, (caught: unknown) => caught);
      expect(isHooklineError(error)).toBe(true);
    }
  });
});

describe('HMAC presets over random bodies', () => {
  const sign: Partial<Record<Platform, (secret: string, body: Uint8Array) => Record<string, string>>> = {
    github: (secret, b) => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(b).digest('hex')}` }),
    shopify: (secret, b) => ({ 'x-shopify-hmac-sha256': createHmac('sha256', secret).update(b).digest('base64') }),
    slack: (secret, b) => ({
      'x-slack-request-timestamp': String(NOW_SECONDS),
      'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${NOW_SECONDS}:`).update(b).digest('hex')}`,
    }),
    stripe: (secret, b) => ({ 'stripe-signature': `t=${NOW_SECONDS},v1=${createHmac('sha256', secret).update(`${NOW_SECONDS}.`).update(b).digest('hex')}` }),
  };

  it.each(Object.keys(sign).map((p) => [p as Platform]))('%s: any body signed with the secret verifies, and one flipped bit does not', async (platform) => {
    const secret = platform === 'stripe' ? 'whsec_s' : 's';
    const verifier = createVerifier(platform, { secret }, { now });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), async (bytes, at) => {
        const headers = { 'content-type': 'application/octet-stream', ...sign[platform]!(secret, bytes) };
        const result = await verifier.verify({ method: 'POST', url: '/in/p', headers, body: bytes });
        expect(result.kind === 'event' && Buffer.from(result.rawBody).equals(Buffer.from(bytes))).toBe(true);
        const flipped = Uint8Array.from(bytes);
        flipped[at % flipped.length]! ^= 1;
        await expect(verifier.verify({ method: 'POST', url: '/in/p', headers, body: flipped })).rejects.toMatchObject({ code: 'signature_mismatch' });
      }),
      { numRuns: 200 },
    );
  });
});
