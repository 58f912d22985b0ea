/** The README's example app, run as written (port 0 instead of 3000), so the example cannot rot. */
import { createHmac, randomBytes } from 'node:crypto';
import { Controller, Inject, Injectable, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryStore } from '@hookline/store';
import type { VerifiedEvent } from '@hookline/verifier';
import { createHookline, type Hookline, type PublishResult } from 'hookline';
import { HooklineModule, InjectHookline, VerifyWebhook, Webhook } from '../src/index.js';

const published: PublishResult[] = [];

@Injectable()
class Releases {
  constructor(@InjectHookline() private readonly hooks: Hookline) {}
  async announce(tag: string) {
    published.push(await this.hooks.publish({ type: 'release.published', data: { tag } }));
  }
}

@Controller('github')
class GithubController {
  constructor(@Inject(Releases) private readonly releases: Releases) {}

  @Post()
  @VerifyWebhook('github', { secret: process.env['GITHUB_WEBHOOK_SECRET'] ?? 'dev-secret' })
  async push(@Webhook() event: VerifiedEvent) {
    const { ref } = event.payload as { ref: string };
    if (ref.startsWith('refs/tags/')) await this.releases.announce(ref.slice('refs/tags/'.length));
    return { received: event.id };
  }
}

@Module({
  imports: [
    HooklineModule.forRoot({
      path: 'hooks',
      hookline: createHookline({ store: new MemoryStore(), secretKey: randomBytes(32) }),
      admin: { authorize: (req) => (req.headers.authorization === 'Bearer let-me-in' ? 'acme' : undefined) },
    }),
  ],
  controllers: [GithubController],
  providers: [Releases],
})
class AppModule {}

let base: string;
let close: () => Promise<void>;
beforeAll(async () => {
  const app = await NestFactory.create(AppModule, { rawBody: true, logger: false });
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  close = () => app.close();
});
afterAll(() => close());

it('runs the README app: a verified tag push publishes a release event', async () => {
  const body = JSON.stringify({ ref: 'refs/tags/v1.2.0' });
  const response = await fetch(`${base}/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-delivery': 'readme-1',
      'x-hub-signature-256': `sha256=${createHmac('sha256', 'dev-secret').update(body).digest('hex')}`,
    },
    body,
  });
  expect([response.status, await response.json()]).toEqual([201, { received: 'readme-1' }]);
  expect(published).toEqual([{ messageId: expect.any(String), deliveries: 0, duplicate: false }]);
});

it('runs the README app: hookline\'s routes under /hooks, the admin API behind the check', async () => {
  expect((await fetch(`${base}/hooks/.well-known/jwks.json`)).status).toBe(200);
  expect((await fetch(`${base}/hooks/admin/endpoints`)).status).toBe(401);
  const admin = await fetch(`${base}/hooks/admin/endpoints`, { headers: { authorization: 'Bearer let-me-in' } });
  expect([admin.status, await admin.json()]).toEqual([200, { items: [] }]);
});
