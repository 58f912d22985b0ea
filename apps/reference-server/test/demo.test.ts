/** `node dist/cli.js --demo` (what `npm start` runs) shows a verified delivery within seconds. */
import { afterAll, expect, it } from 'vitest';
import { spawnServer, tempDataDir } from './harness.js';

const data = tempDataDir();
afterAll(() => data.remove());

it('prints the delivery, the JWT verified through the JWKS, and where to see the history', async () => {
  const started = Date.now();
  const demo = await spawnServer({ dataDir: data.dir, args: ['--demo'], env: { HOOKLINE_DEV: '' } });
  try {
    const verified = await demo.waitForLine((line) => line.includes('JWT verified through'), 8_000);
    expect(verified).toContain(`${demo.url}/auth/v1/jwks`);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(demo.lines.some((line) => /^demo: mock receiver got POST \/webhook webhook-id=msg_\S+ -> answered 200$/.test(line))).toBe(true);
    expect(demo.lines.some((line) => line.startsWith('demo: delivery history: curl ') && /\/admin\/endpoints\/\S+\/attempts$/.test(line))).toBe(true);
    expect(demo.lines).toContain('demo: HOOKLINE_DEV turned on so the local mock receiver (http, loopback) is an allowed destination');
  } finally {
    expect(await demo.stop('SIGINT')).toBe(0);
  }
});

it('re-points the same demo endpoint on the next start instead of adding one', async () => {
  const again = await spawnServer({ dataDir: data.dir, args: ['--demo'], env: { HOOKLINE_DEV: '' } });
  try {
    await again.waitForLine((line) => line.includes('JWT verified through'), 8_000);
    const endpoints = await again.admin('GET', '/admin/endpoints');
    expect(endpoints.json.items.map((e: { name: string }) => e.name)).toEqual(['demo: mock receiver']);
    expect(again.lines.some((line) => line.includes('"msg":"Endpoint created."'))).toBe(false);
  } finally {
    expect(await again.stop('SIGTERM')).toBe(0);
  }
});
