import { utf8 } from '../lib/bytes.js';
import { assertWithinTolerance, parseUnixSeconds } from '../lib/time.js';
import type { Verifier, WebhookRequest } from '../types.js';
import {
  anyHmacMatches,
  assertOptionsObject,
  challenge,
  decodeHex,
  firstHeader,
  hmacKeys,
  malformedHeader,
  readRequest,
  rememberDelivery,
  requireOne,
  resolveSettings,
  secretList,
  signatureMismatch,
  singleSignatureHeader,
  stringField,
  verifiedEvent,
  type PresetOptions,
  type SecretOptions,
} from './shared.js';

/** The app's Signing Secret (Basic Information > App Credentials); several while rotating. */
export interface SlackVerifierOptions extends SecretOptions, PresetOptions {}

const SIGNATURE = 'x-slack-signature';
const TIMESTAMP = 'x-slack-request-timestamp';
const METADATA = ['x-slack-retry-num', 'x-slack-retry-reason'];
const URL_VERIFICATION = Buffer.from('url_verification');
const SSL_CHECK = Buffer.from('ssl_check=');

/**
 * Verifies Slack requests: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` with
 * `X-Slack-Request-Timestamp` within 300 s. Only a request whose signature checks is looked at further: an Events API
 * `url_verification` is answered with `{"challenge": ...}`, and a slash command's `ssl_check=1` with an empty 200.
 * The delivery id is the Events API `event_id`.
 *
 * @example
 * ```ts
 * const verifier = slack({ secret: process.env.SLACK_SIGNING_SECRET! });
 * const result = await verifier.verify(request);
 * if (result.kind === 'challenge') return result.response; // send it back as is
 * ```
 */
export function slack(options: SlackVerifierOptions): Verifier {
  assertOptionsObject(options, 'slack');
  const keys = hmacKeys(secretList(options, 'slack'));
  const settings = resolveSettings(options, 'slack');

  return {
    name: 'slack',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      const timestamp = requireOne(headers, TIMESTAMP);
      const value = singleSignatureHeader(headers, SIGNATURE);
      const seconds = parseUnixSeconds(timestamp, TIMESTAMP);
      assertWithinTolerance(seconds, settings.now(), settings.toleranceSeconds, TIMESTAMP);
      if (!value.startsWith('v0=')) throw malformedHeader(SIGNATURE, 'v0=<hex>');
      const signature = decodeHex(value.slice(3));
      if (signature === undefined) throw malformedHeader(SIGNATURE, 'v0=<hex>');
      if (!anyHmacMatches('sha256', keys, signature, `v0:${timestamp}:`, rawBody)) throw signatureMismatch(SIGNATURE);

      // Only signed requests reach the handshakes: a forged url_verification gets nothing back.
      const contentType = firstHeader(headers, 'content-type');
      const body = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
      const isForm = (contentType ?? '').toLowerCase().includes('application/x-www-form-urlencoded');
      if (!isForm && body.includes(URL_VERIFICATION)) {
        const parsed = parseJson(rawBody);
        const token = stringField(parsed, 'challenge');
        if (stringField(parsed, 'type') === 'url_verification' && token !== undefined) {
          return challenge(JSON.stringify({ challenge: token }), 'application/json');
        }
      }
      if (isForm && body.includes(SSL_CHECK) && new URLSearchParams(utf8(rawBody)).get('ssl_check') === '1') {
        return challenge('', 'text/plain');
      }

      const event = verifiedEvent({
        rawBody,
        contentType,
        idFromPayload: (payload) => stringField(payload, 'event_id'),
        timestamp: seconds,
        headers,
        metadata: METADATA,
      });
      if (settings.seenIds !== undefined) await rememberDelivery(settings, event);
      return event;
    },
  };
}

function parseJson(rawBody: Uint8Array): unknown {
  try {
    return JSON.parse(utf8(rawBody));
  } catch {
    return undefined;
  }
}
