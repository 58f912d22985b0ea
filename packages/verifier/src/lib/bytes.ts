import { timingSafeEqual } from 'node:crypto';
import { HooklineError } from '@hookline/errors';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** The request body as bytes. Anything but bytes or a string is a parsed body, which can never be verified. */
export function bodyBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return encoder.encode(body);
  throw new HooklineError(
    'raw_body_unavailable',
    'The raw request body is needed to verify a signature, but a parsed body was given. Pass the exact bytes that arrived.',
  );
}

export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function toBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Concatenates byte arrays without copying more than once. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Constant-time equality after a length check (the length of a MAC is public). */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time equality of two strings, compared as UTF-8 bytes. */
export function safeEqualString(a: string, b: string): boolean {
  return safeEqual(encoder.encode(a), encoder.encode(b));
}

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/** Strict hex decoding: undefined for anything that is not an even-length hex string. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !HEX.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Base64 or base64url, padded or not; undefined for anything else. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text) || text.length % 4 === 1) return undefined;
  const normal = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  return new Uint8Array(Buffer.from(normal, 'base64'));
}
