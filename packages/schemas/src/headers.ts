/**
 * Header names an endpoint may not set, compared case-insensitively. hookline sets them on every request (framing,
 * content, identity), or a signing scheme does (`authorization` for jwt, bearer and basic; `webhook-*` for Standard
 * Webhooks). Static credentials go in `auth` (`bearer`, `basic`), where they are encrypted at rest and redacted
 * from history, never in plain headers.
 */
export const RESERVED_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'host',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);

/** Header name prefixes reserved the same way: `webhook-id`, `webhook-timestamp`, `webhook-signature`, ... */
export const RESERVED_HEADER_PREFIXES: readonly string[] = Object.freeze(['webhook-', 'x-hookline-']);

/**
 * True when an endpoint may not set `name` (case-insensitive).
 *
 * @example
 * ```ts
 * isReservedHeader('Content-Type');   // true
 * isReservedHeader('Webhook-Id');     // true
 * isReservedHeader('X-Team');         // false
 * ```
 */
export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_HEADERS.includes(lower) || RESERVED_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/** `authorization` -> `[aA][uU]…`: JSON Schema patterns have no case-insensitive flag. */
function anyCase(text: string): string {
  return [...text].map((ch) => (/[a-z]/.test(ch) ? `[${ch}${ch.toUpperCase()}]` : ch)).join('');
}

/** The reserved names as one JSON Schema pattern. */
export const RESERVED_HEADER_PATTERN = `^(?:${RESERVED_HEADERS.map(anyCase).join('|')})$|^(?:${RESERVED_HEADER_PREFIXES.map(anyCase).join('|')})`;

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$";

/**
 * The destination policy an endpoint URL meets by default: https, no custom port, no credentials in the URL.
 * The schema only checks that the URL is a URI; the dispatcher applies this policy (dev mode allows http and ports).
 * Returns the problem, or undefined when the URL is acceptable.
 *
 * @example
 * ```ts
 * endpointUrlProblem('https://hooks.example.com/in');                          // undefined
 * endpointUrlProblem('http://localhost:4000/hook');                            // 'must use https'
 * endpointUrlProblem('http://localhost:4000/hook', { allowHttp: true });       // undefined
 * ```
 */
export function endpointUrlProblem(
  url: string,
  options: { allowHttp?: boolean; allowCustomPort?: boolean } = {},
): string | undefined {
  const allowHttp = options.allowHttp ?? false;
  const allowCustomPort = options.allowCustomPort ?? allowHttp;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  if (parsed.protocol !== 'https:' && !(allowHttp && parsed.protocol === 'http:')) {
    return allowHttp ? 'must use https or http' : 'must use https';
  }
  if (parsed.username !== '' || parsed.password !== '') return 'must not contain credentials; use auth instead';
  if (parsed.port !== '' && !allowCustomPort) return 'must not use a custom port';
  if (parsed.hostname === '') return 'must name a host';
  return undefined;
}
