import type { ServerResponse } from 'node:http';
import { HttpException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { fail, isHooklineError, type HooklineError } from '@hookline/errors';
import type { ChallengeResponse, Verifier, VerifiedEvent } from '@hookline/verifier';
import { HOOKLINE_RESOLVED_OPTIONS, VERIFY_WEBHOOK_METADATA } from './hookline.constants.js';
import type { ResolvedHooklineOptions } from './hookline-options.interface.js';
import { readRawBody, type PlatformRequest } from './raw-body.js';
import type { WebhookVerifierRef } from './verify-webhook.decorator.js';

/**
 * Verifies an inbound webhook on the app's own routes, as `@VerifyWebhook()` configures it. The protected methods are
 * the places to change one step (where the verifier comes from, how a rejection is answered) by extending the guard.
 */
@Injectable()
export class WebhookGuard implements CanActivate {
  constructor(
    @Inject(Reflector) protected readonly reflector: Reflector,
    @Inject(HOOKLINE_RESOLVED_OPTIONS) protected readonly options: ResolvedHooklineOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<PlatformRequest & { webhook?: VerifiedEvent }>();
    try {
      const verifier = this.getVerifier(context);
      const body = await readRawBody(request, verifier.maxBodyBytes);
      const result = await verifier.verify({ method: request.method ?? 'POST', url: request.originalUrl ?? request.url ?? '/', headers: request.headers, body });
      if (result.kind === 'challenge') return this.answerChallenge(context, result);
      request.webhook = result;
      return true;
    } catch (error) {
      if (!isHooklineError(error)) throw error;
      throw this.rejection(error);
    }
  }

  /** The verifier of the handler, or of its controller; a name refers to `forRoot({ verifiers })`. */
  protected getVerifier(context: ExecutionContext): Verifier {
    const ref = this.reflector.getAllAndOverride<WebhookVerifierRef | undefined>(VERIFY_WEBHOOK_METADATA, [context.getHandler(), context.getClass()]);
    const verifier = typeof ref === 'string' ? this.options.verifiers[ref] : ref;
    if (!verifier) throw fail('invalid_config', `No webhook verifier ${typeof ref === 'string' ? `named "${ref}" in HooklineModule.forRoot({ verifiers })` : 'set with @VerifyWebhook()'}.`);
    return verifier;
  }

  /** Writes the provider's handshake answer and stops the request before the handler. */
  protected answerChallenge(context: ExecutionContext, challenge: ChallengeResponse): false {
    const res = context.switchToHttp().getResponse<ServerResponse>();
    res.statusCode = challenge.response.status;
    for (const [name, value] of Object.entries(challenge.response.headers)) res.setHeader(name, value);
    res.end(challenge.response.body);
    return false;
  }

  /** Turns a verification failure into the HTTP answer: hookline's `{ error: { code, message } }` with its status. */
  protected rejection(error: HooklineError): Error {
    return new HttpException(error.toJSON(), error.status, { cause: error });
  }
}
