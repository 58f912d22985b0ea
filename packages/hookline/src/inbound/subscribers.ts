import { HooklineError } from '@hookline/errors';
import { compileMatcher } from '@hookline/matcher';
import type { InboundEvent, InboundSelector } from '../contract.js';
import type { Logger } from '../http/logger.js';
import { sourceHint } from './sources.js';

type EventTest = (event: InboundEvent) => boolean;

interface Handler {
  test: EventTest;
  run: (event: InboundEvent) => void | Promise<void>;
}

interface Waiter {
  test: EventTest;
  resolve: (event: InboundEvent) => void;
}

/**
 * Who gets accepted inbound events: `on` handlers (start-a-workflow) run for every match, `waitFor` waiters
 * (WAIT_FOR_WEBHOOK) are settled by the first match and then forgotten.
 */
export class Subscribers {
  readonly #handlers = new Set<Handler>();
  readonly #waiters = new Set<Waiter>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  on(selector: InboundSelector, handler: (event: InboundEvent) => void | Promise<void>): () => void {
    if (typeof handler !== 'function') throw new HooklineError('bad_request', 'on(selector, handler) needs a handler function.');
    const entry: Handler = { test: compileSelector(selector), run: handler };
    this.#handlers.add(entry);
    return () => {
      this.#handlers.delete(entry);
    };
  }

  waitFor(selector: InboundSelector, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<InboundEvent> {
    const { timeoutMs, signal } = options;
    let test: EventTest;
    try {
      test = compileSelector(selector);
      if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
        throw new HooklineError('bad_request', 'timeoutMs must be a non-negative number of milliseconds.', { details: { timeoutMs } });
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(abortReason(signal));

    return new Promise<InboundEvent>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (): void => {
        this.#waiters.delete(waiter);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        test,
        resolve: (event) => {
          settle();
          resolve(event);
        },
      };
      const onAbort = (): void => {
        settle();
        reject(abortReason(signal!));
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          settle();
          reject(
            new HooklineError('wait_timeout', `No matching webhook arrived within ${timeoutMs} ms.`, {
              details: { timeoutMs },
            }),
          );
        }, timeoutMs);
      }
    });
  }

  /** Settles matching waiters, then runs matching handlers; a handler's failure is logged, never thrown. */
  async deliver(event: InboundEvent): Promise<{ handlers: number; waiters: number }> {
    const waiters = [...this.#waiters].filter((waiter) => safeTest(waiter.test, event));
    for (const waiter of waiters) waiter.resolve(event);

    const handlers = [...this.#handlers].filter((handler) => safeTest(handler.test, event));
    const outcomes = await Promise.allSettled(handlers.map(async (handler) => handler.run(event)));
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        this.#logger.error(
          { err: outcome.reason, source: sourceHint(event.sourceId), eventId: event.id },
          'an inbound webhook handler failed; the sender was still answered 200',
        );
      }
    }
    return { handlers: handlers.length, waiters: waiters.length };
  }

  /** Waiters still pending (for tests and graceful shutdown). */
  get pendingWaiters(): number {
    return this.#waiters.size;
  }
}

/** A selector as a predicate: a source id, matches (JSONPath, AND) on the payload, or both. */
export function compileSelector(selector: InboundSelector): EventTest {
  if (typeof selector === 'string') {
    if (selector === '') throw new HooklineError('bad_request', 'A source id selector must not be empty.');
    return (event) => event.sourceId === selector;
  }
  if (selector === null || typeof selector !== 'object') {
    throw new HooklineError('bad_request', 'A selector is a source id or { sourceId?, matches? }.');
  }
  const { sourceId, matches } = selector;
  const matcher = matches === undefined ? undefined : compileMatcher(matches);
  return (event) =>
    (sourceId === undefined || event.sourceId === sourceId) && (matcher === undefined || matcher.test(event.payload));
}

function safeTest(test: EventTest, event: InboundEvent): boolean {
  try {
    return test(event);
  } catch {
    return false;
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The wait was aborted.', 'AbortError');
}
