import type { IncomingMessage } from 'node:http';
import { fail } from '@hookline/errors';
import { RAW_BODY_HINT } from './hookline.constants.js';

/** The request as the Express platform hands it over (`RawBodyRequest` when the app was created with `rawBody: true`). */
export type PlatformRequest = IncomingMessage & { rawBody?: Uint8Array; originalUrl?: string; params?: Record<string, unknown> };

/** The exact body bytes: NestJS's `rawBody` when its parser ran, else the unread stream, never a re-serialised body. */
export async function readRawBody(request: PlatformRequest, limit: number): Promise<Uint8Array> {
  const body = request.rawBody instanceof Uint8Array ? request.rawBody : await readStream(request, limit);
  if (body.byteLength > limit) throw tooLarge(limit);
  return body;
}

async function readStream(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return new Uint8Array(0);
  // A parser read the stream without keeping `rawBody`: nothing exact is left to verify.
  if (request.readableEnded) throw fail('raw_body_unavailable', `The body was parsed before hookline could read its exact bytes. ${RAW_BODY_HINT}`);
  if (Number(request.headers['content-length']) > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number) {
  return fail('payload_too_large', `The request body is larger than ${limit} bytes.`, { limitBytes: limit });
}
