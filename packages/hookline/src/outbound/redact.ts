/** What replaces a secret in history. */
export const REDACTED = '[redacted]';

// Header names that carry credentials whatever the endpoint's scheme; custom headers often hold API keys.
const SENSITIVE = /authorization|cookie|signature|secret|token|password|api[-_]?key|credential/i;

/** A copy of request headers fit for history: credentials, signatures and `extra` (the HMAC header) redacted. */
export function redactHeaders(headers: Record<string, string>, extra: readonly string[] = []): Record<string, string> {
  const lowerExtra = new Set(extra.map((name) => name.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = SENSITIVE.test(name) || lowerExtra.has(name.toLowerCase()) ? REDACTED : value;
  }
  return out;
}

// Every attempt records its URL and endpoints repeat: remember the answer per URL (bounded).
const redactedUrls = new Map<string, string>();

/** The URL with any `user:password@` removed. */
export function redactUrl(raw: string): string {
  let redacted = redactedUrls.get(raw);
  if (redacted === undefined) {
    redacted = stripCredentials(raw);
    if (redactedUrls.size >= 256) redactedUrls.clear();
    redactedUrls.set(raw, redacted);
  }
  return redacted;
}

function stripCredentials(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.username === '' && url.password === '') return raw;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return raw;
  }
}
