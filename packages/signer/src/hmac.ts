import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import { parseContent } from './lib/content.js';
import { toBytes } from './lib/base64url.js';

/**
 * How an existing receiver checks an HMAC header, so a sender can sign exactly that way. The same shape configures
 * the receiving side (`hmac()` in @hookline/verifier), with `secrets` for rotation.
 *
 * @example GitHub style: `{ secret, header: 'x-hub-signature-256', prefix: 'sha256=' }`
 * @example Slack style: `{ secret, header: 'x-slack-signature', prefix: 'v0=', content: 'v0:{timestamp}:{body}', timestampHeader: 'x-slack-request-timestamp' }`
 */
export interface HmacScheme {
  /** The shared secret, used as its UTF-8 bytes (or as given bytes). */
  secret: string | Uint8Array;
  /** The header carrying the signature, e.g. `x-signature`. */
  header: string;
  /** Digest (default sha256). */
  algorithm?: 'sha1' | 'sha256' | 'sha512';
  /** How the MAC is written (default hex). */
  encoding?: 'hex' | 'base64';
  /** Text before the MAC in the header, e.g. `sha256=` (default none). */
  prefix?: string;
  /** What is signed, with `{body}`, `{timestamp}` and `{id}` placeholders (default `{body}`). */
  content?: string;
  /** The header carrying the unix-seconds timestamp; needed when `content` uses `{timestamp}`. */
  timestampHeader?: string;
  /** The header carrying the delivery id; needed when `content` uses `{id}`, optional otherwise. */
  idHeader?: string;
}

export interface HmacSignRequest {
  body: string | Uint8Array;
  /** Unix seconds (or a Date); now by default. Sent only when the scheme has a timestamp header. */
  timestamp?: number | Date;
  /** The delivery id; generated when the scheme signs or sends one and none is given. */
  id?: string;
}

export interface HmacSigner {
  readonly scheme: Readonly<Omit<HmacScheme, 'secret'>>;
  sign(request: HmacSignRequest): Record<string, string>;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkHeaderName(name: string | undefined, option: string): void {
  if (name !== undefined && (typeof name !== 'string' || !HEADER_NAME.test(name))) {
    throw new HooklineError('invalid_config', `${option} is not a valid header name.`, { details: { option } });
  }
}

/**
 * Signs with a configurable HMAC header scheme, so hookline can sign the way a receiver already checks.
 *
 * @example
 * ```ts
 * const signer = createHmacSigner({ secret: 'It\'s a Secret to Everybody', header: 'x-hub-signature-256', prefix: 'sha256=' });
 * signer.sign({ body: 'Hello, World!' });
 * // { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' }
 * ```
 */
export function createHmacSigner(scheme: HmacScheme, options: { now?: () => number } = {}): HmacSigner {
  const algorithm = scheme.algorithm ?? 'sha256';
  const encoding = scheme.encoding ?? 'hex';
  const prefix = scheme.prefix ?? '';
  if (!['sha1', 'sha256', 'sha512'].includes(algorithm)) throw new HooklineError('invalid_config', 'The algorithm is sha1, sha256 or sha512.');
  if (!['hex', 'base64'].includes(encoding)) throw new HooklineError('invalid_config', 'The encoding is hex or base64.');
  checkHeaderName(scheme.header, 'header');
  if (scheme.header === undefined) throw new HooklineError('invalid_config', 'An HMAC scheme needs a header name.');
  checkHeaderName(scheme.timestampHeader, 'timestampHeader');
  checkHeaderName(scheme.idHeader, 'idHeader');
  const parts = parseContent(scheme.content ?? '{body}');
  if (parts.includes('timestamp') && scheme.timestampHeader === undefined) {
    throw new HooklineError('invalid_config', 'The content signs {timestamp}, so the scheme needs a timestampHeader.');
  }
  if (parts.includes('id') && scheme.idHeader === undefined) {
    throw new HooklineError('invalid_config', 'The content signs {id}, so the scheme needs an idHeader.');
  }
  const secretBytes = typeof scheme.secret === 'string' ? toBytes(scheme.secret) : scheme.secret;
  if (!(secretBytes instanceof Uint8Array) || secretBytes.length === 0) throw new HooklineError('invalid_key', 'The HMAC secret is empty.');
  const key: KeyObject = createSecretKey(secretBytes);
  const now = options.now ?? Date.now;
  const header = scheme.header.toLowerCase();
  const timestampHeader = scheme.timestampHeader?.toLowerCase();
  const idHeader = scheme.idHeader?.toLowerCase();
  const { secret: _secret, ...publicScheme } = scheme;

  return {
    scheme: Object.freeze(publicScheme),
    sign({ body, timestamp, id }: HmacSignRequest): Record<string, string> {
      const seconds = timestamp === undefined ? Math.floor(now() / 1000)
        : timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
      if (!Number.isSafeInteger(seconds) || seconds < 0) throw new HooklineError('timestamp_invalid', 'The timestamp must be whole unix seconds.');
      const deliveryId = id ?? (idHeader === undefined ? undefined : randomBytes(16).toString('hex'));
      const mac = createHmac(algorithm, key);
      for (const part of parts) {
        if (part === 'body') mac.update(toBytes(body));
        else if (part === 'timestamp') mac.update(String(seconds));
        else if (part === 'id') mac.update(deliveryId ?? '');
        else mac.update(part.text);
      }
      const headers: Record<string, string> = { [header]: `${prefix}${mac.digest(encoding)}` };
      if (timestampHeader !== undefined) headers[timestampHeader] = String(seconds);
      if (idHeader !== undefined && deliveryId !== undefined) headers[idHeader] = deliveryId;
      return headers;
    },
  };
}
