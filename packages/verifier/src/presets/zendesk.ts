import { HooklineError } from '@hookline/errors';
import { assertWithinTolerance } from '../lib/time.js';
import type { Verifier, WebhookRequest } from '../types.js';
import {
  anyHmacMatches,
  assertOptionsObject,
  decodeBase64,
  firstHeader,
  hmacKeys,
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
  type SecretOptions,
} from './shared.js';

/** The webhook's signing secret (Admin Center > Webhooks > the webhook > Reveal secret), used as given. */
export interface ZendeskVerifierOptions extends SecretOptions, PresetOptions {}

const SIGNATURE = 'x-zendesk-webhook-signature';
const TIMESTAMP = 'x-zendesk-webhook-signature-timestamp';
const METADATA = ['x-zendesk-account-id', 'x-zendesk-webhook-id'];
/** Zendesk sends `2021-07-25T10:00:00Z`; a fraction or an offset is accepted, anything looser is not. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Verifies Zendesk webhooks: `X-Zendesk-Webhook-Signature` is the base64 HMAC-SHA256 of the
 * `X-Zendesk-Webhook-Signature-Timestamp` value (ISO 8601) followed by the raw body; the timestamp must be within
 * `toleranceSeconds` (default 300). The delivery id is `X-Zendesk-Webhook-Invocation-Id`.
 *
 * @example
 * ```ts
 * const verifier = zendesk({ secret: process.env.ZENDESK_WEBHOOK_SECRET!, toleranceSeconds: 600 });
 * const result = await verifier.verify(request);
 * ```
 */
export function zendesk(options: ZendeskVerifierOptions): Verifier {
  assertOptionsObject(options, 'zendesk');
  const keys = hmacKeys(secretList(options, 'zendesk'));
  const settings = resolveSettings(options, 'zendesk');

  return {
    name: 'zendesk',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      const timestamp = requireOne(headers, TIMESTAMP);
      const value = singleSignatureHeader(headers, SIGNATURE);
      const seconds = parseIsoSeconds(timestamp);
      assertWithinTolerance(seconds, settings.now(), settings.toleranceSeconds, TIMESTAMP);
      const signature = decodeBase64(value);
      if (signature === undefined) throw malformedHeader(SIGNATURE, 'base64');
      if (!anyHmacMatches('sha256', keys, signature, timestamp, rawBody)) throw signatureMismatch(SIGNATURE);
      const event = verifiedEvent({
        rawBody,
        contentType: firstHeader(headers, 'content-type'),
        id: firstHeader(headers, 'x-zendesk-webhook-invocation-id'),
        timestamp: seconds,
        headers,
        metadata: METADATA,
      });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}

function parseIsoSeconds(text: string): number {
  const ms = ISO_8601.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new HooklineError('timestamp_invalid', `The ${TIMESTAMP} header is not an ISO 8601 time.`, { details: { header: TIMESTAMP } });
  }
  return Math.floor(ms / 1000);
}
