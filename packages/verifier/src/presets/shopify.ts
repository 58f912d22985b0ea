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
  resolveSettings,
  secretList,
  signatureMismatch,
  singleSignatureHeader,
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
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      const signature = decodeBase64(singleSignatureHeader(headers, HEADER));
      if (signature === undefined) throw malformedHeader(HEADER, 'base64');
      if (!anyHmacMatches('sha256', keys, signature, rawBody)) throw signatureMismatch(HEADER);
      const event = verifiedEvent({
        rawBody,
        contentType: firstHeader(headers, 'content-type'),
        id: firstHeader(headers, 'x-shopify-webhook-id'),
        headers,
        metadata: METADATA,
      });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}
