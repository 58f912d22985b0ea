const encoder = new TextEncoder();

/** Bytes of a body given as text or bytes; text is taken as UTF-8. */
export function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}

export function base64url(data: string | Uint8Array): string {
  return Buffer.from(toBytes(data)).toString('base64url');
}

export function base64(data: Uint8Array): string {
  return Buffer.from(data).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/** Base64 or base64url, padded or not; undefined for anything else. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text) || text.length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, ''), 'base64'));
}
