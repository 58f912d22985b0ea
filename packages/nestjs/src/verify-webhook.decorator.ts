import { SetMetadata, UseGuards, applyDecorators, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Verifier } from '@hookline/verifier';
import { VERIFY_WEBHOOK_METADATA } from './hookline.constants.js';
import { WebhookGuard } from './webhook.guard.js';

/** A verifier, or the name of one registered in `HooklineModule.forRoot({ verifiers })`. */
export type WebhookVerifierRef = Verifier | string;

/**
 * Verifies the requests of one route (or of every route of a controller) before the handler runs: a bad signature is
 * answered 401, a provider's challenge is answered for you, and the verified event is on `@Webhook()`.
 *
 * @example
 * ```ts
 * @Post('github')
 * @VerifyWebhook('github') // HooklineModule.forRoot({ hookline, verifiers: { github: github({ secret }) } })
 * onPush(@Webhook() event: VerifiedEvent) { return { received: event.id }; }
 * ```
 */
export function VerifyWebhook(verifier: WebhookVerifierRef): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(VERIFY_WEBHOOK_METADATA, verifier), UseGuards(WebhookGuard));
}

/** The verified event of the current request (set by `WebhookGuard`). */
export const Webhook = createParamDecorator((_data: unknown, context: ExecutionContext) => context.switchToHttp().getRequest().webhook);
