import { MemoryStore } from '@hookline/store';
import type { Dispatcher, HookResponse, Hookline } from '../../src/contract.js';
import { composeHookline } from '../../src/http/hookline.js';
import { silentLogger, type Logger } from '../../src/http/logger.js';
import { createSecretBox } from '../../src/secrets.js';
import { fakeDispatcher } from './fake-dispatcher.js';

export const SECRET_KEY = '0'.repeat(64);

/** A hookline over the memory store and a fake dispatcher, with a clock the test moves. */
export function receiverHookline(options: {
  nowSeconds?: number;
  dispatcher?: Dispatcher;
  logger?: Logger;
  maxInboundBodyBytes?: number;
  publicUrl?: string;
} = {}): { hooks: Hookline; store: MemoryStore; clock: { ms: number } } {
  const clock = { ms: (options.nowSeconds ?? 1_700_000_000) * 1000 };
  const store = new MemoryStore();
  const hooks = composeHookline({
    dispatcher: options.dispatcher ?? fakeDispatcher(),
    store,
    secretBox: createSecretBox(SECRET_KEY),
    logger: options.logger ?? silentLogger,
    now: () => clock.ms,
    ...(options.maxInboundBodyBytes === undefined ? {} : { maxInboundBodyBytes: options.maxInboundBodyBytes }),
    ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
  });
  return { hooks, store, clock };
}

/** The response body parsed as JSON. */
export function json(response: HookResponse): unknown {
  const body = response.body;
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  return JSON.parse(text);
}

export function text(response: HookResponse): string {
  const body = response.body ?? '';
  return typeof body === 'string' ? body : new TextDecoder().decode(body);
}
