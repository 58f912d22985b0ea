import type { Dispatcher, HookRequest, HookResponse, Receiver } from '../contract.js';
import { assertBodyWithin } from './body.js';
import type { Logger } from './logger.js';
import { errorResponse, jsonResponse } from './responses.js';
import { Router, routeError } from './router.js';

export interface PublicRoutesOptions {
  dispatcher: Pick<Dispatcher, 'jwks' | 'handleCallback'>;
  receiver: Pick<Receiver, 'receive'>;
  logger: Logger;
  /** Largest callback body, bytes. */
  maxRequestBodyBytes: number;
}

/**
 * The routes a provider or a subscriber reaches without a session: the JWKS our JWTs verify against, the
 * capability callback URLs, and the inbound webhook URLs.
 */
export function createPublicHandler(options: PublicRoutesOptions): (request: HookRequest) => Promise<HookResponse> {
  const { dispatcher, receiver, logger } = options;

  const jwks = async (): Promise<HookResponse> =>
    // Short cache: receivers refetch soon enough to see a rotated key before the old one retires.
    jsonResponse(200, await dispatcher.jwks(), { 'cache-control': 'public, max-age=300' });

  const router = new Router()
    .add('GET', '/auth/v1/jwks', jwks)
    .add('GET', '/.well-known/jwks.json', jwks)
    .add('POST', '/callbacks/:token', async ({ request, params }) => {
      assertBodyWithin(request, options.maxRequestBodyBytes);
      const answer = await dispatcher.handleCallback(params['token']!, request.body);
      return jsonResponse(202, { status: 'accepted', decision: answer.decision });
    })
    .add('GET', '/in/:sourceId', ({ request, params }) => receiver.receive(params['sourceId']!, request))
    .add('POST', '/in/:sourceId', ({ request, params }) => receiver.receive(params['sourceId']!, request));

  return async (request) => {
    try {
      const match = router.match(request);
      if (match.kind !== 'found') {
        const { error, headers } = routeError(match);
        return errorResponse(error, logger, headers, 'public');
      }
      return await match.handler(match.context, undefined);
    } catch (error) {
      return errorResponse(error, logger, {}, 'public');
    }
  };
}
