// How each provider signs, written with node:crypto from the provider's documentation, for the preset tests.
import { createHash, createHmac, generateKeyPairSync, sign as signData, type KeyObject } from 'node:crypto';
import { isHooklineError } from '@hookline/errors';
import type { VerificationResult, VerifiedEvent, WebhookRequest } from '../../src/index.js';

export const NOW_SECONDS = 1_700_000_000;
export const now = (): number => NOW_SECONDS * 1000;

/** The error code a verification ends with, or the result when it passes. */
export async function outcome(promise: Promise<VerificationResult>): Promise<VerificationResult | string> {
  try {
    return await promise;
  } catch (error) {
    if (isHooklineError(error)) return error.code;
    throw error;
  }
}

export async function verifiedEvent(promise: Promise<VerificationResult>): Promise<VerifiedEvent> {
  const result = await promise;
  if (result.kind !== 'event') throw new Error(`expected an event, got ${result.kind}`);
  return result;
}

export interface SignInput {
  secret: string;
  body: string;
  /** Unix seconds the sender signs at (schemes with a timestamp). */
  timestamp?: number;
  /** Delivery id the sender puts in its header, where the provider has one. */
  id?: string;
}

const hmacHex = (algorithm: string, secret: string, ...parts: string[]) => {
  const mac = createHmac(algorithm, secret);
  for (const part of parts) mac.update(part);
  return mac.digest('hex');
};
const hmacBase64 = (algorithm: string, secret: string, ...parts: string[]) => {
  const mac = createHmac(algorithm, secret);
  for (const part of parts) mac.update(part);
  return mac.digest('base64');
};

const post = (url: string, headers: Record<string, string>, body: string): WebhookRequest => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json', ...headers },
  body,
});

export function signGithub({ secret, body, id = 'delivery-1' }: SignInput): WebhookRequest {
  return post('/in/github', {
    'x-hub-signature-256': `sha256=${hmacHex('sha256', secret, body)}`,
    'x-github-delivery': id,
    'x-github-event': 'push',
  }, body);
}

export function signStripe({ secret, body, timestamp = NOW_SECONDS }: SignInput): WebhookRequest {
  return post('/in/stripe', { 'stripe-signature': `t=${timestamp},v1=${hmacHex('sha256', secret, `${timestamp}.`, body)}` }, body);
}

export function signSlack({ secret, body, timestamp = NOW_SECONDS }: SignInput): WebhookRequest {
  return post('/in/slack', {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${hmacHex('sha256', secret, `v0:${timestamp}:`, body)}`,
  }, body);
}

export const TWILIO_ORIGIN = 'https://hooks.example.com';

/** Twilio: base64 HMAC-SHA1 of the full URL then each form field sorted by name, name + value. */
export function twilioSignature(secret: string, url: string, fields: Record<string, string>): string {
  const data = Object.keys(fields).sort().reduce((acc, key) => acc + key + fields[key], url);
  return hmacBase64('sha1', secret, data);
}

export function signTwilio({ secret, body, id = 'idem-1' }: SignInput): WebhookRequest {
  const path = '/in/twilio?source=sms';
  const fields = Object.fromEntries(new URLSearchParams(body));
  return {
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(secret, TWILIO_ORIGIN + path, fields),
      'i-twilio-idempotency-token': id,
    },
    body,
  };
}

export function signPagerDuty({ secret, body }: SignInput): WebhookRequest {
  return post('/in/pagerduty', { 'x-pagerduty-signature': `v1=${hmacHex('sha256', secret, body)}`, 'x-webhook-id': 'wh-1' }, body);
}

export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

export function signZendesk({ secret, body, timestamp = NOW_SECONDS, id = 'invocation-1' }: SignInput): WebhookRequest {
  const stamp = isoTime(timestamp);
  return post('/in/zendesk', {
    'x-zendesk-webhook-signature-timestamp': stamp,
    'x-zendesk-webhook-signature': hmacBase64('sha256', secret, stamp, body),
    'x-zendesk-webhook-invocation-id': id,
    'x-zendesk-account-id': '123456',
  }, body);
}

export function signShopify({ secret, body, id = 'webhook-1' }: SignInput): WebhookRequest {
  return post('/in/shopify', {
    'x-shopify-hmac-sha256': hmacBase64('sha256', secret, body),
    'x-shopify-webhook-id': id,
    'x-shopify-shop-domain': 'example.myshopify.com',
    'x-shopify-topic': 'orders/create',
  }, body);
}

export function signX({ secret, body }: SignInput): WebhookRequest {
  return post('/in/x', { 'x-twitter-webhooks-signature': `sha256=${hmacBase64('sha256', secret, body)}` }, body);
}

export function signMeta({ secret, body }: SignInput): WebhookRequest {
  return post('/in/meta', { 'x-hub-signature-256': `sha256=${hmacHex('sha256', secret, body)}` }, body);
}

/** A SendGrid key pair: the private key signs, the base64 DER public key is what the console shows. */
export interface SendGridKeys {
  privateKey: KeyObject;
  publicKey: string;
}

const sendgridKeys = new Map<string, SendGridKeys>();

/** A P-256 key pair per name, made once: the "secret" of a SendGrid test is the name of its key pair. */
export function sendgridKeyPair(name: string): SendGridKeys {
  let keys = sendgridKeys.get(name);
  if (keys === undefined) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keys = { privateKey: pair.privateKey, publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
    sendgridKeys.set(name, keys);
  }
  return keys;
}

export function signSendGrid({ secret, body, timestamp = NOW_SECONDS }: SignInput): WebhookRequest {
  const signature = signData('sha256', Buffer.from(`${timestamp}${body}`), sendgridKeyPair(secret).privateKey).toString('base64');
  return post('/in/sendgrid', {
    'x-twilio-email-event-webhook-timestamp': String(timestamp),
    'x-twilio-email-event-webhook-signature': signature,
  }, body);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The request with one header replaced (or removed with undefined). */
export function withHeader(request: WebhookRequest, name: string, value: string | string[] | undefined): WebhookRequest {
  const headers = { ...request.headers };
  delete headers[name];
  if (value !== undefined) headers[name] = value;
  return { ...request, headers };
}
