import { parsePayload } from '../lib/payload.js';
import type { Verifier, WebhookRequest } from '../types.js';
import {
  anyHmacMatches,
  assertOptionsObject,
  decodeHex,
  firstHeader,
  hasHeader,
  hmacKeys,
  malformedHeader,
  readRequest,
  rememberDelivery,
  resolveSettings,
  secretList,
  signatureMismatch,
  singleSignatureHeader,
  verifiedEvent,
  type PresetOptions,
  type SecretOptions,
} from './shared.js';

/** GitHub caps webhook payloads at 25 MB, so its default limit is larger than the others'. */
export const GITHUB_MAX_BODY_BYTES = 25 * 1024 * 1024;

export interface GithubVerifierOptions extends SecretOptions, PresetOptions {
  /** Accept the legacy SHA-1 `X-Hub-Signature` when `X-Hub-Signature-256` is absent (off by default). */
  acceptSha1?: boolean;
}

const SIGNATURE_256 = 'x-hub-signature-256';
const SIGNATURE_SHA1 = 'x-hub-signature';
const METADATA = ['x-github-event', 'x-github-hook-id', 'x-github-hook-installation-target-id', 'x-github-hook-installation-target-type'];

/**
 * Verifies GitHub webhooks: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. The delivery id is
 * `X-GitHub-Delivery`; `X-GitHub-Event` and the hook ids are unsigned and reported as `unverified`.
 *
 * @example
 * ```ts
 * const verifier = github({ secret: process.env.GITHUB_WEBHOOK_SECRET! });
 * const result = await verifier.verify({ method: 'POST', url: req.url, headers: req.headers, body: rawBody });
 * if (result.kind === 'event') console.log(result.unverified?.['x-github-event'], result.id);
 * ```
 */
export function github(options: GithubVerifierOptions): Verifier {
  assertOptionsObject(options, 'github');
  const keys = hmacKeys(secretList(options, 'github'));
  const settings = resolveSettings(options, 'github', { maxBodyBytes: GITHUB_MAX_BODY_BYTES });
  const acceptSha1 = options.acceptSha1 === true;

  return {
    name: 'github',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      const useSha1 = acceptSha1 && !hasHeader(headers, SIGNATURE_256) && hasHeader(headers, SIGNATURE_SHA1);
      const header = useSha1 ? SIGNATURE_SHA1 : SIGNATURE_256;
      const prefix = useSha1 ? 'sha1=' : 'sha256=';
      const value = singleSignatureHeader(headers, header);
      if (!value.startsWith(prefix)) throw malformedHeader(header, `${prefix}<hex>`);
      const signature = decodeHex(value.slice(prefix.length));
      if (signature === undefined) throw malformedHeader(header, `${prefix}<hex>`);
      if (!anyHmacMatches(useSha1 ? 'sha1' : 'sha256', keys, signature, rawBody)) throw signatureMismatch(header);

      const contentType = firstHeader(headers, 'content-type');
      const event = verifiedEvent({
        rawBody,
        contentType,
        id: firstHeader(headers, 'x-github-delivery'),
        headers,
        metadata: METADATA,
        parse: parseGithubPayload,
      });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}

/** GitHub's form content type carries the JSON in a `payload` field. */
function parseGithubPayload(rawBody: Uint8Array, contentType: string | undefined): unknown {
  const parsed = parsePayload(rawBody, contentType);
  if ((contentType ?? '').toLowerCase().includes('application/x-www-form-urlencoded')) {
    const field = (parsed as Record<string, string>)['payload'];
    if (field !== undefined) {
      try {
        return JSON.parse(field);
      } catch {
        return parsed;
      }
    }
  }
  return parsed;
}
