// What the provider presets share: configuration checks, the body limit, HMAC keys made once, the lazy event.
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import { bodyBytes, safeEqual } from '../lib/bytes.js';
import { parsePayload } from '../lib/payload.js';
import { assertFirstDelivery } from '../replay.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_TOLERANCE_SECONDS,
  type ChallengeResponse,
  type CommonVerifierOptions,
  type SeenIdStore,
  type VerifiedEvent,
  type WebhookRequest,
} from '../types.js';

/** One secret, or several while a secret is being rotated (any of them verifies). */
export interface SecretOptions {
  secret?: string;
  secrets?: readonly string[];
}

/** Options every preset accepts besides its secrets. */
export interface PresetOptions extends CommonVerifierOptions {
  /** Namespace for remembered delivery ids, e.g. the inbound source id (default: the preset name). */
  replayScope?: string;
  /** How long a delivery id is remembered when the scheme has no signed timestamp (default 24 h). */
  seenIdTtlSeconds?: number;
}

export const DEFAULT_SEEN_ID_TTL_SECONDS = 24 * 60 * 60;

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** The settings a preset resolves once, at construction. */
export interface ResolvedSettings {
  maxBodyBytes: number;
  toleranceSeconds: number;
  seenIdTtlSeconds: number;
  seenIds: SeenIdStore | undefined;
  now: () => number;
  replayScope: string;
}

function invalidSource(field: string, message: string): HooklineError {
  return new HooklineError('invalid_source', message, { details: { field } });
}

/** Refuses anything but a plain options object. */
export function assertOptionsObject(options: unknown, preset: string): asserts options is Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidSource('config', `The ${preset} verifier needs an options object.`);
  }
}

/**
 * The configured secrets as a non-empty list, from the `singular` option (`secret`, `publicKey`) or its `plural`
 * (`secrets`, `publicKeys`); giving both is ambiguous and refused. Errors name the faulty option in `details.field`.
 */
export function secretList(options: Record<string, unknown>, preset: string, singular = 'secret', plural = `${singular}s`): string[] {
  const one = options[singular];
  const many = options[plural];
  if (one !== undefined && many !== undefined) {
    throw invalidSource(plural, `Give either ${singular} or ${plural} to the ${preset} verifier, not both.`);
  }
  if (many !== undefined) {
    if (!Array.isArray(many) || many.length === 0) {
      throw invalidSource(plural, `${plural} of the ${preset} verifier must be a non-empty list of strings.`);
    }
    many.forEach((value: unknown, index) => {
      if (typeof value !== 'string' || value.length === 0) {
        throw invalidSource(`${plural}[${index}]`, `${plural}[${index}] of the ${preset} verifier must be a non-empty string.`);
      }
    });
    return [...(many as string[])];
  }
  if (typeof one !== 'string' || one.length === 0) {
    throw invalidSource(singular, `The ${preset} verifier needs ${singular} (a non-empty string) or ${plural}.`);
  }
  return [one];
}

/** A string or a non-empty list of strings, each non-empty (verify tokens, header values). */
export function stringList(value: unknown, field: string, preset: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((item: unknown) => typeof item !== 'string' || item === '')) {
    throw invalidSource(field, `${field} of the ${preset} verifier must be a non-empty string or a non-empty list of them.`);
  }
  return [...(list as string[])];
}

function positiveNumber(options: Record<string, unknown>, field: string, preset: string, fallback: number, allowZero = false): number {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw invalidSource(field, `${field} of the ${preset} verifier must be a ${allowZero ? 'non-negative' : 'positive'} number.`);
  }
  return value;
}

/** Checks and resolves the options every preset shares. */
export function resolveSettings(options: Record<string, unknown>, preset: string, defaults: { maxBodyBytes?: number } = {}): ResolvedSettings {
  const seenIds = options['seenIds'];
  if (seenIds !== undefined && typeof (seenIds as SeenIdStore | null)?.addSeenId !== 'function') {
    throw invalidSource('seenIds', `seenIds of the ${preset} verifier must have an addSeenId method.`);
  }
  const now = options['now'];
  if (now !== undefined && typeof now !== 'function') {
    throw invalidSource('now', `now of the ${preset} verifier must be a function returning milliseconds.`);
  }
  const replayScope = options['replayScope'];
  if (replayScope !== undefined && (typeof replayScope !== 'string' || replayScope === '')) {
    throw invalidSource('replayScope', `replayScope of the ${preset} verifier must be a non-empty string.`);
  }
  return {
    maxBodyBytes: positiveNumber(options, 'maxBodyBytes', preset, defaults.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES),
    toleranceSeconds: positiveNumber(options, 'toleranceSeconds', preset, DEFAULT_TOLERANCE_SECONDS, true),
    seenIdTtlSeconds: positiveNumber(options, 'seenIdTtlSeconds', preset, DEFAULT_SEEN_ID_TTL_SECONDS),
    seenIds: seenIds as SeenIdStore | undefined,
    now: (now as (() => number) | undefined) ?? Date.now,
    replayScope: (replayScope as string | undefined) ?? preset,
  };
}

/** HMAC keys made once per secret, so each request only hashes. */
export function hmacKeys(secrets: readonly string[]): KeyObject[] {
  return secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
}

/**
 * True when any key's MAC over `first` then `second` equals one of the signatures, each compared in constant time
 * after a length check. Two parts cover every preset (`{t}.` + body, timestamp + body, URL + parameters).
 */
export function anyHmacMatches(
  algorithm: HmacAlgorithm,
  keys: readonly KeyObject[],
  signatures: Uint8Array | readonly Uint8Array[],
  first: Uint8Array | string,
  second?: Uint8Array | string,
): boolean {
  for (const key of keys) {
    const mac = createHmac(algorithm, key).update(first);
    if (second !== undefined) mac.update(second);
    const expected = mac.digest();
    if (signatures instanceof Uint8Array) {
      if (safeEqual(expected, signatures)) return true;
    } else {
      for (const signature of signatures) if (safeEqual(expected, signature)) return true;
    }
  }
  return false;
}

/** Request headers by lowercase name, as Node gives them; a name repeated in another case holds every value. */
export type HeaderView = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * The headers by lowercase name. Node already lowercases them, so the common case costs one scan and no copy; only a
 * hand-built request with mixed-case names is copied, and names that then collide keep all their values.
 */
function headerView(headers: WebhookRequest['headers']): HeaderView {
  let mixedCase = false;
  for (const key in headers) {
    if (key.toLowerCase() !== key) {
      mixedCase = true;
      break;
    }
  }
  if (!mixedCase) return headers;
  const view: Record<string, string | string[] | undefined> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = key.toLowerCase();
    const existing = view[name];
    const values = Array.isArray(value) ? value : [value];
    view[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), ...values];
  }
  return view;
}

/**
 * The raw body and the headers of a request. The body is refused when it is a parsed object (`raw_body_unavailable`)
 * or larger than the limit (`payload_too_large`); a declared Content-Length over the limit is refused too.
 */
export function readRequest(request: WebhookRequest, maxBodyBytes: number): { rawBody: Uint8Array; headers: HeaderView } {
  if (typeof request !== 'object' || request === null || typeof request.headers !== 'object' || request.headers === null) {
    throw new HooklineError('bad_request', 'A webhook request needs method, url, headers and body.');
  }
  const headers = headerView(request.headers);
  const body: unknown = request.body;
  const size = body instanceof Uint8Array ? body.byteLength : typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : -1;
  if (size > maxBodyBytes) throw tooLarge(maxBodyBytes);
  const declared = firstHeader(headers, 'content-length');
  if (declared !== undefined && Number(declared) > maxBodyBytes) throw tooLarge(maxBodyBytes);
  return { rawBody: bodyBytes(body), headers };
}

function tooLarge(maxBodyBytes: number): HooklineError {
  return new HooklineError('payload_too_large', `The request body is larger than ${maxBodyBytes} bytes.`, { details: { maxBodyBytes } });
}

/** The first value of a header that is informative only (content type, metadata); repeats are not an attack here. */
export function firstHeader(headers: HeaderView, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : value?.[0];
}

/** The one value of a header that must appear once: missing is `missing_header`, repeated is `duplicate_header`. */
export function requireOne(headers: HeaderView, name: string): string {
  const value = headers[name];
  if (typeof value === 'string') return value;
  if (value === undefined || value.length === 0) {
    throw new HooklineError('missing_header', `The ${name} header is missing.`, { details: { header: name } });
  }
  if (value.length > 1) throw duplicateHeader(name);
  return value[0]!;
}

function duplicateHeader(name: string): HooklineError {
  return new HooklineError('duplicate_header', `The ${name} header was given more than once.`, { details: { header: name } });
}

export function hasHeader(headers: HeaderView, name: string): boolean {
  const value = headers[name];
  return typeof value === 'string' || (value !== undefined && value.length > 0);
}

/**
 * The one value of a signature header whose format never holds a comma: missing is `missing_header`, repeated is
 * `duplicate_header`, also when a server joined the repeats into one value with commas (as Node does for `x-` headers).
 */
export function singleSignatureHeader(headers: HeaderView, name: string): string {
  const value = requireOne(headers, name);
  if (value.includes(',')) throw duplicateHeader(name);
  return value;
}

/** Unsigned metadata headers that are present, reported as `unverified`. */
function unverifiedHeaders(headers: HeaderView, names: readonly string[]): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name of names) {
    const value = firstHeader(headers, name);
    if (value !== undefined) (out ??= {})[name] = value;
  }
  return out;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict hex: undefined for anything but an even-length hex string (Node stops decoding at the first bad digit). */
export function decodeHex(text: string): Uint8Array | undefined {
  const bytes = Buffer.from(text, 'hex');
  return bytes.length * 2 === text.length ? bytes : undefined;
}

/** Strict standard base64, padded or not: undefined for anything else (providers' digests are never base64url). */
export function decodeBase64(text: string): Uint8Array | undefined {
  return BASE64.test(text) && text.length % 4 !== 1 ? Buffer.from(text, 'base64') : undefined;
}

/** The query parameters of the request target, which may be a path (`/in/x?a=1`) or an absolute URL. */
export function queryOf(request: WebhookRequest): URLSearchParams {
  const url = typeof request.url === 'string' ? request.url : '';
  const start = url.indexOf('?');
  if (start === -1) return new URLSearchParams();
  const hash = url.indexOf('#', start);
  return new URLSearchParams(url.slice(start + 1, hash === -1 ? undefined : hash));
}

/** The one value of a query parameter: undefined when absent, `bad_request` when given twice. */
export function singleQueryValue(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new HooklineError('bad_request', `The ${name} query parameter was given more than once.`, { details: { parameter: name } });
  return values[0];
}

export function isMethod(request: WebhookRequest, method: string): boolean {
  return typeof request.method === 'string' && request.method.toUpperCase() === method;
}

/** SHA-256 of a UTF-8 string, used to compare secrets of any length in constant time without leaking their length. */
export function sha256(text: string | Uint8Array): Buffer {
  return createHash('sha256').update(text).digest();
}

export function signatureMismatch(header: string): HooklineError {
  return new HooklineError('signature_mismatch', `The ${header} signature does not match this request.`, { details: { header } });
}

export function malformedHeader(header: string, expected: string): HooklineError {
  return new HooklineError('malformed_header', `The ${header} header is not ${expected}.`, { details: { header } });
}

interface EventFields {
  rawBody: Uint8Array;
  contentType: string | undefined;
  id?: string | undefined;
  /** Reads the delivery id from the parsed payload, when the provider puts it there (Stripe, Slack, PagerDuty). */
  idFromPayload?: (payload: unknown) => string | undefined;
  timestamp?: number | undefined;
  /** The request's headers and the unsigned metadata names among them, reported as `unverified` when read. */
  headers?: HeaderView;
  metadata?: readonly string[];
  /** How to turn the raw bytes into the payload (default: JSON, form fields or text). */
  parse?: (rawBody: Uint8Array, contentType: string | undefined) => unknown;
}

const UNPARSED = Symbol('unparsed');

/**
 * A verified event whose payload (and a delivery id read from it) and unsigned metadata are read on first use, so
 * verifying costs about what the HMAC costs and an app that only needs the raw bytes never pays for JSON.parse.
 * `payload`, `id` and `unverified` are getters: `toJSON()` and {@link VerifiedEvent} readers see them, a spread does not.
 */
class LazyVerifiedEvent implements VerifiedEvent {
  readonly kind = 'event' as const;
  readonly rawBody: Uint8Array;
  timestamp?: number;
  #payload: unknown = UNPARSED;
  readonly #contentType: string | undefined;
  readonly #parse: (rawBody: Uint8Array, contentType: string | undefined) => unknown;
  #id: string | undefined;
  readonly #idFromPayload: ((payload: unknown) => string | undefined) | undefined;
  readonly #headers: HeaderView | undefined;
  readonly #metadata: readonly string[] | undefined;
  #unverified: Record<string, string> | undefined | typeof UNPARSED = UNPARSED;

  constructor(fields: EventFields) {
    this.rawBody = fields.rawBody;
    this.#contentType = fields.contentType;
    this.#parse = fields.parse ?? parsePayload;
    this.#id = fields.id;
    this.#idFromPayload = fields.idFromPayload;
    if (fields.timestamp !== undefined) this.timestamp = fields.timestamp;
    this.#headers = fields.headers;
    this.#metadata = fields.metadata;
  }

  get payload(): unknown {
    if (this.#payload === UNPARSED) this.#payload = this.#parse(this.rawBody, this.#contentType);
    return this.#payload;
  }

  set payload(value: unknown) {
    this.#payload = value;
  }

  get id(): string | undefined {
    if (this.#id === undefined && this.#idFromPayload !== undefined) this.#id = this.#idFromPayload(this.payload);
    return this.#id;
  }

  get unverified(): Record<string, string> | undefined {
    if (this.#unverified === UNPARSED) {
      this.#unverified = this.#headers === undefined || this.#metadata === undefined ? undefined : unverifiedHeaders(this.#headers, this.#metadata);
    }
    return this.#unverified;
  }

  toJSON(): Omit<VerifiedEvent, 'rawBody'> & { rawBody: Uint8Array } {
    return {
      kind: this.kind,
      payload: this.payload,
      rawBody: this.rawBody,
      ...(this.id === undefined ? {} : { id: this.id }),
      ...(this.timestamp === undefined ? {} : { timestamp: this.timestamp }),
      ...(this.unverified === undefined ? {} : { unverified: this.unverified }),
    };
  }
}

export function verifiedEvent(fields: EventFields): VerifiedEvent {
  return new LazyVerifiedEvent(fields);
}

/** Drops a delivery already seen. Ids from a signed timestamp scheme are remembered until the timestamp leaves the window. */
export async function rememberDelivery(settings: ResolvedSettings, event: VerifiedEvent): Promise<void> {
  if (settings.seenIds === undefined) return;
  const expiresAt =
    event.timestamp !== undefined
      ? (event.timestamp + settings.toleranceSeconds) * 1000
      : settings.now() + settings.seenIdTtlSeconds * 1000;
  await assertFirstDelivery(settings.seenIds, settings.replayScope, event.id, expiresAt);
}

/** A string field of a parsed JSON object, or undefined. */
export function stringField(value: unknown, ...path: string[]): string | undefined {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === 'string' && current !== '' ? current : undefined;
}

/** A challenge answer with an exact status, content type and body. */
export function challenge(body: string, contentType: string, status = 200): ChallengeResponse {
  return { kind: 'challenge', response: { status, headers: { 'content-type': contentType }, body } };
}
