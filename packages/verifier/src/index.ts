export type {
  WebhookRequest, VerifiedEvent, ChallengeResponse, VerificationResult, Verifier, SeenIdStore, CommonVerifierOptions,
} from './types.js';
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE_SECONDS } from './types.js';
export { jwt } from './jwt.js';
export type { JwtVerifierOptions, JwtAlgorithm } from './jwt.js';
export { standardWebhooks } from './standard-webhooks.js';
export type { StandardWebhooksOptions } from './standard-webhooks.js';
export { hmac } from './hmac.js';
export type { HmacVerifierOptions } from './hmac.js';
export { MemorySeenIds, assertFirstDelivery } from './replay.js';
export * from './presets/index.js';
