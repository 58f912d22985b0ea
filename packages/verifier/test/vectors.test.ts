// Every known-answer vector of ../shared/vectors/providers.json, through the platform registry, at the vector's `now`.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isHooklineError } from '@hookline/errors';
import { describe, expect, it } from 'vitest';
import { createVerifier, PLATFORMS, type VerificationResult, type WebhookRequest } from '../src/index.js';

interface Vector {
  provider: string;
  source: string;
  secret?: string;
  publicKey?: string;
  verifyToken?: string;
  now?: number;
  method?: string;
  url?: string;
  contentType?: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  challengeBody?: string;
  headers?: Record<string, string>;
  valid?: boolean;
  challengeResponse?: unknown;
}

const file = new URL('../../../../shared/vectors/providers.json', import.meta.url);
const { vectors } = JSON.parse(readFileSync(file, 'utf8')) as { vectors: Vector[] };

/** The clock a vector is verified at: its `now`, else the signed timestamp it carries (the scheme's freshness is not what it tests). */
function clockFor(vector: Vector): () => number {
  const signedAt = vector.headers?.['x-twilio-email-event-webhook-timestamp'];
  const seconds = vector.now ?? (signedAt === undefined ? undefined : Number(signedAt));
  return seconds === undefined ? Date.now : () => seconds * 1000;
}

function configFor(vector: Vector): Record<string, unknown> {
  switch (vector.provider) {
    case 'sendgrid':
      return { publicKey: vector.publicKey };
    case 'twilio':
      return { secret: vector.secret, publicUrl: new URL(vector.url!).origin };
    case 'meta':
      return { secret: 'app-secret-not-part-of-the-vector', verifyToken: vector.verifyToken };
    default:
      return { secret: vector.secret };
  }
}

function requestFor(vector: Vector): WebhookRequest {
  const headers: Record<string, string> = { ...vector.headers };
  if (vector.contentType !== undefined) headers['content-type'] = vector.contentType;
  if (vector.query !== undefined) {
    return { method: vector.method ?? 'GET', url: `/in/source?${new URLSearchParams(vector.query)}`, headers, body: '' };
  }
  if (vector.provider === 'twilio') {
    const url = new URL(vector.url!);
    const body = vector.params === undefined ? vector.body! : new URLSearchParams(vector.params).toString();
    return { method: 'POST', url: url.pathname + url.search, headers, body };
  }
  return { method: vector.method ?? 'POST', url: '/in/source', headers, body: vector.body ?? '' };
}

/** A signed timestamp outside the 300 s window explains a failure before the signature is looked at. */
function expectedFailure(vector: Vector): string {
  const signedAt = vector.headers?.['x-slack-request-timestamp'] ?? vector.headers?.['webhook-timestamp'];
  if (vector.now !== undefined && signedAt !== undefined && Math.abs(vector.now - Number(signedAt)) > 300) return 'timestamp_out_of_window';
  return 'signature_mismatch';
}

async function outcome(promise: Promise<VerificationResult>): Promise<VerificationResult | string> {
  try {
    return await promise;
  } catch (error) {
    if (isHooklineError(error)) return error.code;
    throw error;
  }
}

const signatureVectors = vectors.filter((v) => v.valid !== undefined);
const challengeVectors = vectors.filter((v) => v.valid === undefined);

describe('provider vectors', () => {
  it('runs every vector of the file: each names a platform and is either signed or a challenge this file answers', () => {
    for (const vector of vectors) expect(PLATFORMS).toContain(vector.provider);
    const answered = challengeVectors.filter((v) => v.query !== undefined || v.challengeBody !== undefined);
    expect(signatureVectors.length + answered.length).toBe(vectors.length);
  });

  it.each(signatureVectors.map((v) => [`${v.provider}: ${v.source}`, v] as const))('%s', async (_name, vector) => {
    const verifier = createVerifier(vector.provider, configFor(vector), { now: clockFor(vector) });
    const result = await outcome(verifier.verify(requestFor(vector)));
    if (vector.valid) {
      expect(result).toMatchObject({ kind: 'event' });
      const event = result as Extract<VerificationResult, { kind: 'event' }>;
      const sentBody = requestFor(vector).body;
      expect(Buffer.from(event.rawBody).toString('utf8')).toBe(sentBody);
    } else {
      expect(result).toBe(expectedFailure(vector));
    }
  });

  it.each(challengeVectors.filter((v) => v.query !== undefined).map((v) => [`${v.provider}: ${v.source}`, v] as const))(
    '%s',
    async (_name, vector) => {
      const verifier = createVerifier(vector.provider, configFor(vector));
      const result = await verifier.verify(requestFor(vector));
      expect(result.kind).toBe('challenge');
      if (result.kind !== 'challenge') return;
      expect(result.response.status).toBe(200);
      const expected = typeof vector.challengeResponse === 'string' ? vector.challengeResponse : JSON.stringify(vector.challengeResponse);
      expect(result.response.body).toBe(expected);
    },
  );

  it('slack: answers the url_verification vector with its challenge once the request is signed', async () => {
    const vector = challengeVectors.find((v) => v.provider === 'slack' && v.challengeBody !== undefined)!;
    const secret = 'slack-signing-secret-for-the-vector';
    const timestamp = '1700000000';
    const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${vector.challengeBody}`).digest('hex')}`;
    const verifier = createVerifier('slack', { secret }, { now: () => Number(timestamp) * 1000 });
    const request = {
      method: 'POST',
      url: '/in/slack',
      headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature },
      body: vector.challengeBody!,
    };
    const result = await verifier.verify(request);
    expect(result).toEqual({
      kind: 'challenge',
      response: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(vector.challengeResponse) },
    });
    const unsigned = { ...request, headers: { ...request.headers, 'x-slack-signature': `v0=${'0'.repeat(64)}` } };
    expect(await outcome(verifier.verify(unsigned))).toBe('signature_mismatch');
  });
});
