import { createHmac } from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import type { Verifier, WebhookRequest } from '../types.js';
import {
  anyHmacMatches,
  assertOptionsObject,
  challenge,
  decodeBase64,
  firstHeader,
  hmacKeys,
  isMethod,
  malformedHeader,
  queryOf,
  readRequest,
  rememberDelivery,
  resolveSettings,
  secretList,
  signatureMismatch,
  singleQueryValue,
  singleSignatureHeader,
  verifiedEvent,
  type PresetOptions,
  type SecretOptions,
} from './shared.js';

/** The app's API key secret (consumer secret). With several, the first answers the CRC and any verifies a POST. */
export interface XVerifierOptions extends SecretOptions, PresetOptions {}

const HEADER = 'x-twitter-webhooks-signature';
const MAX_CRC_TOKEN_LENGTH = 1024;

/**
 * Verifies X (Twitter) Account Activity webhooks: a POST carries `x-twitter-webhooks-signature: sha256=<base64
 * HMAC-SHA256 of the raw body>`; a GET with `crc_token` is the challenge-response check, answered with
 * `{"response_token":"sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>"}`, which only the secret's holder can
 * compute and which delivers no event.
 *
 * @example
 * ```ts
 * const verifier = x({ secret: process.env.X_CONSUMER_SECRET! });
 * const result = await verifier.verify(request);
 * if (result.kind === 'challenge') return result.response;
 * ```
 */
export function x(options: XVerifierOptions): Verifier {
  assertOptionsObject(options, 'x');
  const secrets = secretList(options, 'x');
  const keys = hmacKeys(secrets);
  const settings = resolveSettings(options, 'x');

  return {
    name: 'x',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      if (isMethod(request, 'GET')) {
        const token = singleQueryValue(queryOf(request), 'crc_token');
        if (token !== undefined) {
          if (token === '' || token.length > MAX_CRC_TOKEN_LENGTH) {
            throw new HooklineError('challenge_failed', 'The crc_token query parameter is empty or too long.');
          }
          const digest = createHmac('sha256', keys[0]!).update(token).digest('base64');
          return challenge(JSON.stringify({ response_token: `sha256=${digest}` }), 'application/json');
        }
      }
      const value = singleSignatureHeader(headers, HEADER);
      if (!value.startsWith('sha256=')) throw malformedHeader(HEADER, 'sha256=<base64>');
      const signature = decodeBase64(value.slice(7));
      if (signature === undefined) throw malformedHeader(HEADER, 'sha256=<base64>');
      if (!anyHmacMatches('sha256', keys, signature, rawBody)) throw signatureMismatch(HEADER);
      const event = verifiedEvent({ rawBody, contentType: firstHeader(headers, 'content-type') });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}
