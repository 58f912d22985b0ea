const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/**
 * Base64 or base64url, padded or not, decoded without an extra copy; undefined for anything else.
 * (node's base64 decoder reads both alphabets; the pattern keeps it from skipping stray characters.)
 */
export function base64Bytes(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}
