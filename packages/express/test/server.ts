import { once } from 'node:events';
import express from 'express';
import { hooklineRouter, verifyWebhook } from '../src/index.js';
import { originOf, type StartServer } from './harness.js';

/** An Express 5 app as a user would have it, with hookline mounted at /hooks. */
export const startExpress: StartServer = async (hooks, options) => {
  const app = express();
  if (options.bodyParser === 'keeps-raw-body') {
    const keep = (req: express.Request, _res: express.Response, buf: Buffer) => { (req as { rawBody?: Buffer }).rawBody = buf; };
    app.use(express.json({ verify: keep, limit: '2mb' }), express.urlencoded({ verify: keep, limit: '2mb' }));
  } else if (options.bodyParser === 'parsed-only') {
    app.use(express.json(), express.urlencoded());
  }
  const authorize = options.authorize;
  app.use('/hooks', hooklineRouter(hooks, {
    ...(authorize ? { admin: { authorize: (req: express.Request) => authorize(req.headers) } } : {}),
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  }));
  if (options.verifier) {
    app.post('/app/webhook', verifyWebhook(options.verifier), (req, res) => {
      res.json({ id: req.webhook?.id, payload: req.webhook?.payload });
    });
  }
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: originOf(server.address()),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
};
