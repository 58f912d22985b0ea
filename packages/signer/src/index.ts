export { generateSigningKey, exportSigningKey, importSigningKey, SIGNING_ALGORITHMS } from './keys.js';
export type { SigningAlgorithm, SigningKey, PublicJwk, PrivateJwk } from './keys.js';
export { createJwtSigner } from './jwt.js';
export type { JwtSigner, JwtSignerOptions, JwtSignRequest, SigningKeyEntry, SigningKeyStatus, PublicJwks } from './jwt.js';
export { createStandardSigner, generateStandardSecret, standardPublicKey } from './standard-webhooks.js';
export type { StandardSigner, StandardSignerOptions, StandardSignRequest } from './standard-webhooks.js';
export { createHmacSigner } from './hmac.js';
export type { HmacScheme, HmacSigner, HmacSignRequest } from './hmac.js';
