import { HooklineError, isHooklineError } from '@hookline/errors';
import { hmac, type HmacVerifierOptions } from '../hmac.js';
import { jwt, type JwtVerifierOptions } from '../jwt.js';
import { standardWebhooks, type StandardWebhooksOptions } from '../standard-webhooks.js';
import type { CommonVerifierOptions, Verifier, WebhookRequest } from '../types.js';
import { github } from './github.js';
import { header } from './header.js';
import { meta } from './meta.js';
import { pagerduty } from './pagerduty.js';
import { sendgrid } from './sendgrid.js';
import { secretList, type PresetOptions } from './shared.js';
import { shopify } from './shopify.js';
import { slack } from './slack.js';
import { stripe } from './stripe.js';
import { twilio } from './twilio.js';
import { x } from './x.js';
import { zendesk } from './zendesk.js';

/** Every platform an inbound source can name, in the order the product lists them. */
export const PLATFORMS = [
  'github',
  'slack',
  'stripe',
  'twilio',
  'pagerduty',
  'zendesk',
  'sendgrid',
  'shopify',
  'x',
  'meta',
  'standard-webhooks',
  'jwt',
  'header',
  'hmac',
] as const;

export type Platform = (typeof PLATFORMS)[number];

type Config = Record<string, unknown>;

const FACTORIES: Record<Platform, (config: Config) => Verifier> = {
  github: (config) => github(config),
  slack: (config) => slack(config),
  stripe: (config) => stripe(config),
  twilio: (config) => twilio(config as Config & { publicUrl: string }),
  pagerduty: (config) => pagerduty(config),
  zendesk: (config) => zendesk(config),
  sendgrid: (config) => sendgrid(config),
  shopify: (config) => shopify(config),
  x: (config) => x(config),
  meta: (config) => meta(config),
  header: (config) => header(config),
  'standard-webhooks': (config) => {
    if (['secret', 'secrets', 'publicKey', 'publicKeys'].every((field) => config[field] === undefined)) {
      throw invalidSource('secret', 'The standard-webhooks verifier needs secret(s) (whsec_...) or publicKey(s) (whpk_...).');
    }
    return standardWebhooks(config as StandardWebhooksOptions);
  },
  jwt: (config) => {
    if (config['jwks'] === undefined) throw invalidSource('jwks', 'The jwt verifier needs jwks: the sender\'s JWKS URL or key set.');
    if (config['issuer'] === undefined) throw invalidSource('issuer', 'The jwt verifier needs issuer: the expected iss.');
    return jwt(config as unknown as JwtVerifierOptions);
  },
  hmac: (config) => {
    // The source form says `secret` like every other platform; the hmac verifier takes a list.
    const secrets = secretList(config, 'hmac');
    const { secret: _secret, ...rest } = config;
    return hmac({ ...rest, secrets } as unknown as HmacVerifierOptions);
  },
};

/** What the process gives every source's verifier, besides the source's own configuration. */
export interface SharedVerifierOptions extends CommonVerifierOptions, PresetOptions {
  /** For the platforms that sign the URL (`twilio`, `jwt`): the URL the sender was given, when the source has none. */
  publicUrl?: string | ((request: WebhookRequest) => string);
}

/**
 * True when `value` is one of {@link PLATFORMS}.
 *
 * @example
 * ```ts
 * isPlatform('stripe'); // true
 * isPlatform('gitlab'); // false
 * ```
 */
export function isPlatform(value: unknown): value is Platform {
  return typeof value === 'string' && (PLATFORMS as readonly string[]).includes(value);
}

/**
 * Builds the verifier for an inbound source from its stored configuration: `platform` picks the preset, `config`
 * holds what the admin typed (secrets, keys, public URL, limits), and `shared` what the process provides (the
 * seen-ids store, a clock). Fields in `config` win over `shared`. A missing or malformed field is `invalid_source`
 * with `details.field` naming it; no secret ever appears in the message.
 *
 * @example
 * ```ts
 * const verifier = createVerifier('github', { secret: 'It\'s a Secret to Everybody' }, { seenIds: new MemorySeenIds() });
 * await verifier.verify({ method: 'POST', url: '/in/src_1', headers, body: rawBody });
 * ```
 */
export function createVerifier(platform: Platform | string, config: unknown, shared: SharedVerifierOptions = {}): Verifier {
  if (!isPlatform(platform)) {
    throw new HooklineError('invalid_source', `Unknown platform; expected one of ${PLATFORMS.join(', ')}.`, { details: { field: 'platform' } });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw invalidSource('config', `The ${platform} source needs a configuration object.`);
  }
  const merged: Config = { ...shared, ...(config as Config) };
  try {
    return FACTORIES[platform](merged);
  } catch (error) {
    if (isHooklineError(error) && error.code === 'invalid_source') throw error;
    // The foundation verifiers speak of configuration; for a stored source the same fault is a bad source.
    const field = isHooklineError(error) && typeof error.details?.['field'] === 'string' ? error.details['field'] : 'config';
    const message = isHooklineError(error) ? error.message : `The ${platform} source configuration is not valid.`;
    throw new HooklineError('invalid_source', message, { details: { field }, cause: error });
  }
}

function invalidSource(field: string, message: string): HooklineError {
  return new HooklineError('invalid_source', message, { details: { field } });
}
