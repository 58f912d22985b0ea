import { HooklineError } from '@hookline/errors';
import { assertWithinTolerance, parseUnixSeconds } from '../lib/time.js';
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

/** The endpoint's signing secret (`whsec_...`, used whole as the HMAC key); several while rolling it. */
export interface StripeVerifierOptions extends SecretOptions, PresetOptions {}

const HEADER = 'stripe-signature';

/**
 * Verifies Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`, each `v1` an HMAC-SHA256 of
 * `{t}.{body}` keyed with the whole `whsec_...` string. Only `v1` counts, any matching `v1` passes, and `t` must be
 * within 300 s (configurable). The delivery id is the event id (`evt_...`) from the signed body.
 *
 * @example
 * ```ts
 * const verifier = stripe({ secret: process.env.STRIPE_WEBHOOK_SECRET! });
 * const result = await verifier.verify({ method: 'POST', url: req.url, headers: req.headers, body: rawBody });
 * ```
 */
export function stripe(options: StripeVerifierOptions): Verifier {
  assertOptionsObject(options, 'stripe');
  const keys = hmacKeys(secretList(options, 'stripe'));
  const settings = resolveSettings(options, 'stripe');

  return {
    name: 'stripe',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      const { timestamp, signatures } = parseStripeSignature(requireOne(headers, HEADER));
      const seconds = parseUnixSeconds(timestamp, HEADER);
      assertWithinTolerance(seconds, settings.now(), settings.toleranceSeconds, HEADER);
      if (signatures.length === 0 || !anyHmacMatches('sha256', keys, signatures, `${timestamp}.`, rawBody)) {
        throw signatureMismatch(HEADER);
      }
      const event = verifiedEvent({
        rawBody,
        contentType: firstHeader(headers, 'content-type'),
        idFromPayload: (payload) => stringField(payload, 'id'),
        timestamp: seconds,
      });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}

/** Splits `t=...,v1=...,v0=...`: one `t` exactly (a second is a joined duplicate header); `v1` values that are hex. */
function parseStripeSignature(value: string): { timestamp: string; signatures: Uint8Array[] } {
  let timestamp: string | undefined;
  const signatures: Uint8Array[] = [];
  let start = 0;
  while (start <= value.length) {
    const comma = value.indexOf(',', start);
    const end = comma === -1 ? value.length : comma;
    const part = value.slice(start, end).trim();
    start = end + 1;
    if (part.startsWith('t=')) {
      if (timestamp !== undefined) {
        throw new HooklineError('duplicate_header', `The ${HEADER} header has more than one timestamp.`, { details: { header: HEADER } });
      }
      timestamp = part.slice(2);
    } else if (part.startsWith('v1=')) {
      const signature = decodeHex(part.slice(3));
      if (signature !== undefined) signatures.push(signature);
    }
  }
  if (timestamp === undefined) throw malformedHeader(HEADER, 't=<unix seconds>,v1=<hex>');
  return { timestamp, signatures };
}
