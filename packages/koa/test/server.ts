import { once } from 'node:events';
import { createServer } from 'node:http';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { hooklineMiddleware, verifyWebhook } from '../src/index.js';
import { originOf, type StartServer } from '../../express/test/harness.js';

/** A Koa 3 app as a user would have it, with hookline mounted at /hooks. */
export const startKoa: StartServer = async (hooks, options) => {
  const app = new Koa();
  app.silent = true;
  if (options.bodyParser === 'keeps-raw-body') app.use(bodyParser({ jsonLimit: '2mb', formLimit: '2mb' }));
  if (options.bodyParser === 'parsed-only') {
    // A parser that drops the raw text, as koa-body does without includeUnparsed.
    app.use(bodyParser());
    app.use(async (ctx, next) => { delete (ctx.request as { rawBody?: string }).rawBody; await next(); });
  }
  const authorize = options.authorize;
  app.use(hooklineMiddleware(hooks, {
    prefix: '/hooks',
    ...(authorize ? { admin: { authorize: (ctx: Koa.Context) => authorize(ctx.headers) } } : {}),
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  }));
  const verifier = options.verifier;
  if (verifier) {
    const verify = verifyWebhook(verifier);
    app.use(async (ctx, next) => {
      if (ctx.method !== 'POST' || ctx.path !== '/app/webhook') return next();
      await verify(ctx, async () => { ctx.body = { id: ctx.state.webhook.id, payload: ctx.state.webhook.payload }; });
    });
  }
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: originOf(server.address()),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
};
