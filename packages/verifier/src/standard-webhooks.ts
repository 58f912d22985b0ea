import { createHmac, createPublicKey, createSecretKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import { base64Bytes } from './lib/base64.js';
import { fromBase64, safeEqual } from './lib/bytes.js';
import { checkMaxBodyBytes, checkSeconds, limitedBody } from './lib/body.js';
import { readHeaders, required } from './lib/header-set.js';
import { verifiedEvent } from './presets/shared.js';
import { assertWithinTolerance, parseUnixSeconds } from './lib/time.js';
import { assertFirstDelivery } from './replay.js';
import {
  DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE_SECONDS,
  type CommonVerifierOptions, type VerifiedEvent, type Verifier, type WebhookRequest,
} from './types.js';

/**
 * The keys a Standard Webhooks receiver holds: `whsec_` secrets for `v1` (HMAC-SHA256) and/or `whpk_` public keys
 * for `v1a` (Ed25519). Several during a rotation: a request passes when any signature matches any key.
 */
export interface StandardWebhooksOptions extends CommonVerifierOptions {
  secret?: string;
  secrets?: readonly string[];
  publicKey?: string;
  publicKeys?: readonly string[];
}

const SCOPE = 'standard-webhooks';
const HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type'] as const;
const HMAC_SHA256_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

function hmacKey(secret: string): KeyObject {
  const raw = typeof secret === 'string' ? fromBase64(secret.startsWith('whsec_') ? secret.slice(6) : secret) : undefined;
  if (raw === undefined || raw.length === 0) {
    throw new HooklineError('invalid_key', 'A Standard Webhooks secret is base64 (whsec_ prefix optional).');
  }
  return createSecretKey(raw);
}

function ed25519Key(publicKey: string): KeyObject {
  const raw = typeof publicKey === 'string' && publicKey.startsWith('whpk_') ? fromBase64(publicKey.slice(5)) : undefined;
  if (raw === undefined || raw.length !== 32) {
    throw new HooklineError('invalid_key', 'A Standard Webhooks public key is whpk_ and the base64 of 32 Ed25519 bytes.');
  }
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/**
 * Verifies Standard Webhooks requests: `webhook-id`, `webhook-timestamp` (±300 s by default) and
 * `webhook-signature` with `v1` (HMAC-SHA256, `whsec_` secrets) and `v1a` (Ed25519, `whpk_` public keys) entries.
 * Unknown versions are ignored; a `webhook-id` seen before is `replayed` when `seenIds` is given.
 *
 * @example
 * ```ts
 * const verifier = standardWebhooks({ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', seenIds: new MemorySeenIds() });
 * const event = await verifier.verify({ method: 'POST', url: '/hooks', headers, body: rawBytes });
 * event.id; // 'msg_p5jXN8AQM9LWM0D4loKWxJek'
 * ```
 */
export function standardWebhooks(options: StandardWebhooksOptions): Verifier {
  const secrets = [...(options.secret === undefined ? [] : [options.secret]), ...(options.secrets ?? [])].map(hmacKey);
  const publicKeys = [...(options.publicKey === undefined ? [] : [options.publicKey]), ...(options.publicKeys ?? [])].map(ed25519Key);
  if (secrets.length === 0 && publicKeys.length === 0) {
    throw new HooklineError('invalid_config', 'Standard Webhooks verification needs a secret or a public key.');
  }
  const maxBodyBytes = checkMaxBodyBytes(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
  const toleranceSeconds = checkSeconds(options.toleranceSeconds, DEFAULT_TOLERANCE_SECONDS, 'toleranceSeconds');
  const now = options.now ?? Date.now;
  const seenIds = options.seenIds;

  return {
    name: SCOPE,
    maxBodyBytes,
    async verify(request: WebhookRequest): Promise<VerifiedEvent> {
      const body = limitedBody(request.body, maxBodyBytes);
      const [idValue, timestampValue, signatureValue, contentType] = readHeaders(request, HEADERS, 3);
      const id = required(idValue, 'webhook-id');
      const timestampText = required(timestampValue, 'webhook-timestamp');
      const signatureHeader = required(signatureValue, 'webhook-signature');
      const timestamp = parseUnixSeconds(timestampText, 'webhook-timestamp');
      assertWithinTolerance(timestamp, now(), toleranceSeconds, 'webhook-timestamp');

      const prefix = `${id}.${timestampText}.`;
      let expectedMacs: Uint8Array[] | undefined;
      let signedContent: Buffer | undefined;
      let wellFormed = 0;
      let matched = false;
      for (const entry of signatureHeader.includes(' ') ? signatureHeader.split(' ') : [signatureHeader]) {
        const comma = entry.indexOf(',');
        if (comma <= 0) continue;
        wellFormed++;
        const version = entry.slice(0, comma);
        if (version !== 'v1' && version !== 'v1a') continue; // unknown versions are for other receivers
        const signature = base64Bytes(entry.slice(comma + 1));
        if (signature === undefined) continue;
        if (version === 'v1' && signature.length === HMAC_SHA256_BYTES) {
          if (expectedMacs === undefined) {
            expectedMacs = [];
            for (const key of secrets) expectedMacs.push(createHmac('sha256', key).update(prefix).update(body).digest());
          }
          for (const mac of expectedMacs) if (safeEqual(mac, signature)) matched = true;
        } else if (version === 'v1a' && signature.length === ED25519_SIGNATURE_BYTES && publicKeys.length > 0) {
          signedContent ??= Buffer.concat([Buffer.from(prefix), body]);
          for (const key of publicKeys) if (cryptoVerify(null, signedContent, key, signature)) matched = true;
        }
        if (matched) break;
      }
      if (!matched) {
        if (wellFormed === 0) {
          throw new HooklineError('malformed_header', 'The webhook-signature header has no "version,signature" entry.', { details: { header: 'webhook-signature' } });
        }
        throw new HooklineError('signature_mismatch', 'No webhook-signature entry matches.', { details: { header: 'webhook-signature' } });
      }
      if (seenIds !== undefined) await assertFirstDelivery(seenIds, SCOPE, id, (timestamp + toleranceSeconds) * 1000);
      // The payload is parsed when first read: a caller that only needs the verdict (or parses itself) pays nothing.
      return verifiedEvent({ rawBody: body, contentType, id, timestamp });
    },
  };
}
