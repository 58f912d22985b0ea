import type { DeliveryStore } from '@hookline/store';
import { createDispatcher, type DispatcherOptions } from '../outbound/index.js';
import type { Dispatcher, Hookline, InboundEvent, InboundSelector, OperationalEvent, Receiver } from '../contract.js';
import { createReceiver, type ReceiverOptions } from '../inbound/receiver.js';
import { createSecretBox, type SecretBox } from '../secrets.js';
import { createAdminHandler } from './admin-routes.js';
import { consoleLogger, type Logger } from './logger.js';
import { createPublicHandler } from './public-routes.js';

export const DEFAULT_MAX_REQUEST_BODY_BYTES = 1024 * 1024;

export interface ComposeOptions {
  dispatcher: Dispatcher;
  store: DeliveryStore;
  secretBox: SecretBox;
  logger?: Logger;
  now?: () => number;
  maxInboundBodyBytes?: number;
  /** Largest callback or admin request body (default 1 MiB; the dispatcher applies its own payload limit within). */
  maxRequestBodyBytes?: number;
  replayWindowMs?: number;
  publicUrl?: string;
}

/** Everything the dispatcher takes, plus the receive side's and the HTTP core's own settings. */
export interface HooklineOptions extends DispatcherOptions {
  /** pino's call shape; used by the dispatcher, the receiver and the HTTP core. Default: errors to stderr. */
  logger?: Logger;
  /** Largest inbound webhook body, refused with 413 before the source is even looked up (default 1 MiB). */
  maxInboundBodyBytes?: number;
  /** Largest callback or admin request body (default 1 MiB). */
  maxRequestBodyBytes?: number;
  /** How long a provider's delivery id is remembered to drop its replays and retries (default 24 h). */
  replayWindowMs?: number;
}

/**
 * Creates hookline: the dispatcher (endpoints, publish, delivery workers, callbacks), the receiver (inbound sources,
 * verification, `on` and `waitFor`) and the HTTP routes an adapter serves (`handle`, `handleAdmin`).
 * Workers start with `start()`; `close()` stops them and closes the store.
 *
 * @example
 * ```ts
 * import { createHookline } from 'hookline';
 * import { MemoryStore } from '@hookline/store';
 *
 * const hooks = createHookline({ store: new MemoryStore(), secretKey: process.env.HOOKLINE_SECRET_KEY! });
 * const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 'from GitHub' } });
 * hooks.on(source.id, (event) => console.log(event.payload));
 * // an adapter serves hooks.handle under /hooks: GitHub posts to https://app.example/hooks/in/<source.id>
 * ```
 */
export function createHookline(options: HooklineOptions): Hookline {
  const dispatcher = createDispatcher(options);
  const compose: ComposeOptions = { dispatcher, store: options.store, secretBox: createSecretBox(options.secretKey) };
  if (options.logger !== undefined) compose.logger = options.logger;
  if (options.clock !== undefined) {
    const clock = options.clock;
    compose.now = () => clock.now();
  }
  if (options.maxInboundBodyBytes !== undefined) compose.maxInboundBodyBytes = options.maxInboundBodyBytes;
  if (options.maxRequestBodyBytes !== undefined) compose.maxRequestBodyBytes = options.maxRequestBodyBytes;
  if (options.replayWindowMs !== undefined) compose.replayWindowMs = options.replayWindowMs;
  if (options.publicUrl !== undefined) compose.publicUrl = options.publicUrl;
  return composeHookline(compose);
}

/**
 * Puts a dispatcher, a receiver and the HTTP routes together into one {@link Hookline}. `createHookline` builds the
 * dispatcher from its options; this seam lets a test (or an app with its own dispatcher) pass one in.
 */
export function composeHookline(options: ComposeOptions): Hookline {
  const { dispatcher, store } = options;
  const logger = options.logger ?? consoleLogger;
  const receiverOptions: ReceiverOptions = { store, secretBox: options.secretBox, logger };
  if (options.now !== undefined) receiverOptions.now = options.now;
  if (options.maxInboundBodyBytes !== undefined) receiverOptions.maxInboundBodyBytes = options.maxInboundBodyBytes;
  if (options.replayWindowMs !== undefined) receiverOptions.replayWindowMs = options.replayWindowMs;
  if (options.publicUrl !== undefined) receiverOptions.publicUrl = options.publicUrl;
  const receiver: Receiver = createReceiver(receiverOptions);
  const maxRequestBodyBytes = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;

  const handle = createPublicHandler({ dispatcher, receiver, logger, maxRequestBodyBytes });
  const handleAdmin = createAdminHandler({ dispatcher, receiver, logger, maxRequestBodyBytes });

  function on(listener: (event: OperationalEvent) => void): () => void;
  function on(selector: InboundSelector, handler: (event: InboundEvent) => void | Promise<void>): () => void;
  function on(
    first: ((event: OperationalEvent) => void) | InboundSelector,
    handler?: (event: InboundEvent) => void | Promise<void>,
  ): () => void {
    // One name, two audiences: a lone function hears operational events, a selector and handler hear webhooks.
    if (typeof first === 'function' && handler === undefined) return dispatcher.on(first);
    return receiver.on(first as InboundSelector, handler as (event: InboundEvent) => void | Promise<void>);
  }

  let closed: Promise<void> | undefined;
  const hookline: Hookline = {
    store,
    handle,
    handleAdmin,
    createEndpoint: (input, tenant) => dispatcher.createEndpoint(input, tenant),
    getEndpoint: (id, tenant) => dispatcher.getEndpoint(id, tenant),
    listEndpoints: (page, tenant) => dispatcher.listEndpoints(page, tenant),
    updateEndpoint: (id, patch, tenant) => dispatcher.updateEndpoint(id, patch, tenant),
    deleteEndpoint: (id, tenant) => dispatcher.deleteEndpoint(id, tenant),
    publish: (input) => dispatcher.publish(input),
    testEndpoint: (id, tenant) => dispatcher.testEndpoint(id, tenant),
    redeliver: (messageId, redeliverOptions) => dispatcher.redeliver(messageId, redeliverOptions),
    getMessage: (id, tenant) => dispatcher.getMessage(id, tenant),
    listAttempts: (query) => dispatcher.listAttempts(query),
    handleCallback: (token, body) => dispatcher.handleCallback(token, body),
    onCallback: (callbackHandler) => dispatcher.onCallback(callbackHandler),
    jwks: () => dispatcher.jwks(),
    eventTypes: () => dispatcher.eventTypes(),
    start: () => dispatcher.start(),
    stop: () => dispatcher.stop(),
    createSource: (input, tenant) => receiver.createSource(input, tenant),
    getSource: (id, tenant) => receiver.getSource(id, tenant),
    listSources: (page, tenant) => receiver.listSources(page, tenant),
    updateSource: (id, patch, tenant) => receiver.updateSource(id, patch, tenant),
    deleteSource: (id, tenant) => receiver.deleteSource(id, tenant),
    receive: (sourceId, request) => receiver.receive(sourceId, request),
    waitFor: (selector, waitOptions) => receiver.waitFor(selector, waitOptions),
    on: on as Hookline['on'],
    close() {
      // Stop the workers before the store goes away, once, however often close is called.
      closed ??= dispatcher.stop().then(() => store.close());
      return closed;
    },
  };
  return hookline;
}
