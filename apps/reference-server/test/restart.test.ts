/**
 * Stop the server while deliveries are pending (in flight to a slow, failing receiver, or waiting to retry), start it again
 * on the same data directory: every message arrives, and a receiver that drops duplicates by message id processes
 * each exactly once.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startMockReceiver, type MockReceiver } from '@hookline/mock-receiver';
import { eventually, request, spawnServer, tempDataDir } from './harness.js';

const MESSAGES = 6;
let receiver: MockReceiver | undefined;
const data = tempDataDir();

afterAll(async () => {
  await receiver?.close();
  data.remove();
});

it('delivers every pending message after a stop and restart, none processed twice', async () => {
  const env = { HOOKLINE_RETRY_SCHEDULE: '0,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2' };
  const first = await spawnServer({ dataDir: data.dir, env });
  // The JWT issuer is the server's URL, which changes with the port; so this receiver checks Standard Webhooks.
  const secret = `whsec_${Buffer.from('restart-test-secret-32-bytes-ok!').toString('base64')}`;
  // Slow and failing: every try is still in flight for a while, and none succeeds before the stop.
  receiver = await startMockReceiver({ standardWebhooksSecret: secret, behaviour: { delayMs: 300, failTimes: 1_000_000, failStatus: 503 } });

  const created = await first.admin('POST', '/admin/endpoints', {
    name: 'slow receiver', url: `${receiver.url}/slow`, auth: { type: 'standard-webhooks', secret }, triggers: ['*'],
  });
  expect(created.status).toBe(201);
  const published: string[] = [];
  for (let index = 0; index < MESSAGES; index += 1) {
    const answer = await first.admin('POST', '/admin/events', { type: 'demo.restart', data: { index } });
    expect(answer.status).toBe(202);
    published.push(answer.json.messageId as string);
  }

  // At least one request is in flight at the slow receiver when the stop arrives.
  await eventually(() => (receiver!.received().webhooks.length > 0 ? true : undefined), 5_000, 'a first request in flight');
  const jwksBefore = (await request('GET', `${first.url}/auth/v1/jwks`)).json;
  expect(await first.stop('SIGTERM')).toBe(0);
  expect(receiver.received().accepted).toEqual([]);

  receiver.setBehaviour({});
  const second = await spawnServer({ dataDir: data.dir, env });
  try {
    // The signing key was kept (0600, private JWK sealed), so subscribers' cached JWKS stays valid.
    expect((await request('GET', `${second.url}/auth/v1/jwks`)).json).toEqual(jwksBefore);
    const keyFile = join(data.dir, 'signing-key.json');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const kept = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(kept).sort()).toEqual(['alg', 'kid', 'sealedJwk', 'version']);
    expect(kept.kid).toBe(jwksBefore.keys[0].kid);
    expect(String(kept.sealedJwk)).toMatch(/^v1\./);
    await eventually(() => (receiver!.received().accepted.length === MESSAGES ? true : undefined), 15_000, 'every message after the restart');
    const summary = receiver.received();
    expect([...summary.accepted].sort()).toEqual([...published].sort());
    // Processed (2xx, not a duplicate) exactly once per message id.
    for (const id of published) {
      const processed = summary.webhooks.filter((w) => w.webhookId === id && !w.duplicate && w.response.status >= 200 && w.response.status < 300);
      expect(processed).toHaveLength(1);
    }
    expect(summary.webhooks.every((w) => w.verification.scheme === 'standard-webhooks' && w.verification.verified)).toBe(true);
    for (const id of published) {
      const message = await second.admin('GET', `/admin/messages/${id}`);
      expect(message.json.deliveries.map((d: { status: string }) => d.status)).toEqual(['succeeded']);
    }
  } finally {
    expect(await second.stop('SIGINT')).toBe(0);
  }
});
