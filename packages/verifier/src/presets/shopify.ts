import { fromBase64 } from '../lib/bytes.js';
import type { Verifier, WebhookRequest } from '../types.js';
import {
  anyHmacMatches,
  assertOptionsObject,
  firstHeader,
  hmacKeys,
  malformedHeader,
  readBody,
  rememberDelivery,
  resolveSettings,
  secretList,
  signatureMismatch,
  singleSignatureHeader,
  unverifiedHeaders,
  verifiedEvent,
  type PresetOptions,
  type SecretOptions,
} from './shared.js';

/** The app's client secret (or the store's webhook signing secret for webhooks made in the admin). */
export interface ShopifyVerifierOptions extends SecretOptions, PresetOptions {}

const HEADER = 'x-shopify-hmac-sha256';
const METADATA = ['x-shopify-shop-domain', 'x-shopify-topic', 'x-shopify-api-version', 'x-shopify-triggered-at', 'x-shopify-event-id'];

/**
 * Verifies Shopify webhooks: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body. The delivery id is
 * `X-Shopify-Webhook-Id`; the shop domain, topic and API version are unsigned and reported as `unverified`.
 *
 * @example
 * ```ts
 * const verifier = shopify({ secret: process.env.SHOPIFY_CLIENT_SECRET! });
 * const result = await verifier.verify(request);
 * ```
 */
export function shopify(options: ShopifyVerifierOptions): Verifier {
  assertOptionsObject(options, 'shopify');
  const keys = hmacKeys(secretList(options, 'shopify'));
  const settings = resolveSettings(options, 'shopify');

  return {
    name: 'shopify',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const rawBody = readBody(request, settings.maxBodyBytes);
      const signature = fromBase64(singleSignatureHeader(request, HEADER));
      if (signature === undefined) throw malformedHeader(HEADER, 'base64');
      if (!anyHmacMatches('sha256', keys, [signature], rawBody)) throw signatureMismatch(HEADER);
      const event = verifiedEvent({
        rawBody,
        contentType: firstHeader(request, 'content-type'),
        id: firstHeader(request, 'x-shopify-webhook-id'),
        unverified: unverifiedHeaders(request, METADATA),
      });
      await rememberDelivery(settings, event);
      return event;
    },
  };
}
