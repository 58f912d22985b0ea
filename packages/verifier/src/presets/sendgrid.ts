import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import { assertWithinTolerance, parseUnixSeconds } from '../lib/time.js';
import type { Verifier, WebhookRequest } from '../types.js';
import {
  assertOptionsObject,
  decodeBase64,
  firstHeader,
  malformedHeader,
  readRequest,
  rememberDelivery,
  requireOne,
  resolveSettings,
  secretList,
  signatureMismatch,
  singleSignatureHeader,
  verifiedEvent,
  type PresetOptions,
} from './shared.js';

export interface SendGridVerifierOptions extends PresetOptions {
  /** The Signed Event Webhook's verification key: base64 DER (as the console shows it) or PEM. */
  publicKey?: string;
  /** Several keys while one replaces another. */
  publicKeys?: readonly string[];
}

const SIGNATURE = 'x-twilio-email-event-webhook-signature';
const TIMESTAMP = 'x-twilio-email-event-webhook-timestamp';

/**
 * Verifies SendGrid Signed Event Webhooks: `X-Twilio-Email-Event-Webhook-Signature` is a base64 DER ECDSA P-256 /
 * SHA-256 signature over `X-Twilio-Email-Event-Webhook-Timestamp` followed by the raw body, checked with the public
 * key from the console. The timestamp must be within `toleranceSeconds` (default 300).
 *
 * @example
 * ```ts
 * const verifier = sendgrid({ publicKey: process.env.SENDGRID_WEBHOOK_PUBLIC_KEY! });
 * const result = await verifier.verify(request);
 * ```
 */
export function sendgrid(options: SendGridVerifierOptions): Verifier {
  assertOptionsObject(options, 'sendgrid');
  const field = options.publicKeys === undefined ? 'publicKey' : 'publicKeys';
  const keys = secretList(options, 'sendgrid', 'publicKey').map((key, index) => importKey(key, field === 'publicKey' ? field : `${field}[${index}]`));
  const settings = resolveSettings(options, 'sendgrid');

  return {
    name: 'sendgrid',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      const timestamp = requireOne(headers, TIMESTAMP);
      const value = singleSignatureHeader(headers, SIGNATURE);
      const seconds = parseUnixSeconds(timestamp, TIMESTAMP);
      assertWithinTolerance(seconds, settings.now(), settings.toleranceSeconds, TIMESTAMP);
      const signature = decodeBase64(value);
      if (signature === undefined) throw malformedHeader(SIGNATURE, 'base64');
      const signed = Buffer.concat([Buffer.from(timestamp), rawBody]);
      if (!keys.some((key) => verifies(key, signed, signature))) throw signatureMismatch(SIGNATURE);
      const event = verifiedEvent({ rawBody, contentType: firstHeader(headers, 'content-type'), timestamp: seconds });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}

function verifies(key: KeyObject, signed: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verifySignature('sha256', signed, { key, dsaEncoding: 'der' }, signature);
  } catch {
    // Malformed DER makes OpenSSL throw: that is a bad signature, not a server error.
    return false;
  }
}

function importKey(text: string, field: string): KeyObject {
  try {
    const key = text.includes('-----BEGIN')
      ? createPublicKey(text)
      : createPublicKey({ key: Buffer.from(text.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('not a P-256 key');
    }
    return key;
  } catch (cause) {
    throw new HooklineError('invalid_source', 'The sendgrid verification key is not a P-256 public key (base64 DER or PEM).', {
      details: { field },
      cause,
    });
  }
}
