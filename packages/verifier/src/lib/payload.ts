import { utf8 } from './bytes.js';

/** The verified body as the app wants it: JSON parsed, forms as fields, anything else as text. Never throws. */
export function parsePayload(raw: Uint8Array, contentType?: string): unknown {
  const text = utf8(raw);
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
