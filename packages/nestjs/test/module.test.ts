import { createHmac } from 'node:crypto';
import { Controller, HttpCode, HttpException, Injectable, Module, Post, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { afterEach, describe, expect, it } from 'vitest';
import type { HooklineError } from '@hookline/errors';
import { MemoryStore } from '@hookline/store';
import type { DeliveryStore } from '@hookline/store';
import { MemorySeenIds, github, type VerifiedEvent } from '@hookline/verifier';
import type { Hookline } from 'hookline';
import { createEchoHooks, originOf } from '../../express/test/harness.js';
import {
  HOOKLINE, HOOKLINE_STORE, HooklineModule, InjectHookline, InjectHooklineStore, VerifyWebhook, Webhook, WebhookGuard,
} from '../src/index.js';

const SECRET = "It's a Secret to Everybody";
const PAYLOAD = '{"zen":"Keep it logically awesome.","hook_id":1}';

function githubHeaders(body: string, delivery: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-delivery': delivery,
    'x-github-event': 'ping',
    'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
  };
}

function fakeHookline(store: DeliveryStore): Hookline {
  return { ...createEchoHooks(), store, close: async () => {} } as unknown as Hookline;
}

@Injectable()
class ReceiptService {
  constructor(@InjectHookline() readonly hooks: Hookline, @InjectHooklineStore() readonly store: DeliveryStore) {}
}

@Controller('github')
class GithubController {
  @Post()
  @HttpCode(200)
  @VerifyWebhook('github', { secret: SECRET })
  push(@Webhook() event: VerifiedEvent) {
    return { id: event.id ?? null, event: event.unverified?.['x-github-event'] ?? null, payload: event.payload };
  }
}

/** A guard that answers rejections its own way, through the protected hook meant for it. */
@Injectable()
class TeapotWebhookGuard extends WebhookGuard {
  protected override rejection(error: HooklineError): Error {
    return new HttpException({ refused: error.code }, 418);
  }
}

@Controller('strict')
class StrictController {
  @Post()
  @HttpCode(200)
  @VerifyWebhook(github({ secret: SECRET, seenIds: new MemorySeenIds() }))
  @UseGuards(TeapotWebhookGuard)
  receive(@Webhook() event: VerifiedEvent) {
    return { id: event.id };
  }
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function start(root: object) {
  const app = await NestFactory.create<NestExpressApplication>(root as never, { logger: false, rawBody: true });
  await app.listen(0, '127.0.0.1');
  close = () => app.close();
  return { app, url: originOf(app.getHttpServer().address()) };
}

describe('HooklineModule', () => {
  it('makes the instance and its store injectable through forRootAsync with injected dependencies', async () => {
    const store = new MemoryStore();
    const hooks = fakeHookline(store);
    @Module({ providers: [{ provide: 'HOOKS_SOURCE', useValue: hooks }], exports: ['HOOKS_SOURCE'] })
    class ConfigModule {}
    @Module({
      imports: [HooklineModule.forRootAsync({ imports: [ConfigModule], inject: ['HOOKS_SOURCE'], useFactory: (h: Hookline) => ({ hookline: h }) })],
      providers: [ReceiptService],
    })
    class AppModule {}
    const { app } = await start(AppModule);
    const service = app.get(ReceiptService);
    expect(service.hooks).toBe(hooks);
    expect(service.store).toBe(store);
    expect(app.get(HOOKLINE)).toBe(hooks);
    expect(app.get(HOOKLINE_STORE)).toBe(store);
  });

  it('serves the routes under a configured path', async () => {
    @Module({ imports: [HooklineModule.forRoot({ path: 'webhooks/v1', hookline: fakeHookline(new MemoryStore()) })] })
    class AppModule {}
    const { url } = await start(AppModule);
    const response = await fetch(`${url}/webhooks/v1/in/src_a%2Fb?x=1`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ route: 'public', url: '/in/src_a%2Fb?x=1', bodyBase64: Buffer.from('hi').toString('base64') });
    expect((await fetch(`${url}/hooks/in/src_1`, { method: 'POST' })).status).toBe(404);
  });

  it('hands hookline the path below its mount point behind a global prefix', async () => {
    @Module({ imports: [HooklineModule.forRoot({ hookline: fakeHookline(new MemoryStore()) })] })
    class AppModule {}
    const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false, rawBody: true });
    app.setGlobalPrefix('api');
    await app.listen(0, '127.0.0.1');
    close = () => app.close();
    const response = await fetch(`${originOf(app.getHttpServer().address())}/api/hooks/callbacks/tok_1?x=%2F`, { method: 'POST' });
    expect(await response.json()).toMatchObject({ route: 'public', url: '/callbacks/tok_1?x=%2F' });
  });

  it('closes hookline when the app shuts down', async () => {
    let closed = 0;
    const hooks = { ...fakeHookline(new MemoryStore()), close: async () => { closed++; } } as Hookline;
    @Module({ imports: [HooklineModule.forRoot({ hookline: hooks })] })
    class AppModule {}
    const { app } = await start(AppModule);
    await app.close();
    close = undefined;
    expect(closed).toBe(1);
  });
});

describe('@VerifyWebhook with a platform and its config', () => {
  async function startGithubApp() {
    @Module({ imports: [HooklineModule.forRoot({ hookline: fakeHookline(new MemoryStore()) })], controllers: [GithubController, StrictController] })
    class AppModule {}
    return start(AppModule);
  }

  it('verifies a real GitHub signature and hands the event to the handler', async () => {
    const { url } = await startGithubApp();
    const response = await fetch(`${url}/github`, { method: 'POST', headers: githubHeaders(PAYLOAD, 'delivery-1'), body: PAYLOAD });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: 'delivery-1', event: 'ping', payload: { zen: 'Keep it logically awesome.', hook_id: 1 } });
  });

  it('drops a replayed GitHub delivery through the store\'s seen ids', async () => {
    const { url } = await startGithubApp();
    const send = () => fetch(`${url}/github`, { method: 'POST', headers: githubHeaders(PAYLOAD, 'delivery-2'), body: PAYLOAD });
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('replayed');
  });

  it('answers a tampered body 401 signature_mismatch in hookline\'s error shape', async () => {
    const { url } = await startGithubApp();
    const response = await fetch(`${url}/github`, { method: 'POST', headers: githubHeaders(PAYLOAD, 'delivery-3'), body: PAYLOAD.replace('1', '2') });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('signature_mismatch');
  });

  it('lets a subclass of WebhookGuard answer rejections its own way', async () => {
    const { url } = await startGithubApp();
    const response = await fetch(`${url}/strict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: PAYLOAD });
    expect(response.status).toBe(418);
    expect(await response.json()).toEqual({ refused: 'missing_header' });
  });

  it('verifies once when a subclass runs before the base guard, so a replay-aware verifier accepts the first delivery', async () => {
    const { url } = await startGithubApp();
    const send = () => fetch(`${url}/strict`, { method: 'POST', headers: githubHeaders(PAYLOAD, 'delivery-5'), body: PAYLOAD });
    const first = await send();
    expect([first.status, await first.json()]).toEqual([200, { id: 'delivery-5' }]);
    const replay = await send();
    expect([replay.status, await replay.json()]).toEqual([418, { refused: 'replayed' }]);
  });

  it('answers 500 raw_body_unavailable naming rawBody: true when the app was created without it', async () => {
    @Module({ imports: [HooklineModule.forRoot({ hookline: fakeHookline(new MemoryStore()) })], controllers: [GithubController] })
    class AppModule {}
    const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    close = () => app.close();
    const response = await fetch(`${originOf(app.getHttpServer().address())}/github`, { method: 'POST', headers: githubHeaders(PAYLOAD, 'd-4'), body: PAYLOAD });
    expect(response.status).toBe(500);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('raw_body_unavailable');
    expect(error.message).toContain('NestFactory.create(AppModule, { rawBody: true })');
  });
});
