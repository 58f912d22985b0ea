import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
import { HooklineError } from '@hookline/errors';
import { safeEqual, utf8 } from '../lib/bytes.js';
import type { Verifier, WebhookRequest } from '../types.js';
import {
  anyHmacMatches,
  assertOptionsObject,
  decodeBase64,
  decodeHex,
  firstHeader,
  hmacKeys,
  malformedHeader,
  readRequest,
  rememberDelivery,
  resolveSettings,
  secretList,
  sha256,
  signatureMismatch,
  singleSignatureHeader,
  verifiedEvent,
  type PresetOptions,
  type SecretOptions,
} from './shared.js';

export interface TwilioVerifierOptions extends SecretOptions, PresetOptions {
  /**
   * The public URL Twilio calls, never taken from the Host header (a proxy rewrites it, an attacker chooses it).
   * An origin (`https://hooks.example.com`) is joined with the request's path and query; a URL with a path
   * (`https://example.com/in/src_1`) is the endpoint itself, given the request's query. Or a function returning the
   * full URL Twilio called.
   */
  publicUrl: string | ((request: WebhookRequest) => string);
}

const HEADER = 'x-twilio-signature';
const FORM = 'application/x-www-form-urlencoded';

/**
 * Verifies Twilio webhooks: `X-Twilio-Signature` is the base64 HMAC-SHA1 (auth token as key) of the full public URL
 * followed by each POST form parameter, sorted by name, as name + value. A JSON body is covered instead through the
 * URL's `bodySHA256` parameter (hex SHA-256 of the body). The URL is tried as given, with and without its default
 * port, and normalised, as twilio-node's `validateRequest` does. The delivery id is `I-Twilio-Idempotency-Token`.
 *
 * @example
 * ```ts
 * const verifier = twilio({ secret: process.env.TWILIO_AUTH_TOKEN!, publicUrl: 'https://hooks.example.com' });
 * await verifier.verify({ method: 'POST', url: '/in/sms?x=1', headers: req.headers, body: rawBody });
 * ```
 */
export function twilio(options: TwilioVerifierOptions): Verifier {
  assertOptionsObject(options, 'twilio');
  const keys = hmacKeys(secretList(options, 'twilio'));
  const settings = resolveSettings(options, 'twilio');
  const publicUrl = options.publicUrl;
  if (typeof publicUrl !== 'function' && !isAbsoluteUrl(publicUrl)) {
    throw new HooklineError('invalid_source', 'publicUrl of the twilio verifier must be an absolute http(s) URL or a function.', {
      details: { field: 'publicUrl' },
    });
  }

  return {
    name: 'twilio',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      const value = singleSignatureHeader(headers, HEADER);
      const signature = decodeBase64(value);
      if (signature === undefined) throw malformedHeader(HEADER, 'base64');
      const url = signedUrl(publicUrl, request);
      const contentType = firstHeader(headers, 'content-type');
      const bodyHash = bodySha256Of(url);

      let params = '';
      if (bodyHash !== undefined) {
        const expected = decodeHex(bodyHash);
        if (expected === undefined || !safeEqual(sha256(rawBody), expected)) throw signatureMismatch(HEADER);
      } else if ((contentType ?? '').toLowerCase().includes(FORM)) {
        params = sortedParams(utf8(rawBody));
      } else if (rawBody.byteLength > 0) {
        // Without bodySHA256 nothing signs a non-form body: accepting it would accept any bytes.
        throw new HooklineError('unsupported_media_type', 'A Twilio request body that is neither a form nor covered by bodySHA256 cannot be verified.');
      }

      let matches = false;
      for (const candidate of candidateUrls(url)) {
        if (anyHmacMatches('sha1', keys, signature, candidate, params)) {
          matches = true;
          break;
        }
      }
      if (!matches) throw signatureMismatch(HEADER);

      const event = verifiedEvent({ rawBody, contentType, id: firstHeader(headers, 'i-twilio-idempotency-token') });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}

function isAbsoluteUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * The URL Twilio signed: an origin-only publicUrl is joined with the request's path and query; a publicUrl with a
 * path is the endpoint itself, given the request's query when it has none of its own (as the jwt verifier reads it).
 */
function signedUrl(publicUrl: TwilioVerifierOptions['publicUrl'], request: WebhookRequest): string {
  if (typeof publicUrl === 'function') {
    const url = publicUrl(request);
    if (typeof url !== 'string') throw new HooklineError('invalid_source', 'publicUrl of the twilio verifier returned no URL.', { details: { field: 'publicUrl' } });
    return url;
  }
  const target = pathAndQueryOf(typeof request.url === 'string' ? request.url : '');
  const base = splitUrl(publicUrl)!;
  if (base.rest === '' || base.rest === '/') {
    return publicUrl.slice(0, publicUrl.length - base.rest.length) + (target.startsWith('/') ? target : `/${target}`);
  }
  if (base.rest.includes('?')) return publicUrl;
  const query = target.indexOf('?');
  return query === -1 ? publicUrl : publicUrl + target.slice(query);
}

/** The path and query of a request target: `/a?b` from `/a?b` or from `https://host/a?b`. */
function pathAndQueryOf(target: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  const rest = scheme === null ? target : target.slice(scheme[0].length);
  const hash = rest.indexOf('#');
  return hash === -1 ? rest : rest.slice(0, hash);
}

function bodySha256Of(url: string): string | undefined {
  const start = url.indexOf('?');
  if (start === -1 || !url.includes('bodySHA256', start)) return undefined;
  return new URLSearchParams(url.slice(start + 1)).get('bodySHA256') ?? undefined;
}

/** Form parameters sorted by name, each as name + value; a repeated name's distinct values sorted (twilio-node). */
function sortedParams(form: string): string {
  const pairs = formPairs(form);
  pairs.sort(comparePairs);
  let out = '';
  let previous: [string, string] | undefined;
  for (const pair of pairs) {
    if (previous !== undefined && previous[0] === pair[0] && previous[1] === pair[1]) continue;
    out += pair[0] + pair[1];
    previous = pair;
  }
  return out;
}

function comparePairs(a: [string, string], b: [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}

/**
 * The decoded name/value pairs of a form body. Well-formed bodies take a fast path through decodeURIComponent;
 * anything it refuses (a stray `%`, bytes that are not UTF-8) is decoded by URLSearchParams, whose rules Twilio's
 * own parsing follows.
 */
function formPairs(form: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const segment of form.split('&')) {
    if (segment === '') continue;
    const equals = segment.indexOf('=');
    const name = decodeFormComponent(equals === -1 ? segment : segment.slice(0, equals));
    const value = equals === -1 ? '' : decodeFormComponent(segment.slice(equals + 1));
    if (name === undefined || value === undefined) return [...new URLSearchParams(form)];
    pairs.push([name, value]);
  }
  return pairs;
}

function decodeFormComponent(text: string): string | undefined {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return undefined;
  }
}

interface UrlParts {
  scheme: string;
  userInfo: string;
  host: string;
  port: string;
  rest: string;
}

function splitUrl(url: string): UrlParts | undefined {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (match === null) return undefined;
  const authority = match[2]!;
  const userInfoEnd = authority.lastIndexOf('@');
  const hostAndPort = authority.slice(userInfoEnd + 1);
  // After an IPv6 literal's closing bracket only, a colon starts the port.
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  return {
    scheme: match[1]!,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? '' : hostAndPort.slice(portStart),
    rest: url.slice(match[0].length),
  };
}

function withoutPort(url: string): string {
  const parts = splitUrl(url);
  return parts === undefined ? url : parts.scheme + parts.userInfo + parts.host + parts.rest;
}

function withPort(url: string): string {
  const parts = splitUrl(url);
  if (parts === undefined || parts.port !== '') return url;
  const port = parts.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

/** The query re-encoded the way Node's legacy querystring module does, which some Twilio back ends signed. */
function withLegacyQuery(url: string): string {
  const start = url.indexOf('?');
  if (start === -1 || start === url.length - 1) return url;
  return `${url.slice(0, start)}?${stringifyQuery(parseQuery(url.slice(start + 1)))}`;
}

/** The URLs twilio-node accepts for one request, cheapest first: as received with and without port, then normalised. */
function* candidateUrls(url: string): Generator<string> {
  const bare = withoutPort(url);
  yield bare;
  const ported = withPort(url);
  if (ported !== bare) yield ported;
  let normalised: string;
  try {
    normalised = new URL(url).toString();
  } catch {
    return;
  }
  const seen = new Set([bare, ported]);
  const normalBare = withoutPort(normalised);
  const normalPorted = withPort(normalised);
  for (const candidate of [normalBare, normalPorted, withLegacyQuery(normalBare), withLegacyQuery(normalPorted)]) {
    if (seen.has(candidate)) continue;
    seen.add(candidate);
    yield candidate;
  }
}
