import type { Verifier, WebhookRequest } from '../types.js';
import {
  anyHmacMatches,
  assertOptionsObject,
  decodeHex,
  firstHeader,
  hmacKeys,
  malformedHeader,
  readRequest,
  rememberDelivery,
  requireOne,
  resolveSettings,
  secretList,
  signatureMismatch,
  stringField,
  verifiedEvent,
  type PresetOptions,
  type SecretOptions,
} from './shared.js';

/** The subscription's signing secret, shown once when the v3 webhook subscription is created. */
export interface PagerDutyVerifierOptions extends SecretOptions, PresetOptions {}

const HEADER = 'x-pagerduty-signature';
const METADATA = ['x-webhook-id', 'x-webhook-subscription'];

/**
 * Verifies PagerDuty v3 webhooks: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>]`, each an HMAC-SHA256 of the raw body;
 * one matching `v1` passes (PagerDuty sends several while a secret rotates). The delivery id is the signed `event.id`.
 *
 * @example
 * ```ts
 * const verifier = pagerduty({ secret: process.env.PAGERDUTY_WEBHOOK_SECRET! });
 * const result = await verifier.verify(request);
 * ```
 */
export function pagerduty(options: PagerDutyVerifierOptions): Verifier {
  assertOptionsObject(options, 'pagerduty');
  const keys = hmacKeys(secretList(options, 'pagerduty'));
  const settings = resolveSettings(options, 'pagerduty');

  return {
    name: 'pagerduty',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      const signatures = parseSignatures(requireOne(headers, HEADER));
      if (!anyHmacMatches('sha256', keys, signatures, rawBody)) throw signatureMismatch(HEADER);
      const event = verifiedEvent({
        rawBody,
        contentType: firstHeader(headers, 'content-type'),
        idFromPayload: (payload) => stringField(payload, 'event', 'id'),
        headers,
        metadata: METADATA,
      });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}

/** `v1=<hex>` entries separated by commas; other versions are ignored, a header with no v1 at all is malformed. */
function parseSignatures(value: string): Uint8Array[] {
  const signatures: Uint8Array[] = [];
  let sawV1 = false;
  for (const item of value.split(',')) {
    const part = item.trim();
    if (!part.startsWith('v1=')) continue;
    sawV1 = true;
    const signature = decodeHex(part.slice(3));
    if (signature !== undefined) signatures.push(signature);
  }
  if (!sawV1) throw malformedHeader(HEADER, 'v1=<hex>[,v1=<hex>]');
  return signatures;
}
