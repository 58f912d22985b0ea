import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { HooklineError, isHooklineError } from '@hookline/errors';
import {
  createHmacSigner, createJwtSigner, createStandardSigner, generateSigningKey, type HmacScheme, type HmacSigner, type JwtSigner, type SigningKey, type SigningKeyEntry,
  type StandardSigner,
} from '@hookline/signer';
import { compileTemplate } from '@hookline/templater';
import type { EndpointRecord, JsonValue } from '@hookline/store';
import type { SecretBox } from '../secrets.js';

/** The event as the body builder sees it (a stored message, or the test event). */
export interface OutgoingEvent {
  id: string;
  tenant: string;
  type: string;
  data: JsonValue;
  createdAt: number;
}

/** A request ready to send, with the names of headers history must redact. */
export interface PreparedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  bytes: Uint8Array;
  /** Header names (besides the usual credential names) that carry a secret. */
  secretHeaders: string[];
  /** True when the body carries the callback URL, so a 202 means "answer later". */
  callbackExpected: boolean;
}

/** How hookline signs its JWTs. Keys may be given as a function so a rotation takes effect without a restart. */
export interface SigningOptions {
  /** The `iss` claim: one issuer, or one per tenant (ConductorOne's `iss` is the tenant's domain). */
  issuer: string | ((tenant: string) => string);
  /** Without keys, one ES256 key is generated for the life of the process (demos and tests only). */
  keys?: ReadonlyArray<SigningKey | SigningKeyEntry> | (() => ReadonlyArray<SigningKey | SigningKeyEntry>);
  ttlSeconds?: number;
}

type Template = ReturnType<typeof compileTemplate>;

/** Builds, renders and signs requests; caches compiled templates and signers per endpoint version. */
export class RequestBuilder {
  readonly #box: SecretBox;
  readonly #signing: SigningOptions | undefined;
  readonly #now: () => number;
  readonly #userAgent: string;
  readonly #templates = new Map<string, Template>();
  readonly #standardSigners = new Map<string, StandardSigner>();
  readonly #hmacSigners = new Map<string, HmacSigner>();
  readonly #jwtSigners = new Map<string, { keys: unknown; signer: JwtSigner }>();
  #ephemeralKey: Promise<SigningKey> | undefined;

  constructor(options: { box: SecretBox; signing: SigningOptions | undefined; now: () => number; userAgent: string }) {
    this.#box = options.box;
    this.#signing = options.signing;
    this.#now = options.now;
    this.#userAgent = options.userAgent;
  }

  /** The ConductorOne envelope, or the endpoint's template rendered over the event. */
  body(endpoint: EndpointRecord, event: OutgoingEvent, callbackUrl: string): string {
    if (endpoint.bodyTemplate === undefined) return JSON.stringify(envelope(event, callbackUrl));
    const template = cached(this.#templates, `${endpoint.id}:${endpoint.updatedAt}`, () => compileTemplate(endpoint.bodyTemplate!));
    return template.renderText(templateContext(event, callbackUrl));
  }

  async prepare(endpoint: EndpointRecord, event: OutgoingEvent, callbackUrl: string): Promise<PreparedRequest> {
    const body = this.body(endpoint, event, callbackUrl);
    const bytes = Buffer.from(body, 'utf8');
    const headers: Record<string, string> = {
      'user-agent': this.#userAgent,
      'content-type': 'application/json',
      ...endpoint.headers,
      // The message id is the same on every try, so receivers can drop duplicates whatever the scheme.
      'webhook-id': event.id,
      'content-length': String(bytes.byteLength),
    };
    const secretHeaders: string[] = [];
    const auth = endpoint.auth;
    switch (auth.type) {
      case 'jwt': {
        const keys = this.#keysNow();
        const signer = keys === undefined ? await this.jwtSigner(endpoint.tenant) : this.#signerFor(endpoint.tenant, keys);
        Object.assign(headers, await signer.sign({ method: endpoint.method, url: endpoint.url, body: bytes }));
        break;
      }
      case 'standard-webhooks': {
        const signer = cached(this.#standardSigners, `${endpoint.id}:${endpoint.updatedAt}`, () =>
          createStandardSigner({ secret: this.#box.open(String(auth['secret'])), now: this.#now }),
        );
        Object.assign(headers, signer.sign({ id: event.id, timestamp: Math.floor(this.#now() / 1000), body: bytes }));
        break;
      }
      case 'hmac': {
        const signer = cached(this.#hmacSigners, `${endpoint.id}:${endpoint.updatedAt}`, () =>
          createHmacSigner(hmacScheme(auth, this.#box.open(String(auth['secret']))), { now: this.#now }),
        );
        Object.assign(headers, signer.sign({ body: bytes, id: event.id, timestamp: Math.floor(this.#now() / 1000) }));
        secretHeaders.push(String(auth['header']));
        break;
      }
      case 'bearer':
        headers['authorization'] = `Bearer ${this.#box.open(String(auth['token']))}`;
        break;
      case 'basic': {
        const credentials = `${String(auth['username'])}:${this.#box.open(String(auth['password']))}`;
        headers['authorization'] = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
        break;
      }
      case 'none':
        break;
      default:
        throw new HooklineError('invalid_config', `Unknown auth scheme ${auth.type}.`);
    }
    return {
      method: endpoint.method, url: endpoint.url, headers, body, bytes, secretHeaders,
      callbackExpected: callbackUrl !== '' && body.includes(callbackUrl),
    };
  }

  /** Throws the signer's coded error when a stored scheme cannot sign (bad secret, bad HMAC scheme). */
  checkSigner(auth: EndpointRecord['auth']): void {
    if (auth.type === 'standard-webhooks') createStandardSigner({ secret: this.#box.open(String(auth['secret'])) });
    if (auth.type === 'hmac') createHmacSigner(hmacScheme(auth, this.#box.open(String(auth['secret']))));
  }

  /** Checks that a template compiles (the templater's coded errors pass through). */
  checkTemplate(source: string): void {
    compileTemplate(source);
  }

  /** The JWT signer for a tenant's issuer; rebuilt when the key list changes. */
  async jwtSigner(tenant: string): Promise<JwtSigner> {
    return this.#signerFor(tenant, this.#keysNow() ?? (await this.#keys()));
  }

  #signerFor(tenant: string, keys: ReadonlyArray<SigningKey | SigningKeyEntry>): JwtSigner {
    const issuer = this.#issuer(tenant);
    const hit = this.#jwtSigners.get(issuer);
    if (hit !== undefined && hit.keys === keys) return hit.signer;
    const signer = createJwtSigner({
      // Many sends in flight: signatures on the threadpool leave the event loop to the sends (and to the app).
      issuer, keys, now: this.#now, offThread: true,
      ...(this.#signing?.ttlSeconds === undefined ? {} : { ttlSeconds: this.#signing.ttlSeconds }),
    });
    this.#jwtSigners.set(issuer, { keys, signer });
    return signer;
  }

  #issuer(tenant: string): string {
    const issuer = this.#signing?.issuer;
    if (typeof issuer === 'function') return issuer(tenant);
    return issuer ?? 'hookline.localhost';
  }

  /** The keys without waiting: undefined only while the process-lifetime demo key is still being generated. */
  #keysNow(): ReadonlyArray<SigningKey | SigningKeyEntry> | undefined {
    const keys = this.#signing?.keys;
    if (keys !== undefined) return typeof keys === 'function' ? keys() : keys;
    return this.#ephemeralKeys;
  }

  async #keys(): Promise<ReadonlyArray<SigningKey | SigningKeyEntry>> {
    const keys = this.#signing?.keys;
    if (keys !== undefined) return typeof keys === 'function' ? keys() : keys;
    // No keys configured: one process-lifetime key, fine for demos, useless across restarts.
    this.#ephemeralKey ??= generateSigningKey('ES256');
    const key = await this.#ephemeralKey;
    return this.#ephemeralKeys?.[0] === key ? this.#ephemeralKeys : (this.#ephemeralKeys = [key]);
  }

  #ephemeralKeys: SigningKey[] | undefined;
}

/** The signer's HMAC scheme from a stored auth (secret opened by the caller). */
function hmacScheme(auth: EndpointRecord['auth'], secret: string): HmacScheme {
  const scheme: HmacScheme = { secret, header: String(auth['header']) };
  if (typeof auth['algorithm'] === 'string') scheme.algorithm = auth['algorithm'] as NonNullable<HmacScheme['algorithm']>;
  if (typeof auth['encoding'] === 'string') scheme.encoding = auth['encoding'] as NonNullable<HmacScheme['encoding']>;
  if (typeof auth['prefix'] === 'string') scheme.prefix = auth['prefix'];
  if (typeof auth['content'] === 'string') {
    scheme.content = auth['content'];
    if (scheme.content.includes('{id}')) scheme.idHeader = 'webhook-id';
  }
  if (typeof auth['timestampHeader'] === 'string') scheme.timestampHeader = auth['timestampHeader'];
  return scheme;
}

/** `{"version":"v1","webhookId","callbackUrl","event","payload":{"@type",...}}` (ConductorOne). */
export function envelope(event: OutgoingEvent, callbackUrl: string): Record<string, JsonValue> {
  const typeUrl = `type.googleapis.com/${event.type}`;
  const data = event.data;
  const payload: Record<string, JsonValue> =
    typeof data === 'object' && data !== null && !Array.isArray(data)
      ? { '@type': typeUrl, ...data }
      : data === null ? { '@type': typeUrl } : { '@type': typeUrl, value: data };
  return { version: 'v1', webhookId: event.id, callbackUrl, event: event.type, payload };
}

/**
 * What a body template sees: the published `data`, the event type under Apono's `event_type` and as `type`, the event
 * time under Apono's `event_time` (epoch seconds), and the delivery's `webhookId` and `callbackUrl`.
 */
export function templateContext(event: OutgoingEvent, callbackUrl: string): Record<string, JsonValue> {
  return {
    type: event.type, event: event.type, event_type: event.type, event_time: event.createdAt / 1000,
    webhookId: event.id, messageId: event.id, callbackUrl, tenant: event.tenant, data: event.data,
  };
}

/** The SHA-256 of a callback token: the store keeps only this. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * A callback token: the delivery id and its HMAC under a key derived from the app's secret key. Unguessable without
 * the key, and checkable without a lookup, so nothing is written per delivery before the receiver answers 202.
 */
export function callbackToken(key: Uint8Array, deliveryId: string): string {
  return `${deliveryId}.${createHmac('sha256', key).update(deliveryId, 'utf8').digest('base64url')}`;
}

/** The delivery id a token was minted for, or undefined when its MAC does not check. */
export function deliveryOfToken(key: Uint8Array, token: string): string | undefined {
  const match = /^([A-Za-z0-9_]{1,100})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (match === null) return undefined;
  const expected = Buffer.from(callbackToken(key, match[1]!), 'utf8');
  const given = Buffer.from(token, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given) ? match[1] : undefined;
}

export function describeError(error: unknown): { code: string; message: string } {
  if (isHooklineError(error)) return { code: error.code, message: error.message };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}

function cached<T>(map: Map<string, T>, key: string, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    if (map.size >= 1000) map.clear();
    value = make();
    map.set(key, value);
  }
  return value;
}
