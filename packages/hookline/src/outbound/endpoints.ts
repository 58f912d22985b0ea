import { randomBytes } from 'node:crypto';
import { HooklineError, isHooklineError } from '@hookline/errors';
import type { EndpointRecord, HttpMethod, JsonObject } from '@hookline/store';
import type { Endpoint, EndpointAuthInput, EndpointInput } from '../contract.js';
import { isReservedHeader } from '@hookline/schemas';
import { generateStandardSecret } from '@hookline/signer';
import { secretHint, type SecretBox } from '../secrets.js';
import { checkUrl, type ResolvedPolicy } from './destination.js';

export const MAX_HEADERS = 10;
const METHODS: readonly HttpMethod[] = ['POST', 'PUT', 'DELETE'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
const HMAC_ALGORITHMS = ['sha1', 'sha256', 'sha512'] as const;

export function invalid(field: string, reason: string): HooklineError {
  return new HooklineError('invalid_endpoint', `Endpoint ${field}: ${reason}`, { details: { field, reason } });
}

/** Checks every rule that does not need a compiler (those run in the dispatcher): URL, method, headers, auth, triggers. */
export function checkEndpointInput(input: EndpointInput, policy: ResolvedPolicy, storedAuth?: EndpointRecord['auth']): void {
  if (typeof input !== 'object' || input === null) throw invalid('body', 'must be an object');
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200) throw invalid('name', 'must be 1 to 200 characters');
  if (input.description !== undefined && (typeof input.description !== 'string' || input.description.length > 2000)) {
    throw invalid('description', 'must be a string of at most 2000 characters');
  }
  if (typeof input.url !== 'string' || input.url.length > 2048) throw invalid('url', 'must be a URL of at most 2048 characters');
  let url: URL;
  try {
    url = checkUrl(input.url, policy);
  } catch (error) {
    throw invalid('url', isHooklineError(error) ? error.message.replace(/^The endpoint URL /, '') : 'is not allowed');
  }
  // Credentials in a URL would sit in the store in the clear and show in every listing.
  if (url.username !== '' || url.password !== '') throw invalid('url', 'may not carry credentials: use auth basic or bearer');
  if (input.method !== undefined && !METHODS.includes(input.method)) throw invalid('method', 'must be POST, PUT or DELETE');
  const hmacHeader = input.auth?.type === 'hmac' ? input.auth.header : storedAuth?.type === 'hmac' ? String(storedAuth['header']) : undefined;
  const headers = input.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw invalid('headers', 'must be an object of names to values');
  const names = Object.keys(headers);
  if (names.length > MAX_HEADERS) throw invalid('headers', `at most ${MAX_HEADERS} headers`);
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) throw invalid(`headers.${name}`, 'is not a valid header name');
    if (seen.has(lower)) throw invalid(`headers.${name}`, 'is given twice');
    seen.add(lower);
    // Credentials belong in `auth`, where they are sealed at rest and redacted from history.
    if (isReservedHeader(name)) throw invalid(`headers.${name}`, 'is reserved: hookline or the auth scheme sets it');
    if (typeof hmacHeader === 'string' && lower === hmacHeader.toLowerCase()) throw invalid(`headers.${name}`, 'is the HMAC signature header');
    const value = headers[name];
    if (typeof value !== 'string' || /[\r\n\0]/.test(value) || value.length > 8192) throw invalid(`headers.${name}`, 'must be a single-line string');
  }
  if (!Array.isArray(input.triggers) || input.triggers.length === 0) throw invalid('triggers', 'must list at least one event type (or "*")');
  for (const trigger of input.triggers) {
    if (typeof trigger !== 'string' || trigger.trim() === '' || trigger.length > 200) throw invalid('triggers', 'each must be a non-empty event type');
  }
  if (input.filter !== undefined && (typeof input.filter !== 'object' || input.filter === null || Array.isArray(input.filter))) {
    throw invalid('filter', 'must be an object of JSONPath to value');
  }
  if (input.bodyTemplate !== undefined && (typeof input.bodyTemplate !== 'string' || input.bodyTemplate.trim() === '')) {
    throw invalid('bodyTemplate', 'must be a non-empty Handlebars template');
  }
  if (input.active !== undefined && typeof input.active !== 'boolean') throw invalid('active', 'must be true or false');
  if (input.auth !== undefined) checkAuth(input.auth);
}

function checkAuth(auth: EndpointAuthInput): void {
  if (typeof auth !== 'object' || auth === null) throw invalid('auth', 'must be an object with a type');
  const optionalString = (value: unknown, field: string) => {
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw invalid(field, 'must be a non-empty string');
  };
  switch (auth.type) {
    case 'jwt':
    case 'none':
      return;
    case 'standard-webhooks':
      optionalString(auth.secret, 'auth.secret');
      if (auth.secret !== undefined && !/^(whsec_)?[A-Za-z0-9+/=_-]{16,}$/.test(auth.secret)) {
        throw invalid('auth.secret', 'must be a whsec_ secret (base64 of 24 to 64 bytes)');
      }
      return;
    case 'hmac':
      optionalString(auth.secret, 'auth.secret');
      if (typeof auth.header !== 'string' || !HEADER_NAME.test(auth.header)) throw invalid('auth.header', 'must be a header name');
      if (isReservedHeader(auth.header)) throw invalid('auth.header', 'is reserved: hookline sets it');
      if (auth.algorithm !== undefined && !HMAC_ALGORITHMS.includes(auth.algorithm)) throw invalid('auth.algorithm', 'must be sha1, sha256 or sha512');
      if (auth.encoding !== undefined && auth.encoding !== 'hex' && auth.encoding !== 'base64') throw invalid('auth.encoding', 'must be hex or base64');
      if (auth.prefix !== undefined && typeof auth.prefix !== 'string') throw invalid('auth.prefix', 'must be a string');
      optionalString(auth.content, 'auth.content');
      if (auth.content !== undefined && !auth.content.includes('{body}')) throw invalid('auth.content', 'must include {body}');
      if (auth.content?.includes('{timestamp}') && auth.timestampHeader === undefined) {
        throw invalid('auth.timestampHeader', 'is required when the signed content holds {timestamp}');
      }
      if (auth.timestampHeader !== undefined && (typeof auth.timestampHeader !== 'string' || !HEADER_NAME.test(auth.timestampHeader))) {
        throw invalid('auth.timestampHeader', 'must be a header name');
      }
      return;
    case 'bearer':
      if (typeof auth.token !== 'string' || auth.token === '' || /[\s]/.test(auth.token)) throw invalid('auth.token', 'must be a token without spaces');
      return;
    case 'basic':
      if (typeof auth.username !== 'string' || auth.username === '' || auth.username.includes(':')) throw invalid('auth.username', 'must be a non-empty string without ":"');
      if (typeof auth.password !== 'string' || auth.password === '') throw invalid('auth.password', 'must be a non-empty string');
      return;
    default:
      throw invalid('auth.type', 'must be jwt, standard-webhooks, hmac, bearer, basic or none');
  }
}

/**
 * The stored form of an auth input: secrets sealed with the box and a hint beside them. A generated
 * Standard Webhooks or HMAC secret comes back once as `secret`.
 */
export function sealAuth(auth: EndpointAuthInput, box: SecretBox): { stored: JsonObject & { type: string }; secret?: string } {
  switch (auth.type) {
    case 'jwt':
    case 'none':
      return { stored: { type: auth.type } };
    case 'standard-webhooks': {
      const secret = auth.secret ?? generateStandardSecret();
      const stored = { type: auth.type, secret: box.seal(secret), hint: secretHint(secret) };
      return auth.secret === undefined ? { stored, secret } : { stored };
    }
    case 'hmac': {
      const secret = auth.secret ?? randomBytes(32).toString('hex');
      const stored: JsonObject & { type: string } = {
        type: 'hmac', secret: box.seal(secret), hint: secretHint(secret), header: auth.header,
        algorithm: auth.algorithm ?? 'sha256', encoding: auth.encoding ?? 'hex', prefix: auth.prefix ?? '',
        content: auth.content ?? '{body}',
      };
      if (auth.timestampHeader !== undefined) stored['timestampHeader'] = auth.timestampHeader;
      return auth.secret === undefined ? { stored, secret } : { stored };
    }
    case 'bearer':
      return { stored: { type: 'bearer', token: box.seal(auth.token), hint: secretHint(auth.token) } };
    case 'basic':
      return { stored: { type: 'basic', username: auth.username, password: box.seal(auth.password), hint: secretHint(auth.password) } };
  }
}

const SEALED_FIELDS = new Set(['secret', 'token', 'password']);

/** The admin view of a stored endpoint: sealed fields dropped, hints kept. */
export function toEndpoint(record: EndpointRecord): Endpoint {
  const auth: Endpoint['auth'] = { type: record.auth.type as EndpointAuthInput['type'] };
  for (const [key, value] of Object.entries(record.auth)) {
    if (!SEALED_FIELDS.has(key)) auth[key] = value;
  }
  return { ...record, headers: { ...record.headers }, triggers: [...record.triggers], auth };
}

/** True when a patch's auth keeps the stored secret (same scheme, no new secret given). */
export function keepsStoredSecret(patch: EndpointAuthInput, stored: EndpointRecord['auth']): boolean {
  return (patch.type === 'standard-webhooks' || patch.type === 'hmac') && patch.secret === undefined && stored.type === patch.type;
}
