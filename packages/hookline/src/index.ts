/**
 * hookline: webhooks both ways for a Node server that already exists. `createHookline` gives the send side
 * (endpoints, publish, signed deliveries with retries, history, callbacks), the receive side (inbound sources,
 * verification, replay drop, JSONPath matches, `on` and `waitFor`) and `handle` / `handleAdmin` for an adapter to serve.
 */
export { createHookline, type HooklineOptions } from './http/hookline.js';
export { createSecretBox, secretHint, type SecretBox } from './secrets.js';
export { createDispatcher, DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from './outbound/index.js';
export type { DispatcherOptions, Clock, Timers, DispatcherLogger, DestinationPolicy, SigningOptions } from './outbound/index.js';
export type { ReceiveOutcome } from './inbound/receiver.js';
export { consoleLogger, silentLogger, type Logger } from './http/logger.js';
export type {
  HookRequest, HookResponse, Dispatcher, Receiver, Hookline, EndpointAuthInput, Endpoint, EndpointInput, PublishInput,
  PublishResult, CallbackAnswer, OperationalEvent, InboundSourceInput, InboundSource, InboundEvent, InboundSelector,
} from './contract.js';
export type {
  DeliveryStore, AttemptRecord, DeliveryRecord, MessageRecord, Page, PageQuery, InboundPlatform, JsonValue,
} from '@hookline/store';
export { HooklineError, isHooklineError, type HooklineErrorCode } from '@hookline/errors';
