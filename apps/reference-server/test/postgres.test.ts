/** DATABASE_URL switches the store to Postgres (a schema of its own here, dropped afterwards). */
import { execFileSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { startMockReceiver, type MockReceiver } from '@hookline/mock-receiver';
import { eventually, request, spawnServer, tempDataDir } from './harness.js';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `hookline_e2e_${process.pid}_${Date.now().toString(36)}`;
const data = tempDataDir();
let receiver: MockReceiver | undefined;

afterAll(async () => {
  await receiver?.close();
  execFileSync('psql', [DATABASE_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`]);
  data.remove();
});

it('stores in Postgres when DATABASE_URL is a postgres:// URL and delivers from there', async () => {
  const server = await spawnServer({ dataDir: data.dir, env: { DATABASE_URL, HOOKLINE_DATABASE_SCHEMA: schema } });
  try {
    expect(await request('GET', `${server.url}/healthz`)).toEqual({ status: 200, json: { status: 'ok', store: 'postgres' } });
    receiver = await startMockReceiver({ jwksUrl: `${server.url}/auth/v1/jwks`, issuer: server.url });
    const endpoint = await server.admin('POST', '/admin/endpoints', { name: 'pg', url: `${receiver.url}/pg`, auth: { type: 'jwt' }, triggers: ['*'] });
    expect(endpoint.status).toBe(201);
    const published = await server.admin('POST', '/admin/events', { type: 'c1.webhooks.v1.PayloadTest', data: {} });
    const webhook = await eventually(() => receiver!.received().webhooks[0], 10_000, 'the delivery');
    expect(webhook.webhookId).toBe(published.json.messageId);
    expect(webhook.verification).toMatchObject({ scheme: 'jwt', verified: true });
    const rows = execFileSync('psql', [DATABASE_URL, '-tA', '-c', `SELECT count(*) FROM "${schema}".endpoints`], { encoding: 'utf8' });
    expect(rows.trim()).toBe('1');
    expect(server.lines.join('\n')).not.toContain(DATABASE_URL);
  } finally {
    expect(await server.stop('SIGTERM')).toBe(0);
  }
});
