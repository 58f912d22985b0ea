import { timingSafeEqual } from 'node:crypto';
import { HooklineError } from '@hookline/errors';
import type { Verifier, WebhookRequest } from '../types.js';
import {
  assertOptionsObject,
  firstHeader,
  readRequest,
  requireOne,
  resolveSettings,
  secretList,
  sha256,
  stringList,
  verifiedEvent,
  type PresetOptions,
  type SecretOptions,
} from './shared.js';

export interface HeaderVerifierOptions extends SecretOptions, PresetOptions {
  /** One header to check (with `secret` or `secrets` as its accepted values), e.g. `x-api-key`. */
  name?: string;
  /** Several headers, each with its accepted value or values; every one must be present and match. */
  headers?: Record<string, string | readonly string[]>;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Verifies a request by static header values, for senders that can only add a fixed header (a shared token, an API
 * key): every configured header must be present exactly once with one of its configured values. Values are compared
 * as SHA-256 digests in constant time, so neither a value nor its length leaks through timing.
 *
 * @example
 * ```ts
 * const verifier = header({ name: 'x-api-key', secrets: [process.env.NEW_KEY!, process.env.OLD_KEY!] });
 * const result = await verifier.verify(request); // unauthorized unless x-api-key matches one of them
 * ```
 */
export function header(options: HeaderVerifierOptions): Verifier {
  assertOptionsObject(options, 'header');
  const rules = headerRules(options);
  const settings = resolveSettings(options, 'header');

  return {
    name: 'header',
    maxBodyBytes: settings.maxBodyBytes,
    async verify(request: WebhookRequest) {
      const { rawBody, headers } = readRequest(request, settings.maxBodyBytes);
      for (const rule of rules) {
        const given = sha256(requireOne(headers, rule.name));
        let matches = false;
        for (const digest of rule.digests) if (timingSafeEqual(given, digest)) matches = true;
        if (!matches) {
          throw new HooklineError('unauthorized', `The ${rule.name} header does not hold an accepted value.`, { details: { header: rule.name } });
        }
      }
      return verifiedEvent({ rawBody, contentType: firstHeader(headers, 'content-type') });
    },
  };
}

interface HeaderRule {
  name: string;
  digests: Buffer[];
}

function headerRules(options: HeaderVerifierOptions & Record<string, unknown>): HeaderRule[] {
  const invalid = (field: string, message: string) => new HooklineError('invalid_source', message, { details: { field } });
  const rules: HeaderRule[] = [];
  if (options.name !== undefined) {
    if (typeof options.name !== 'string' || !HEADER_NAME.test(options.name)) throw invalid('name', 'name of the header verifier must be a header name.');
    rules.push({ name: options.name.toLowerCase(), digests: secretList(options, 'header').map((value) => sha256(value)) });
  } else if (options.secret !== undefined || options.secrets !== undefined) {
    throw invalid('name', 'The header verifier needs the header name that carries the secret.');
  }
  if (options.headers !== undefined) {
    if (typeof options.headers !== 'object' || options.headers === null || Array.isArray(options.headers)) {
      throw invalid('headers', 'headers of the header verifier must map header names to values.');
    }
    for (const [name, values] of Object.entries(options.headers)) {
      if (!HEADER_NAME.test(name)) throw invalid(`headers.${name}`, 'headers of the header verifier must be keyed by header names.');
      const lower = name.toLowerCase();
      if (rules.some((rule) => rule.name === lower)) throw invalid(`headers.${name}`, `The ${lower} header is configured twice.`);
      rules.push({ name: lower, digests: stringList(values, `headers.${name}`, 'header').map((value) => sha256(value)) });
    }
  }
  if (rules.length === 0) throw invalid('headers', 'The header verifier needs name with secret(s), or headers.');
  return rules;
}
