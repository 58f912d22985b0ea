// Delivery throughput: hookline's dispatcher (memory store, SQLite store) against bare keep-alive POST loops (node:http,
// the baseline; and undici, the client the dispatcher sends with) to the
// same local receiver at the same concurrency, JWT-signed 1 KiB bodies; then peak memory with 100,000 pending
// deliveries in SQLite (the dispatcher must not hold the backlog in memory).
import { fork } from 'node:child_process';
import { createServer, request, Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { report } from './lib/measure.mjs';

// The receiver runs in its own process so that it costs the same for every contender.
if (process.argv[2] === '--receiver') {
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => res.writeHead(200, { 'content-length': '2' }).end('ok'));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

async function main() {
  const { createDispatcher } = await import('hookline');
  const { MemoryStore } = await import('@hookline/store');
  const { SqliteStore } = await import('@hookline/store-sqlite');
  const { generateSigningKey, createJwtSigner } = await import('@hookline/signer');

  const CONCURRENCY = 16;
  const ROUNDS = 5;
  const PER_ROUND = 2_000;
  const receiver = fork(fileURLToPath(import.meta.url), ['--receiver'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise((resolve) => receiver.once('message', resolve));
  const url = `http://127.0.0.1:${port}/hook`;
  const key = await generateSigningKey('ES256');
  // EdDSA is the other algorithm the signer offers; measured here to see whether it would be the cheaper signature.
  const edKey = await generateSigningKey('EdDSA');
  // A 1 KiB event body; the envelope around it adds ~250 bytes.
  const data = { id: 'AR-123', note: 'x'.repeat(1024 - 40) };
  const body = Buffer.from(JSON.stringify({ version: 'v1', webhookId: 'msg_bench', callbackUrl: '', event: 'bench', payload: data }));
  const dir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));

  // Signed as the dispatcher signs: on the threadpool (offThread).
  const signers = {
    ES256: createJwtSigner({ issuer: 'bench.example', keys: [key], offThread: true }),
    EdDSA: createJwtSigner({ issuer: 'bench.example', keys: [edKey], offThread: true }),
  };
  /**
   * `client` 'node:http' (the baseline) or 'undici' (the client the dispatcher sends with); `alg` undefined: no
   * signing, else one JWT per request signed with the signer alone (the dispatcher's floor).
   */
  async function bareLoop(total, { client = 'node:http', alg } = {}) {
    const signer = alg === undefined ? undefined : signers[alg];
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const pool = new Pool(new URL(url).origin, { connections: CONCURRENCY });
    let next = 0;
    const post = async () => {
      const auth = signer === undefined ? {} : await signer.sign({ method: 'POST', url, body });
      return client === 'undici' ? postUndici(auth) : postOnce(auth);
    };
    const postOnce = (auth) => new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, ...auth } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
    const postUndici = async (auth) => {
      const res = await pool.request({ path: '/hook', method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body });
      await res.body.dump();
    };
    const worker = async () => {
      while (next < total) {
        next += 1;
        await post();
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const rate = (total * 1000) / (performance.now() - start);
    agent.destroy();
    await pool.close();
    return rate;
  }

  /** `auth` 'jwt' signs with `signingKey` (the default scheme); 'none' shows the dispatcher's own cost without a signature. */
  async function dispatcherRun(store, total, { signingKey = key, auth = 'jwt' } = {}) {
    const dispatcher = createDispatcher({
      store, secretKey: 'bench-secret-key-0123456789abcdef', signing: { issuer: 'bench.example', keys: [signingKey] },
      destinations: { allowHttp: true, allowPrivateNetworks: true }, concurrency: CONCURRENCY, perEndpointConcurrency: CONCURRENCY,
    });
    const { endpoint } = await dispatcher.createEndpoint({ name: 'bench', url, triggers: ['*'], auth: { type: auth } });
    for (let i = 0; i < total; i++) await dispatcher.publish({ type: 'bench', data });
    let done = 0;
    const finished = new Promise((resolve) => {
      dispatcher.on((event) => {
        if (event.type === 'delivery.succeeded' && ++done === total) resolve();
        if (event.type === 'delivery.failed') console.error('failed attempt', event.attempt.error);
      });
    });
    const start = performance.now();
    dispatcher.start();
    await finished;
    const rate = (total * 1000) / (performance.now() - start);
    await dispatcher.stop();
    await dispatcher.deleteEndpoint(endpoint.id);
    return rate;
  }

  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const memory = new MemoryStore();
  const sqlite = new SqliteStore({ path: join(dir, 'throughput.db') });
  const contenders = [
    (n) => bareLoop(n),
    (n) => bareLoop(n, { client: 'undici' }),
    (n) => bareLoop(n, { client: 'undici', alg: 'ES256' }),
    (n) => bareLoop(n, { client: 'undici', alg: 'EdDSA' }),
    (n) => dispatcherRun(memory, n),
    (n) => dispatcherRun(sqlite, n),
    (n) => dispatcherRun(memory, n, { signingKey: edKey }),
    (n) => dispatcherRun(memory, n, { auth: 'none' }),
  ];
  for (const run of contenders) await run(200); // warm-up
  // Interleaved rounds, so a noisy neighbour on a shared machine slows every contender alike.
  const rates = contenders.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, run] of contenders.entries()) rates[i].push(await run(PER_ROUND));
  }
  const [bare, bareUndici, bareSigned, bareEd, withMemory, withSqlite, withMemoryEd, withMemoryUnsigned] = rates.map(median);
  await sqlite.close();
  const BARE = 'bare keep-alive POST loop, node:http (no signing)';
  const UNDICI = 'bare keep-alive POST loop, undici (no signing)';
  const SIGNED = 'undici loop + JWT ES256 signing (the signer alone)';
  report(`deliveries/s to a local keep-alive receiver, ${CONCURRENCY} concurrent, JWT-signed 1 KiB (median of ${ROUNDS} interleaved rounds)`, [
    { name: BARE, value: bare },
    { name: UNDICI, value: bareUndici },
    { name: SIGNED, value: bareSigned },
    { name: 'undici loop + JWT EdDSA signing', value: bareEd },
    { name: 'hookline dispatcher, memory store', value: withMemory },
    { name: 'hookline dispatcher, SQLite store', value: withSqlite },
    { name: 'hookline dispatcher, memory store, EdDSA', value: withMemoryEd },
    { name: 'hookline dispatcher, memory store, unsigned', value: withMemoryUnsigned },
  ], {
    unit: 'deliveries/s',
    targets: {
      'hookline dispatcher, memory store': { against: BARE, atLeast: 0.6 },
      'hookline dispatcher, SQLite store': { against: BARE, atLeast: 0.4 },
    },
  });

  // The baseline is a node:http loop that does not sign. Like for like, the dispatcher sends with undici and
  // signs every request: its ratios against the undici loops say what the dispatcher itself costs.
  console.log(`like for like: memory store ${(withMemory / bareUndici).toFixed(2)}x, SQLite store ${(withSqlite / bareUndici).toFixed(2)}x the bare undici loop;`
    + ` ES256 signing alone brings that loop to ${(bareSigned / bareUndici).toFixed(2)}x`);
  console.log(`against the undici signing loop (the dispatcher's floor): memory store ${(withMemory / bareSigned).toFixed(2)}x, SQLite store ${(withSqlite / bareSigned).toFixed(2)}x`);

  // Backlog: 100,000 pending deliveries in SQLite; the workers run for a while and memory must stay flat.
  const BACKLOG = 100_000;
  const backlogStore = new SqliteStore({ path: join(dir, 'backlog.db') });
  const dispatcher = createDispatcher({
    store: backlogStore, secretKey: 'bench-secret-key-0123456789abcdef', signing: { issuer: 'bench.example', keys: [key] },
    destinations: { allowHttp: true, allowPrivateNetworks: true }, concurrency: CONCURRENCY, perEndpointConcurrency: CONCURRENCY,
  });
  await dispatcher.createEndpoint({ name: 'bench', url, triggers: ['*'] });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const publishStart = performance.now();
  for (let i = 0; i < BACKLOG; i++) await dispatcher.publish({ type: 'bench', data });
  const publishRate = (BACKLOG * 1000) / (performance.now() - publishStart);
  const rssAfterPublish = process.memoryUsage().rss;
  let delivered = 0;
  dispatcher.on((event) => {
    if (event.type === 'delivery.succeeded') delivered += 1;
  });
  let peak = rssAfterPublish;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  dispatcher.start();
  await new Promise((resolve) => setTimeout(resolve, 8_000));
  clearInterval(sampler);
  await dispatcher.stop();
  await backlogStore.close();
  const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  console.log(`\n## ${BACKLOG.toLocaleString('en-US')} pending deliveries in SQLite`);
  console.log(`publish (one transaction each)     ${Math.round(publishRate).toLocaleString('en-US')} messages/s`);
  console.log(`RSS before publishing              ${mb(rssBefore)}`);
  console.log(`RSS with the backlog stored        ${mb(rssAfterPublish)}`);
  console.log(`peak RSS while draining (8 s)      ${mb(Math.max(peak, process.memoryUsage().rss))}  (${delivered.toLocaleString('en-US')} delivered meanwhile)`);
  console.log(`process peak RSS (maxRSS)          ${mb(process.resourceUsage().maxRSS * 1024)}`);

  receiver.disconnect();
  receiver.kill();
  rmSync(dir, { recursive: true, force: true });
}
