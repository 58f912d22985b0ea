import { HooklineError, isHooklineError } from '@hookline/errors';
import { jwt, standardWebhooks, type Verifier, type WebhookRequest } from '@hookline/verifier';

/** What the mock concluded about a request's signature. */
export type Verification =
  | { scheme: 'none' }
  | { scheme: 'jwt' | 'standard-webhooks'; verified: true; claims?: Record<string, unknown> }
  | { scheme: 'jwt' | 'standard-webhooks'; verified: false; error: { code: string; message: string } };

export interface VerifierChoice {
  jwksUrl?: string;
  issuer?: string;
  standardWebhooksSecret?: string;
}

/** Builds the one check the mock applies to every webhook: JWT through a JWKS URL, Standard Webhooks, or none. */
export function createRequestVerifier(choice: VerifierChoice): (request: WebhookRequest) => Promise<Verification> {
  let scheme: 'jwt' | 'standard-webhooks';
  let verifier: Verifier;
  if (choice.jwksUrl !== undefined) {
    if (choice.issuer === undefined) throw new HooklineError('invalid_config', 'A JWKS URL needs the issuer (iss) to expect.');
    scheme = 'jwt';
    verifier = jwt({ jwks: choice.jwksUrl, issuer: choice.issuer });
  } else if (choice.standardWebhooksSecret !== undefined) {
    scheme = 'standard-webhooks';
    verifier = standardWebhooks({ secret: choice.standardWebhooksSecret });
  } else {
    return async () => ({ scheme: 'none' });
  }
  return async (request) => {
    try {
      const result = await verifier.verify(request);
      const claims = result.kind === 'event' ? result.claims : undefined;
      return { scheme, verified: true, ...(claims === undefined ? {} : { claims }) };
    } catch (error) {
      if (!isHooklineError(error)) throw error;
      return { scheme, verified: false, error: { code: error.code, message: error.message } };
    }
  };
}
