export type {
  WebhookRequest, VerifiedEvent, ChallengeResponse, VerificationResult, Verifier, SeenIdStore, CommonVerifierOptions,
} from './types.js';
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE_SECONDS } from './types.js';
export * from './presets/index.js';
