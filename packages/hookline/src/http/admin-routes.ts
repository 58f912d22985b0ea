import { HooklineError } from '@hookline/errors';
import type { PageQuery } from '@hookline/store';
import type {
  Dispatcher, EndpointInput, HookRequest, HookResponse, InboundSourceInput, PublishInput, Receiver,
} from '../contract.js';
import { readJson, readJsonObject } from './body.js';
import type { Logger } from './logger.js';
import { errorResponse, jsonResponse, noContent } from './responses.js';
import { Router, routeError } from './router.js';

export interface AdminRoutesOptions {
  dispatcher: Dispatcher;
  receiver: Receiver;
  logger: Logger;
  /** Largest admin request body, bytes. */
  maxRequestBodyBytes: number;
}

export interface AdminContext {
  /** The tenant every read and write is scoped to (`default` when absent). */
  tenant?: string;
}

const MAX_PAGE_LIMIT = 1000;
// Admin answers hold configuration and history: no cache along the way may keep them.
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * The admin REST API over JSON, for an app to mount behind its own authentication. Every call is scoped to the
 * tenant the app passes in; another tenant's endpoint, message or source answers 404 as if it did not exist.
 */
export function createAdminHandler(options: AdminRoutesOptions): (request: HookRequest, context?: AdminContext) => Promise<HookResponse> {
  const { dispatcher, receiver, logger } = options;
  const limit = options.maxRequestBodyBytes;
  const ok = (status: number, body: unknown): HookResponse => jsonResponse(status, body, NO_STORE);

  const router = new Router<string>()
    // endpoints
    .add('GET', '/admin/endpoints', async ({ query }, tenant) =>
      ok(200, await dispatcher.listEndpoints(pageQuery(query), tenant)))
    .add('POST', '/admin/endpoints', async ({ request }, tenant) => {
      const input = readJsonObject(request, limit) as unknown as EndpointInput;
      const { endpoint, secret } = await dispatcher.createEndpoint(input, tenant);
      return ok(201, secret === undefined ? endpoint : { ...endpoint, secret });
    })
    .add('GET', '/admin/endpoints/:id', async ({ params }, tenant) =>
      ok(200, await dispatcher.getEndpoint(params['id']!, tenant)))
    .add('PATCH', '/admin/endpoints/:id', async ({ request, params }, tenant) => {
      const patch = readJsonObject(request, limit) as Partial<EndpointInput>;
      return ok(200, await dispatcher.updateEndpoint(params['id']!, patch, tenant));
    })
    .add('DELETE', '/admin/endpoints/:id', async ({ params }, tenant) => {
      await dispatcher.deleteEndpoint(params['id']!, tenant);
      return noContent();
    })
    .add('POST', '/admin/endpoints/:id/test', async ({ params }, tenant) =>
      ok(200, await dispatcher.testEndpoint(params['id']!, tenant)))
    .add('GET', '/admin/endpoints/:id/attempts', async ({ params, query }, tenant) => {
      const endpointId = params['id']!;
      // An unknown endpoint is a 404, not an empty history.
      await dispatcher.getEndpoint(endpointId, tenant);
      return ok(200, await dispatcher.listAttempts({ ...pageQuery(query), endpointId, tenant }));
    })
    // messages
    .add('POST', '/admin/events', async ({ request }, tenant) => {
      const body = readJsonObject(request, limit);
      if (body['tenant'] !== undefined && body['tenant'] !== tenant) {
        throw new HooklineError('forbidden', 'Events can only be published to the tenant this admin API is scoped to.', {
          details: { field: 'tenant' },
        });
      }
      const input = { ...body, tenant } as unknown as PublishInput;
      return ok(202, await dispatcher.publish(input));
    })
    .add('GET', '/admin/messages/:id', async ({ params }, tenant) =>
      ok(200, await dispatcher.getMessage(params['id']!, tenant)))
    .add('POST', '/admin/messages/:id/redeliver', async ({ request, params }, tenant) => {
      const body = readJson(request, limit);
      if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
        throw new HooklineError('invalid_payload', 'The body, when given, must be an object such as { "endpointId": "..." }.');
      }
      const endpointId = (body as { endpointId?: unknown } | undefined)?.endpointId;
      if (endpointId !== undefined && (typeof endpointId !== 'string' || endpointId === '')) {
        throw new HooklineError('invalid_payload', 'endpointId must be a non-empty string.', { details: { field: 'endpointId' } });
      }
      const result = await dispatcher.redeliver(params['id']!, {
        tenant,
        ...(endpointId === undefined ? {} : { endpointId }),
      });
      return ok(202, result);
    })
    // inbound sources
    .add('GET', '/admin/sources', async ({ query }, tenant) =>
      ok(200, await receiver.listSources(pageQuery(query), tenant)))
    .add('POST', '/admin/sources', async ({ request }, tenant) => {
      const input = readJsonObject(request, limit) as unknown as InboundSourceInput;
      return ok(201, await receiver.createSource(input, tenant));
    })
    .add('GET', '/admin/sources/:id', async ({ params }, tenant) =>
      ok(200, await receiver.getSource(params['id']!, tenant)))
    .add('PATCH', '/admin/sources/:id', async ({ request, params }, tenant) => {
      const patch = readJsonObject(request, limit) as Partial<InboundSourceInput>;
      return ok(200, await receiver.updateSource(params['id']!, patch, tenant));
    })
    .add('DELETE', '/admin/sources/:id', async ({ params }, tenant) => {
      await receiver.deleteSource(params['id']!, tenant);
      return noContent();
    })
    // catalog
    .add('GET', '/admin/event-types', async () => ok(200, { items: dispatcher.eventTypes() }));

  return async (request, context = {}) => {
    try {
      const tenant = context.tenant ?? 'default';
      if (typeof tenant !== 'string' || tenant === '') {
        throw new HooklineError('invalid_config', 'handleAdmin needs a non-empty tenant id.');
      }
      const match = router.match(request);
      if (match.kind !== 'found') {
        const { error, headers } = routeError(match);
        return errorResponse(error, logger, { ...NO_STORE, ...headers });
      }
      return await match.handler(match.context, tenant);
    } catch (error) {
      return errorResponse(error, logger, NO_STORE);
    }
  };
}

/** `?cursor=&limit=` as a page query: limit a whole number 1..1000, cursor opaque. */
function pageQuery(query: URLSearchParams): PageQuery {
  const page: PageQuery = {};
  const cursor = query.get('cursor');
  if (cursor !== null && cursor !== '') page.cursor = cursor;
  const limitText = query.get('limit');
  if (limitText !== null && limitText !== '') {
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw new HooklineError('bad_request', `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}.`, {
        details: { parameter: 'limit' },
      });
    }
    page.limit = limit;
  }
  return page;
}
