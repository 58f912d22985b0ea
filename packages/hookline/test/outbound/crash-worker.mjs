// A delivery worker in its own process, for the crash test: opens the SQLite store and delivers until killed.
// argv: <dispatcher bundle> <sqlite path> <lease ms>
import { pathToFileURL } from 'node:url';
import { SqliteStore } from '@hookline/store-sqlite';

const [bundle, dbPath, leaseMs] = process.argv.slice(2);
const { createDispatcher } = await import(pathToFileURL(bundle).href);
const store = new SqliteStore({ path: dbPath });
const dispatcher = createDispatcher({
  store,
  secretKey: '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
  signing: { issuer: 'crash.example' },
  destinations: { allowHttp: true, allowPrivateNetworks: true },
  leaseMs: Number(leaseMs),
  pollIntervalMs: 50,
  concurrency: 16,
  perEndpointConcurrency: 16,
  retrySchedule: [0, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05],
});
dispatcher.on((event) => {
  if (event.type === 'worker.error') console.error('worker.error', event.error);
});
dispatcher.start();
process.send?.('started');
process.on('SIGTERM', async () => {
  await dispatcher.stop();
  await store.close();
  process.exit(0);
});
