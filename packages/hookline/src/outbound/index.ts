/**
 * The send side of hookline: endpoints, publish, workers that sign and deliver with retries, history, callbacks.
 * `createHookline` composes this dispatcher with the receiver and the HTTP routes.
 */
export { createDispatcher, type DispatcherOptions, type Clock, type Timers, type DispatcherLogger } from './dispatcher.js';
export type { DestinationPolicy } from './destination.js';
export type { SigningOptions } from './request.js';
export { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from './retry.js';
