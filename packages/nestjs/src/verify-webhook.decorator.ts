import { SetMetadata, UseGuards, applyDecorators, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Verifier } from '@hookline/verifier';
import { VERIFY_WEBHOOK_METADATA } from './hookline.constants.js';
import { WebhookGuard } from './webhook.guard.js';

/** A verifier; the name of one registered in `forRoot({ verifiers })`; or a platform and its config for `createVerifier`. */
export type WebhookVerifierRef = { verifier: Verifier } | { name: string } | { platform: string; config: Record<string, unknown> };

/**
 * Verifies the requests of one route (or of every route of a controller) before the handler runs: a bad signature is
 * answered 401, a provider's challenge is answered for you, and the verified event is on `@Webhook()`.
 * Pass a verifier, the name of one in `HooklineModule.forRoot({ verifiers })` (secrets from configuration), or a
 * platform and its config (`@VerifyWebhook('github', { secret })`, built once with `createVerifier`).
 *
 * @example
 * ```ts
 * @Post('github')
 * @VerifyWebhook('github') // HooklineModule.forRoot({ hookline, verifiers: { github: github({ secret }) } })
 * onPush(@Webhook() event: VerifiedEvent) { return { received: event.id }; }
 * ```
 */
export function VerifyWebhook(verifier: Verifier | string, config?: Record<string, unknown>): MethodDecorator & ClassDecorator {
  const ref: WebhookVerifierRef = typeof verifier !== 'string' ? { verifier } : config ? { platform: verifier, config } : { name: verifier };
  return applyDecorators(SetMetadata(VERIFY_WEBHOOK_METADATA, ref), UseGuards(WebhookGuard));
}

/** The verified event of the current request (set by `WebhookGuard`). */
export const Webhook = createParamDecorator((_data: unknown, context: ExecutionContext) => context.switchToHttp().getRequest().webhook);
