import { Controller, HttpCode, Inject, Module, Post, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { VerifiedEvent } from '@hookline/verifier';
import type { Hookline } from 'hookline';
import { HOOKLINE, HooklineModule, VerifyWebhook, Webhook } from '../src/index.js';
import { originOf, type HooksLike, type StartServer } from '../../express/test/harness.js';

@Controller('app')
class AppWebhookController {
  constructor(@Inject(HOOKLINE) readonly hooks: Hookline) {}

  @Post('webhook')
  @HttpCode(200)
  @VerifyWebhook('test')
  receive(@Webhook() event: VerifiedEvent) {
    return { id: event.id, payload: event.payload };
  }
}

/** Stand-ins have no store or close; a real Hookline is passed through untouched. */
function asHookline(hooks: HooksLike): Hookline {
  return ('store' in hooks ? hooks : { ...hooks, store: {}, close: async () => {} }) as Hookline;
}

/** A NestJS 11 app on the Express platform, as a user would have it, with HooklineModule serving /hooks. */
export const startNest: StartServer = async (hooks, options) => {
  const authorize = options.authorize;
  const moduleOptions = {
    hookline: asHookline(hooks),
    ...(authorize ? { admin: { authorize: (req: { headers: Record<string, string | string[] | undefined> }) => authorize(req.headers) } } : {}),
    ...(options.verifier ? { verifiers: { test: options.verifier } } : {}),
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  };
  // One variant goes through forRootAsync so both entry points are served by the same suite.
  const hooklineModule: DynamicModule = options.bodyParser === 'keeps-raw-body'
    ? HooklineModule.forRootAsync({ path: 'hooks', useFactory: async () => moduleOptions })
    : HooklineModule.forRoot({ path: 'hooks', ...moduleOptions });

  @Module({ imports: [hooklineModule], controllers: [AppWebhookController] })
  class AppModule {}

  const parser = options.bodyParser ?? 'none';
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    logger: false,
    bodyParser: parser !== 'none',
    rawBody: parser === 'keeps-raw-body',
  });
  if (parser === 'keeps-raw-body') {
    app.useBodyParser('json', { limit: '2mb' });
    app.useBodyParser('urlencoded', { limit: '2mb', extended: true });
  }
  await app.listen(0, '127.0.0.1');
  return { url: originOf(app.getHttpServer().address()), close: () => app.close() };
};
