import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import { fromBase64, fromHex, safeEqual, toBytes } from './lib/bytes.js';
import { checkMaxBodyBytes, checkSeconds, limitedBody } from './lib/body.js';
import { parseContent } from './lib/content.js';
import { readHeaders, required } from './lib/header-set.js';
import { parsePayload } from './lib/payload.js';
import { assertWithinTolerance, parseUnixSeconds } from './lib/time.js';
import { assertFirstDelivery } from './replay.js';
import {
  DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE_SECONDS,
  type CommonVerifierOptions, type VerifiedEvent, type Verifier, type WebhookRequest,
} from './types.js';

/**
 * The receiving side of an HMAC header scheme (the mirror of `HmacScheme` in @hookline/signer), with `secrets` so a
 * secret can be rotated: a request passes when its MAC matches any of them.
 */
export interface HmacVerifierOptions extends CommonVerifierOptions {
  secrets: ReadonlyArray<string | Uint8Array>;
  /** The header carrying the signature, e.g. `x-signature`. */
  header: string;
  /** Digest (default sha256). */
  algorithm?: 'sha1' | 'sha256' | 'sha512';
  /** How the MAC is written (default hex). */
  encoding?: 'hex' | 'base64';
  /** Text before the MAC in the header, e.g. `sha256=`: required when configured. */
  prefix?: string;
  /** What is signed, with `{body}`, `{timestamp}` and `{id}` placeholders (default `{body}`). */
  content?: string;
  /** The unix-seconds timestamp header; when set it is required and checked against `toleranceSeconds`. */
  timestampHeader?: string;
  /** The delivery id header; when set with `seenIds`, a repeated id is `replayed`. */
  idHeader?: string;
  /** Short name for logs (default `hmac`); also scopes the replay keys. */
  name?: string;
}

const UNTIMED_REPLAY_WINDOW_MS = 24 * 60 * 60 * 1000;
const DIGEST_BYTES = { sha1: 20, sha256: 32, sha512: 64 } as const;

/**
 * Verifies an HMAC signature header configured like the sender signs it.
 *
 * @example
 * ```ts
 * const verifier = hmac({ secrets: ["It's a Secret to Everybody"], header: 'x-hub-signature-256', prefix: 'sha256=' });
 * await verifier.verify({ method: 'POST', url: '/hooks', headers: {
 *   'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' }, body: 'Hello, World!' });
 * ```
 */
export function hmac(options: HmacVerifierOptions): Verifier {
  const algorithm = options.algorithm ?? 'sha256';
  const encoding = options.encoding ?? 'hex';
  const prefix = options.prefix ?? '';
  if (!Object.hasOwn(DIGEST_BYTES, algorithm)) throw new HooklineError('invalid_config', 'The algorithm is sha1, sha256 or sha512.');
  if (encoding !== 'hex' && encoding !== 'base64') throw new HooklineError('invalid_config', 'The encoding is hex or base64.');
  for (const option of ['header', 'timestampHeader', 'idHeader'] as const) {
    const value = options[option];
    if ((value !== undefined || option === 'header') && (typeof value !== 'string' || value === '')) {
      throw new HooklineError('invalid_config', `${option} must be a header name.`, { details: { option } });
    }
  }
  const parts = parseContent(options.content ?? '{body}');
  if (parts.includes('timestamp') && options.timestampHeader === undefined) {
    throw new HooklineError('invalid_config', 'The content signs {timestamp}, so the verifier needs a timestampHeader.');
  }
  if (parts.includes('id') && options.idHeader === undefined) {
    throw new HooklineError('invalid_config', 'The content signs {id}, so the verifier needs an idHeader.');
  }
  if (!Array.isArray(options.secrets) || options.secrets.length === 0) {
    throw new HooklineError('invalid_config', 'An HMAC verifier needs at least one secret.');
  }
  const keys: KeyObject[] = options.secrets.map((secret) => {
    const bytes = typeof secret === 'string' ? toBytes(secret) : secret;
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new HooklineError('invalid_key', 'An HMAC secret is empty.');
    return createSecretKey(bytes);
  });
  const maxBodyBytes = checkMaxBodyBytes(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
  const toleranceSeconds = checkSeconds(options.toleranceSeconds, DEFAULT_TOLERANCE_SECONDS, 'toleranceSeconds');
  const now = options.now ?? Date.now;
  const name = options.name ?? 'hmac';
  const digestBytes = DIGEST_BYTES[algorithm];
  // Unset optional headers get a name no request header can have, so one pass reads them all.
  const headerNames = [options.header, options.timestampHeader ?? ' timestamp', options.idHeader ?? ' id', 'content-type']
    .map((headerName) => headerName.toLowerCase());

  return {
    name,
    maxBodyBytes,
    async verify(request: WebhookRequest): Promise<VerifiedEvent> {
      const body = limitedBody(request.body, maxBodyBytes);
      const [signatureValue, timestampValue, idValue, contentType] = readHeaders(request, headerNames, 3);
      const signatureText = required(signatureValue, options.header);
      let timestamp: number | undefined;
      let timestampText = '';
      if (options.timestampHeader !== undefined) {
        timestampText = required(timestampValue, options.timestampHeader);
        timestamp = parseUnixSeconds(timestampText, options.timestampHeader);
        assertWithinTolerance(timestamp, now(), toleranceSeconds, options.timestampHeader);
      }
      const id = parts.includes('id') ? required(idValue, options.idHeader!) : idValue;

      if (!signatureText.startsWith(prefix)) {
        throw new HooklineError('malformed_header', `The ${options.header} header does not start with the expected prefix.`, { details: { header: options.header } });
      }
      const encoded = signatureText.slice(prefix.length);
      const signature = encoding === 'hex' ? fromHex(encoded) : fromBase64(encoded);
      if (signature === undefined) {
        throw new HooklineError('malformed_header', `The ${options.header} header is not ${encoding}.`, { details: { header: options.header } });
      }
      if (signature.length !== digestBytes) {
        throw new HooklineError('signature_mismatch', 'The signature does not match.', { details: { header: options.header } });
      }
      const matched = keys.some((key) => {
        const mac = createHmac(algorithm, key);
        for (const part of parts) {
          if (part === 'body') mac.update(body);
          else if (part === 'timestamp') mac.update(timestampText);
          else if (part === 'id') mac.update(id ?? '');
          else mac.update(part.text);
        }
        return safeEqual(mac.digest(), signature);
      });
      if (!matched) throw new HooklineError('signature_mismatch', 'The signature does not match.', { details: { header: options.header } });

      // Without a signed timestamp nothing bounds a replay in time, so the id is remembered for a day.
      const expiresAt = timestamp === undefined ? now() + UNTIMED_REPLAY_WINDOW_MS : (timestamp + toleranceSeconds) * 1000;
      await assertFirstDelivery(options.seenIds, name, id, expiresAt);
      const event: VerifiedEvent = { kind: 'event', payload: parsePayload(body, contentType), rawBody: body };
      if (id !== undefined) event.id = id;
      if (timestamp !== undefined) event.timestamp = timestamp;
      return event;
    },
  };
}
