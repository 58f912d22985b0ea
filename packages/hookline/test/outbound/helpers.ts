import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore } from '@hookline/store';
import { generateSigningKey, type SigningKey } from '@hookline/signer';
import type { DeliveryStore } from '@hookline/store';
import { createDispatcher, type DispatcherOptions } from '../../src/outbound/index.js';
import type { Dispatcher, OperationalEvent } from '../../src/contract.js';

export const SECRET_KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** A clock and timers the test moves by hand: `advance(ms)` fires every timer due by then, in order. */
export function manualTime(start = Date.now()) {
  let now = start;
  let seq = 0;
  const pending = new Map<number, { at: number; callback: () => void }>();
  return {
    clock: { now: () => now },
    timers: {
      setTimeout(callback: () => void, ms: number) {
        const id = ++seq;
        pending.set(id, { at: now + ms, callback });
        return id;
      },
      clearTimeout(handle: unknown) {
        pending.delete(handle as number);
      },
    },
    advance(ms: number) {
      now += ms;
      const due = [...pending.entries()].filter(([, t]) => t.at <= now).sort((a, b) => a[1].at - b[1].at);
      for (const [id, timer] of due) {
        pending.delete(id);
        timer.callback();
      }
    },
    get now() {
      return now;
    },
  };
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type ReceiverHandler = (request: ReceivedRequest, response: ServerResponse) => void;

/** A real HTTP subscriber on 127.0.0.1, port 0, recording every request. */
export async function startReceiver(handler: ReceiverHandler = (_req, res) => res.writeHead(200).end('ok')) {
  const requests: ReceivedRequest[] = [];
  let current = handler;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(received);
      current(received, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    respond(next: ReceiverHandler) {
      current = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let sharedKey: Promise<SigningKey> | undefined;
export function signingKey(): Promise<SigningKey> {
  sharedKey ??= generateSigningKey('ES256');
  return sharedKey;
}

/** A dispatcher on a memory store with development destinations, a manual clock and no jitter. */
export async function setup(overrides: Partial<DispatcherOptions> = {}) {
  const time = manualTime();
  const store: DeliveryStore = overrides.store ?? new MemoryStore();
  const dispatcher = createDispatcher({
    store,
    secretKey: SECRET_KEY,
    signing: { issuer: 'acme.example', keys: [await signingKey()] },
    publicUrl: 'https://hooks.acme.example',
    clock: time.clock,
    timers: time.timers,
    random: () => 0.5,
    destinations: { allowHttp: true, allowPrivateNetworks: true },
    requestTimeoutMs: 2_000,
    ...overrides,
  });
  const events: OperationalEvent[] = [];
  dispatcher.on((event) => events.push(event));
  return { dispatcher, store, time, events };
}

/** Resolves with the next operational event that satisfies `match` (or rejects after `ms` of real time). */
export function nextEvent<T extends OperationalEvent['type']>(
  dispatcher: Dispatcher, type: T, match: (event: Extract<OperationalEvent, { type: T }>) => boolean = () => true, ms = 5_000,
): Promise<Extract<OperationalEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${ms} ms`));
    }, ms);
    const off = dispatcher.on((event) => {
      if (event.type === type && match(event as Extract<OperationalEvent, { type: T }>)) {
        clearTimeout(timer);
        off();
        resolve(event as Extract<OperationalEvent, { type: T }>);
      }
    });
  });
}

/** Lets pending I/O callbacks and promise chains run (no time-dependent logic waits on this). */
export const tick = () => new Promise((resolve) => setImmediate(resolve));
