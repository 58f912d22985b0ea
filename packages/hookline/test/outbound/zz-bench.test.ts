import { it } from 'vitest';
import { request, Agent, createServer } from 'node:http';
import { MemoryStore } from '@hookline/store';
import { SqliteStore } from '@hookline/store-sqlite';
import { generateSigningKey } from '@hookline/signer';
import { createDispatcher } from '../../src/outbound/index.js';
it('bench', async () => {
  const server = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, {'content-length':'2'}).end('ok')); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as any).port}/hook`;
  const key = await generateSigningKey('ES256');
  const data = { id: 'AR-123', note: 'x'.repeat(984) };
  const body = Buffer.from(JSON.stringify(data));
  const C = 16;
  async function bare(total: number) {
    const agent = new Agent({ keepAlive: true, maxSockets: C }); let next = 0;
    const post = () => new Promise<void>((resolve, reject) => { const req = request(url, { method: 'POST', agent, headers: { 'content-length': body.length } }, (res) => { res.resume(); res.on('end', resolve); }); req.on('error', reject); req.end(body); });
    const start = performance.now();
    await Promise.all(Array.from({ length: C }, async () => { while (next < total) { next++; await post(); } }));
    agent.destroy(); return total * 1000 / (performance.now() - start);
  }
  async function run(store: any, total: number) {
    const d = createDispatcher({ store, secretKey: 'bench-secret-key-0123456789abcdef', signing: { issuer: 'b', keys: [key] }, destinations: { allowHttp: true, allowPrivateNetworks: true }, concurrency: C, perEndpointConcurrency: C });
    const { endpoint } = await d.createEndpoint({ name: 'b', url, triggers: ['*'] });
    const p0 = performance.now();
    for (let i = 0; i < total; i++) await d.publish({ type: 'b', data });
    const pub = total * 1000 / (performance.now() - p0);
    let done = 0;
    const fin = new Promise<void>((res) => d.on((e) => { if (e.type === 'delivery.succeeded' && ++done === total) res(); if (e.type==='worker.error') console.log(e.error); }));
    const start = performance.now(); d.start(); await fin;
    const rate = total * 1000 / (performance.now() - start);
    await d.stop(); await d.deleteEndpoint(endpoint.id);
    return { rate, pub };
  }
  console.log('bare', await bare(300), await bare(3000));
  const mem = new MemoryStore();
  console.log('mem', await run(mem, 300), await run(mem, 3000));
  const sq = new SqliteStore({ path: '/tmp/scratch/b.db' });
  console.log('sqlite', await run(sq, 300), await run(sq, 3000));
  await sq.close(); server.close();
}, 120000);
