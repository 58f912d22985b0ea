import { timingSafeEqual } from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import type { Verifier, WebhookRequest } from '../types.js';
import {
  anyHmacMatches,
  assertOptionsObject,
  challenge,
  decodeHex,
  firstHeader,
  hmacKeys,
  isMethod,
  malformedHeader,
  queryOf,
  readRequest,
  rememberDelivery,
  resolveSettings,
  secretList,
  sha256,
  signatureMismatch,
  singleQueryValue,
  singleSignatureHeader,
  stringList,
  verifiedEvent,
  type PresetOptions,
  type SecretOptions,
} from './shared.js';

export interface MetaVerifierOptions extends SecretOptions, PresetOptions {
  /** The Verify Token typed into the app dashboard's webhook form; several while changing it. */
  verifyToken?: string | readonly string[];
}

const HEADER = 'x-hub-signature-256';
const MAX_CHALLENGE_LENGTH = 1024;

/**
 * Verifies Meta (Facebook, Instagram, WhatsApp, Messenger) webhooks: a POST carries
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`; the subscription GET
 * (`hub.mode=subscribe`) is answered with `hub.challenge` as text only when `hub.verify_token` equals the configured
 * token (compared in constant time), and refused with `challenge_failed` otherwise.
 *
 * @example
 * ```ts
 * const verifier = meta({ secret: process.env.META_APP_SECRET!, verifyToken: process.env.META_VERIFY_TOKEN! });
 * const result = await verifier.verify(request);
 * if (result.kind === 'challenge') return result.response;
 * ```
 */
export function meta(options: MetaVerifierOptions): Verifier {
  assertOptionsObject(options, 'meta');
  const keys = hmacKeys(secretList(options, 'meta'));
  const settings = resolveSettings(options, 'meta');
  const verifyTokens = options.verifyToken === undefined ? [] : stringList(options.verifyToken, 'verifyToken', 'meta');
  const tokenDigests = verifyTokens.map((token) => sha256(token));

  return {
    name: 'meta',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      if (isMethod(request, 'GET')) {
        const query = queryOf(request);
        const mode = singleQueryValue(query, 'hub.mode');
        if (mode !== undefined) return answerSubscription(query, mode, tokenDigests);
      }
      const value = singleSignatureHeader(headers, HEADER);
      if (!value.startsWith('sha256=')) throw malformedHeader(HEADER, 'sha256=<hex>');
      const signature = decodeHex(value.slice(7));
      if (signature === undefined) throw malformedHeader(HEADER, 'sha256=<hex>');
      if (!anyHmacMatches('sha256', keys, signature, rawBody)) throw signatureMismatch(HEADER);
      const event = verifiedEvent({ rawBody, contentType: firstHeader(headers, 'content-type') });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}

function answerSubscription(query: URLSearchParams, mode: string, tokenDigests: readonly Buffer[]) {
  const token = singleQueryValue(query, 'hub.verify_token');
  const hubChallenge = singleQueryValue(query, 'hub.challenge');
  if (mode !== 'subscribe' || token === undefined || hubChallenge === undefined || hubChallenge === '' || hubChallenge.length > MAX_CHALLENGE_LENGTH) {
    throw new HooklineError('challenge_failed', 'The subscription request is incomplete (hub.mode, hub.verify_token, hub.challenge).');
  }
  // Digests have one length, so neither the token nor its length leaks through timing.
  const given = sha256(token);
  let matches = false;
  for (const digest of tokenDigests) if (timingSafeEqual(given, digest)) matches = true;
  if (!matches) throw new HooklineError('challenge_failed', 'hub.verify_token does not match the configured verify token.');
  return challenge(hubChallenge, 'text/plain');
}
