import type { ServerResponse } from 'node:http';
import { HttpException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { fail, isHooklineError, type HooklineError } from '@hookline/errors';
import { createVerifier, type ChallengeResponse, type Verifier, type VerifiedEvent } from '@hookline/verifier';
import type { Hookline } from 'hookline';
import { HOOKLINE, HOOKLINE_RESOLVED_OPTIONS, VERIFY_WEBHOOK_METADATA } from './hookline.constants.js';
import type { ResolvedHooklineOptions } from './hookline-options.interface.js';
import { readRawBody, type PlatformRequest } from './raw-body.js';
import type { WebhookVerifierRef } from './verify-webhook.decorator.js';

/**
 * Verifies an inbound webhook on the app's own routes, as `@VerifyWebhook()` configures it. The protected methods are
 * the places to change one step (where the verifier comes from, how a rejection is answered) by extending the guard.
 */
@Injectable()
export class WebhookGuard implements CanActivate {
  private readonly built = new WeakMap<object, Verifier>();

  constructor(
    @Inject(Reflector) protected readonly reflector: Reflector,
    @Inject(HOOKLINE_RESOLVED_OPTIONS) protected readonly options: ResolvedHooklineOptions,
    @Inject(HOOKLINE) protected readonly hooks: Hookline,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<PlatformRequest & { webhook?: VerifiedEvent }>();
    // A subclass listed before this guard already verified the request: once is enough (and a replay check would refuse a second).
    if (request.webhook !== undefined) return true;
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
    if (!ref) throw fail('invalid_config', 'WebhookGuard needs @VerifyWebhook() on the route or its controller.');
    if ('verifier' in ref) return ref.verifier;
    if ('name' in ref) {
      const named = this.options.verifiers[ref.name];
      if (!named) throw fail('invalid_config', `No webhook verifier named "${ref.name}" in HooklineModule.forRoot({ verifiers }).`);
      return named;
    }
    // Built once per decorator, remembering delivery ids in hookline's store so replays are dropped across processes.
    let built = this.built.get(ref);
    if (!built) this.built.set(ref, (built = createVerifier(ref.platform, ref.config, { seenIds: this.hooks.store })));
    return built;
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
