import { setMaxListeners } from 'node:events';
import { HooklineError, isHooklineError } from '@hookline/errors';
import { compileMatcher, compileTrigger } from '@hookline/matcher';
import { eventCatalog, validate } from '@hookline/schemas';
import type {
  AttemptRecord, CallbackRecord, ClaimWithNext, DeliveryOutcome, DeliveryRecord, DeliveryStore, EndpointRecord, FinishInput,
  FinishThenClaim, JsonValue, MessageRecord, Page, PageQuery,
} from '@hookline/store';
import type {
  CallbackAnswer, Dispatcher, Endpoint, EndpointInput, OperationalEvent, PublishInput, PublishResult,
} from '../contract.js';
import { createSecretBox, deriveSubkey } from '../secrets.js';
import { resolvePolicy, type DestinationPolicy } from './destination.js';
import { checkEndpointInput, invalid, keepsStoredSecret, sealAuth, toEndpoint } from './endpoints.js';
import { newId } from './ids.js';
import { redactHeaders, redactUrl } from './redact.js';
import {
  RequestBuilder, callbackToken, deliveryOfToken, describeError, hashToken, type OutgoingEvent, type PreparedRequest, type SigningOptions,
} from './request.js';
import { DEFAULT_RETRY_SCHEDULE, nextAttemptAt, parseRetryAfter, type RetryPolicy } from './retry.js';
import { createTransport, type TransportResult } from './transport.js';

/** Time as the dispatcher reads it: epoch milliseconds. Tests pass a clock they move by hand. */
export interface Clock {
  now(): number;
}

/** The timer seam for schedule logic (idle waits, lease renewal), so tests drive retries without sleeping. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** pino's call shape: a pino instance or a child of the app's logger fits. Never given a body or a secret. */
export interface DispatcherLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface DispatcherOptions {
  store: DeliveryStore;
  /** Seals endpoint secrets at rest and derives callback tokens: 32 bytes, 64 hex characters or base64. */
  secretKey: string | Uint8Array;
  /** JWT issuer and keys. Without keys a key is generated for the life of the process (demos only). */
  signing?: SigningOptions;
  /** Where this server is reachable; callback URLs are `${publicUrl}/callbacks/${token}`. */
  publicUrl?: string;
  clock?: Clock;
  timers?: Timers;
  /** Seconds before each attempt; the first is the initial try. Default: 0, 5, 300, 1800, 7200, 18000, 36000, 36000. */
  retrySchedule?: readonly number[];
  /** ±fraction of jitter on each scheduled delay (default 0.2). */
  retryJitter?: number;
  /** Random numbers in [0, 1) for jitter (default Math.random). */
  random?: () => number;
  /** The most a `Retry-After` may push a retry out (default 10 h). */
  maxRetryAfterMs?: number;
  /** Production defaults refuse http, custom ports and non-public addresses; development sets both flags. */
  destinations?: DestinationPolicy;
  /** Whole-request deadline (default 15 s). */
  requestTimeoutMs?: number;
  /** Largest published `data`, serialised (default 256 KiB). */
  maxPayloadBytes?: number;
  /** Response bytes kept in history (default 64 KiB). */
  maxResponseBytes?: number;
  /** Sends in flight at once in this process (default 16). */
  concurrency?: number;
  /** Sends in flight at once to one endpoint, across every worker sharing the store (default 4). */
  perEndpointConcurrency?: number;
  /**
   * Deliveries claimed ahead of free send slots, queued in this process under their leases (default: `concurrency`
   * with a store whose claims are round trips to a shared server, such as Postgres; 0, claiming only for free slots,
   * with the in-process stores). Claims come in larger batches, so a shared server sees fewer, cheaper round trips.
   * A queued delivery counts toward its endpoint's `perEndpointConcurrency` until it is sent.
   */
  prefetch?: number;
  /** How long a claimed delivery stays leased; renewed while the send is in flight (default 60 s). */
  leaseMs?: number;
  /** How often idle workers look for due work written by other processes (default 1 s). */
  pollIntervalMs?: number;
  /** History and finished messages kept this long (default 8 days). */
  retentionDays?: number;
  /** How often a worker purges (default 1 h). */
  purgeIntervalMs?: number;
  /** An endpoint failing with no success for this long is disabled (default 5 days). */
  disableAfterFailingDays?: number;
  /** How long a callback URL accepts its answer (default 7 days). */
  callbackTtlMs?: number;
  /** A repeated idempotency key within this window returns the first message (default 24 h). */
  idempotencyWindowMs?: number;
  /** How long stop() lets in-flight sends finish before aborting them (default: the request timeout). */
  stopGraceMs?: number;
  logger?: DispatcherLogger;
  userAgent?: string;
}

const DAY = 86_400_000;
const DEFAULT_TENANT = 'default';
const TEST_EVENT = 'c1.webhooks.v1.PayloadTest';
// Manual redeliveries are recognisable by id so their attempts are recorded with the `manual` trigger.
const MANUAL_PREFIX = 'dlv_m';
/** How `lastError` starts on a delivery ended because its callback lapsed unanswered. */
const CALLBACK_EXPIRED = 'callback_expired:';

/** Room sharing: of the batches of finishes that refill after a held-back claim, every eighth claims as usual. */
const FULL_CLAIM_EVERY = 8;
const silent: DispatcherLogger = { info() {}, warn() {}, error() {} };
// Ref'd on purpose: started workers are a service that keeps a worker-only process alive until stop().
const realTimers: Timers = {
  setTimeout(callback, ms) {
    return setTimeout(callback, ms);
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** A lease this process holds: its send in flight, or queued for a send slot. */
interface Held {
  /** Settles when the send ends or the queued lease is handed back. */
  done: Promise<void>;
  settle: () => void;
  /** When the lease was last taken or renewed. */
  leasedAt: number;
  /** False once a renewal found the lease gone. */
  held: boolean;
  /**
   * Its finish went to the store with a claim for the room it freed (`finishThenClaim`), or that room was left to a
   * process that asked for it (`roomGiven`): no claim after the send.
   */
  claimedAlong?: boolean;
}

/**
 * Creates the send side: endpoint CRUD, publish, workers, callbacks, test webhooks, history and redelivery.
 *
 * @example
 * ```ts
 * const dispatcher = createDispatcher({ store: new MemoryStore(), secretKey, signing: { issuer: 'acme.example', keys: [key] },
 *   publicUrl: 'https://hooks.acme.example' });
 * await dispatcher.createEndpoint({ name: 'Jira', url: 'https://jira.example/hook', triggers: ['*'] });
 * dispatcher.start();
 * await dispatcher.publish({ type: 'AccessRequestCreated', data: { id: '123' } });
 * ```
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const store = options.store;
  const clock = options.clock ?? { now: () => Date.now() };
  const timers = options.timers ?? realTimers;
  const logger = options.logger ?? silent;
  const box = createSecretBox(options.secretKey);
  const tokenKey = deriveSubkey(options.secretKey, 'hookline callback tokens');
  const policy = resolvePolicy(options.destinations);
  const publicUrl = (options.publicUrl ?? 'http://localhost:3000').replace(/\/+$/, '');
  const requestTimeoutMs = positive(options.requestTimeoutMs, 15_000, 'requestTimeoutMs');
  const maxPayloadBytes = positive(options.maxPayloadBytes, 256 * 1024, 'maxPayloadBytes');
  const concurrency = positive(options.concurrency, 16, 'concurrency');
  const perEndpointConcurrency = positive(options.perEndpointConcurrency, 4, 'perEndpointConcurrency');
  const prefetch = nonNegativeInteger(options.prefetch, store.claimsAhead === true ? concurrency : 0, 'prefetch');
  const leaseMs = positive(options.leaseMs, 60_000, 'leaseMs');
  const pollIntervalMs = positive(options.pollIntervalMs, 1_000, 'pollIntervalMs');
  const retentionMs = positive(options.retentionDays, 8, 'retentionDays') * DAY;
  const purgeIntervalMs = positive(options.purgeIntervalMs, 3_600_000, 'purgeIntervalMs');
  const disableAfterMs = positive(options.disableAfterFailingDays, 5, 'disableAfterFailingDays') * DAY;
  const callbackTtlMs = positive(options.callbackTtlMs, 7 * DAY, 'callbackTtlMs');
  const idempotencyWindowMs = positive(options.idempotencyWindowMs, DAY, 'idempotencyWindowMs');
  const stopGraceMs = positive(options.stopGraceMs, requestTimeoutMs, 'stopGraceMs');
  const schedule = options.retrySchedule ?? DEFAULT_RETRY_SCHEDULE;
  if (schedule.length === 0 || schedule.some((s) => !Number.isFinite(s) || s < 0)) {
    throw new HooklineError('invalid_config', 'retrySchedule must list at least one non-negative number of seconds.');
  }
  const retry: RetryPolicy = {
    schedule,
    jitter: options.retryJitter ?? 0.2,
    random: options.random ?? Math.random,
    throttleFloorMs: 60_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 10 * 3_600_000,
  };
  const transport = createTransport({ policy, timeoutMs: requestTimeoutMs, maxResponseBytes: options.maxResponseBytes ?? 64 * 1024 });
  const builder = new RequestBuilder({ box, signing: options.signing, now: () => clock.now(), userAgent: options.userAgent ?? 'hookline/0.1' });
  const listeners = new Set<(event: OperationalEvent) => void>();
  const callbackHandlers = new Set<(answer: CallbackAnswer) => void | Promise<void>>();
  // Compiled triggers and filters per endpoint version, so publish never re-parses JSONPath.
  const routes = new Map<string, { trigger: ReturnType<typeof compileTrigger>; filter: ReturnType<typeof compileMatcher> | undefined }>();

  function emit(event: OperationalEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ err: error, event: event.type }, 'An operational event listener threw.');
      }
    }
  }

  // ------------------------------------------------------------------ endpoints

  async function createEndpoint(input: EndpointInput, tenant?: string): Promise<{ endpoint: Endpoint; secret?: string }> {
    const owner = tenantOf(tenant);
    checkSchema('endpoint', input);
    checkEndpointInput(input, policy);
    checkCompiled(input);
    const { stored, secret } = sealAuth(input.auth ?? { type: 'jwt' }, box);
    checkSigner(stored);
    const now = clock.now();
    const record: EndpointRecord = {
      id: newId('ep', now), tenant: owner, name: input.name.trim(), description: input.description, url: input.url,
      method: input.method ?? 'POST', headers: { ...(input.headers ?? {}) }, auth: stored, triggers: [...input.triggers],
      filter: input.filter, bodyTemplate: input.bodyTemplate, active: input.active ?? true, createdAt: now, updatedAt: now,
    };
    const created = await store.createEndpoint(record);
    logger.info({ tenant: owner, endpointId: created.id, auth: stored.type }, 'Endpoint created.');
    return secret === undefined ? { endpoint: toEndpoint(created) } : { endpoint: toEndpoint(created), secret };
  }

  async function getEndpointRecord(id: string, tenant: string): Promise<EndpointRecord> {
    if (typeof id !== 'string' || id === '') throw new HooklineError('not_found', 'No such endpoint.');
    const record = await store.getEndpoint(tenant, id);
    if (record === undefined) throw new HooklineError('not_found', 'No such endpoint.', { details: { endpointId: id } });
    return record;
  }

  async function updateEndpoint(id: string, patch: Partial<EndpointInput>, tenant?: string): Promise<Endpoint> {
    const owner = tenantOf(tenant);
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw invalid('body', 'must be an object');
    checkSchema('endpoint-patch', patch);
    const current = await getEndpointRecord(id, owner);
    const merged: EndpointInput = {
      name: patch.name ?? current.name,
      url: patch.url ?? current.url,
      method: patch.method ?? current.method,
      headers: patch.headers ?? current.headers,
      triggers: patch.triggers ?? current.triggers,
      active: patch.active ?? current.active,
      ...optional('description', 'description' in patch ? patch.description : current.description),
      ...optional('filter', 'filter' in patch ? patch.filter : current.filter),
      ...optional('bodyTemplate', 'bodyTemplate' in patch ? patch.bodyTemplate : current.bodyTemplate),
    };
    const authPatch = patch.auth;
    if (authPatch !== undefined) merged.auth = authPatch;
    checkEndpointInput(merged, policy, current.auth);
    checkCompiled(merged);
    let auth = current.auth;
    if (authPatch !== undefined) {
      if ((authPatch.type === 'standard-webhooks' || authPatch.type === 'hmac') && authPatch.secret === undefined && !keepsStoredSecret(authPatch, current.auth)) {
        throw invalid('auth.secret', 'is required when switching to this scheme on an update (it is shown only at creation)');
      }
      auth = sealAuth(authPatch, box).stored;
      if (keepsStoredSecret(authPatch, current.auth)) {
        auth = { ...auth, secret: current.auth['secret'] ?? null, hint: current.auth['hint'] ?? null };
      }
      checkSigner(auth);
    }
    const reactivated = merged.active === true && !current.active;
    const record: EndpointRecord = {
      ...current,
      name: merged.name.trim(), description: merged.description, url: merged.url, method: merged.method ?? 'POST',
      headers: { ...(merged.headers ?? {}) }, auth, triggers: [...merged.triggers], filter: merged.filter,
      bodyTemplate: merged.bodyTemplate, active: merged.active ?? true,
      disabledReason: reactivated || merged.active === true ? undefined : current.disabledReason,
      failingSince: reactivated ? undefined : current.failingSince,
      updatedAt: Math.max(clock.now(), current.updatedAt + 1),
    };
    const updated = await store.updateEndpoint(record);
    if (updated === undefined) throw new HooklineError('not_found', 'No such endpoint.', { details: { endpointId: id } });
    return toEndpoint(updated);
  }

  function checkCompiled(input: Partial<EndpointInput>): void {
    if (input.triggers !== undefined) {
      try {
        compileTrigger(input.triggers);
      } catch (error) {
        if (!isHooklineError(error)) throw error;
        throw new HooklineError('invalid_endpoint', error.message, { details: { field: 'triggers', reason: error.message, ...(error.details ?? {}) } });
      }
    }
    if (input.bodyTemplate !== undefined) builder.checkTemplate(input.bodyTemplate);
    if (input.filter !== undefined) compileMatcher(input.filter);
  }

  function checkSigner(auth: EndpointRecord['auth']): void {
    try {
      // Building the signer proves the secret and scheme are usable before anything is stored.
      builder.checkSigner(auth);
    } catch (error) {
      throw invalid(auth.type === 'hmac' ? 'auth' : 'auth.secret', isHooklineError(error) ? error.message : 'is not usable');
    }
  }

  // ------------------------------------------------------------------ publish

  async function publish(input: PublishInput): Promise<PublishResult> {
    if (typeof input !== 'object' || input === null) throw new HooklineError('invalid_payload', 'An event is an object with a type and data.');
    const tenant = tenantOf(input.tenant);
    if (typeof input.type !== 'string' || input.type.trim() === '' || input.type.length > 200) {
      throw new HooklineError('invalid_payload', 'The event type must be a non-empty string of at most 200 characters.', { details: { field: 'type' } });
    }
    if (input.idempotencyKey !== undefined && (typeof input.idempotencyKey !== 'string' || input.idempotencyKey === '' || input.idempotencyKey.length > 200)) {
      throw new HooklineError('invalid_payload', 'The idempotency key must be a non-empty string of at most 200 characters.', { details: { field: 'idempotencyKey' } });
    }
    let serialised: string | undefined;
    try {
      serialised = JSON.stringify(input.data);
    } catch {
      serialised = undefined;
    }
    if (serialised === undefined) throw new HooklineError('invalid_payload', 'The event data must be a JSON value.', { details: { field: 'data' } });
    const size = Buffer.byteLength(serialised, 'utf8');
    if (size > maxPayloadBytes) {
      throw new HooklineError('payload_too_large', `The event data is ${size} bytes; the limit is ${maxPayloadBytes}.`, { details: { size, limit: maxPayloadBytes } });
    }
    // A round trip drops undefined members and class instances, so what is stored is exactly what will be sent.
    const data = JSON.parse(serialised) as JsonValue;
    const now = clock.now();
    const message: MessageRecord = { id: newId('msg', now), tenant, type: input.type, data, idempotencyKey: input.idempotencyKey, createdAt: now };
    const endpoints = (await store.activeEndpoints(tenant)).filter((endpoint) => subscribes(endpoint, message));
    const deliveries = endpoints.map((endpoint) => newDelivery(newId('dlv', now), message, endpoint.id, now));
    const result = await store.createMessage({
      message, deliveries, ...(input.idempotencyKey === undefined ? {} : { idempotentSince: now - idempotencyWindowMs }),
    });
    if (!result.created) {
      const existing = await store.listDeliveries(tenant, result.message.id);
      return { messageId: result.message.id, deliveries: existing.length, duplicate: true };
    }
    // A store with wake-ups has woken the workers already; a second wake would cost a second, empty claim.
    if (deliveries.length > 0 && unsubscribeWake === undefined) wake();
    return { messageId: message.id, deliveries: deliveries.length, duplicate: false };
  }

  function subscribes(endpoint: EndpointRecord, message: MessageRecord): boolean {
    const key = `${endpoint.id}:${endpoint.updatedAt}`;
    let compiled = routes.get(key);
    if (compiled === undefined) {
      if (routes.size >= 1000) routes.clear();
      const hasFilter = endpoint.filter !== undefined && Object.keys(endpoint.filter).length > 0;
      compiled = { trigger: compileTrigger(endpoint.triggers), filter: hasFilter ? compileMatcher(endpoint.filter!) : undefined };
      routes.set(key, compiled);
    }
    return compiled.trigger.test(message.type) && (compiled.filter === undefined || compiled.filter.test(message.data));
  }

  // ------------------------------------------------------------------ one send

  interface SendResult {
    prepared?: PreparedRequest | undefined;
    result: TransportResult;
    startedAt: number;
    /** Set when the request could not be built (template or signing failure). */
    buildError?: { code: string; message: string } | undefined;
  }

  async function sendOnce(endpoint: EndpointRecord, event: OutgoingEvent, callbackUrl: string, signal?: AbortSignal): Promise<SendResult> {
    const startedAt = clock.now();
    let prepared: PreparedRequest;
    try {
      prepared = await builder.prepare(endpoint, event, callbackUrl);
    } catch (error) {
      const buildError = describeError(error);
      return { startedAt, buildError, result: { headers: {}, body: '', truncated: false, durationMs: 0 } };
    }
    const result = await transport.send({
      method: prepared.method, url: prepared.url, headers: prepared.headers, body: prepared.bytes, ...(signal === undefined ? {} : { signal }),
    });
    return { prepared, result, startedAt };
  }

  function toAttempt(
    send: SendResult, endpoint: EndpointRecord, meta: { deliveryId?: string; messageId?: string; number: number; trigger: AttemptRecord['trigger'] },
  ): AttemptRecord {
    const { prepared, result } = send;
    const status = result.status;
    let error: AttemptRecord['error'];
    if (send.buildError !== undefined) error = send.buildError;
    else if (result.error !== undefined) error = { code: result.error.code, message: result.error.message };
    else if (status !== undefined && (status < 200 || status >= 300)) {
      error = status >= 300 && status < 400
        ? { code: 'redirect_not_followed', message: `HTTP ${status}: redirects are not followed.` }
        : { code: 'http_status', message: `HTTP ${status}` };
    }
    return {
      id: newId('att', send.startedAt),
      tenant: endpoint.tenant,
      endpointId: endpoint.id,
      ...(meta.deliveryId === undefined ? {} : { deliveryId: meta.deliveryId }),
      ...(meta.messageId === undefined ? {} : { messageId: meta.messageId }),
      number: meta.number,
      trigger: meta.trigger,
      request: {
        method: prepared?.method ?? endpoint.method,
        url: redactUrl(prepared?.url ?? endpoint.url),
        headers: prepared === undefined ? {} : redactHeaders(prepared.headers, prepared.secretHeaders),
        body: prepared?.body ?? '',
      },
      response: status === undefined ? undefined : { status, headers: result.headers, body: result.body, truncated: result.truncated },
      error,
      durationMs: result.durationMs,
      startedAt: send.startedAt,
      succeeded: status !== undefined && status >= 200 && status < 300,
    };
  }

  // ------------------------------------------------------------------ workers

  const workerId = newId('wrk', clock.now());
  let running = false;
  let pumping = false;
  let pumpAgain = false;
  let idleTimer: unknown;
  let unsubscribeWake: (() => void) | undefined;
  let unsubscribeRoom: (() => void) | undefined;
  let nextPurgeAt = 0;
  let lastClaimAt = 0;
  let wantedFree = 1;
  /**
   * After a short claim (the store had less claimable work than there was room for, e.g. its endpoints at their
   * limits), sends finished since, and the leases held then: room alone no longer means work to claim, so the next
   * claim waits for a batch of finished sends (or for all of them, if fewer were held), a store wake or the poll.
   * `quiet`: the store said nothing more was claimable then (`claimDueWithNext`), and when something next falls due:
   * finished sends do not claim at all; a store wake, that time or the poll does.
   */
  let shortClaim: { held: number; finished: number; quiet?: { nextDueAt: number | undefined } } | undefined;
  /** A store wake came while finishes waited to go: their flush claims, whatever the last claim found. */
  let wokenWhileFinishing = false;
  /** Finished sends' outcomes waiting for the end of this event-loop turn, to go to the store together (`finish`). */
  let finishing: Array<{ input: FinishInput; resolve: (held: boolean) => void; reject: (error: unknown) => void }> = [];
  /** Leases this process holds at most: sends in flight plus deliveries queued for a send slot. */
  const capacity = concurrency + prefetch;
  /** After a send, claim once this much room is free: with a queue ahead, half of it; without one, a quarter of the slots. */
  const claimBatch = Math.max(1, Math.floor(prefetch > 0 ? prefetch / 2 : concurrency / 4));
  /**
   * Room sharing, with a store shared by processes that can pass room between them (`roomGiven`, Postgres): after a
   * claim held back by the per-endpoint limits, finishes still go with a claim, a refill of the room they free (at
   * most that, and only on their own endpoints: no walk of the due queue), so a worker keeps its share of the limits
   * without racing the others for it (the loser of each race made an empty claim). Every `FULL_CLAIM_EVERY`-th such
   * batch claims as usual instead, so endpoints this worker holds nothing of are not left out. A worker held back
   * while it holds fewer leases than a quarter of its send slots asks the others for room; each of them then leaves
   * its next batch's room to the race and wakes it.
   */
  const sharesRoom = store.finishThenClaim !== undefined && store.roomGiven !== undefined && store.askForRoom !== undefined;
  const fewLeases = Math.max(1, Math.floor(concurrency / 4));
  let heldBackBatches = 0;
  /** Another process asked for room: the next held-back batch of finishes goes without a claim, and wakes it. */
  let roomWanted = false;
  let purging = false;
  let purgeRun: Promise<void> = Promise.resolve();
  /**
   * Every lease this process holds, by delivery id: sends in flight and deliveries queued for a send slot, with when
   * the lease was last taken or renewed. `done` settles when the send ends or the queued lease is handed back.
   */
  const inFlight = new Map<string, Held>();
  /** Claimed deliveries waiting for a send slot, in due order (`queue[queueHead]` is next). */
  let queue: DeliveryRecord[] = [];
  let queueHead = 0;
  let sending = 0;
  // One signal for every send of this run: stop() aborts whatever is still in flight once its grace has passed.
  let stopping = sharedAbort();
  let renewalTimer: unknown;
  const renewEveryMs = Math.max(1, Math.floor(leaseMs / 3));

  /** `minFree` > 1 batches claims after a finished send: one claim per few completions, not one per completion. */
  function wake(minFree = 1): void {
    if (!running) return;
    wantedFree = Math.min(wantedFree, minFree);
    void pump();
  }

  async function pump(): Promise<void> {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        const minFree = wantedFree;
        wantedFree = Number.POSITIVE_INFINITY;
        let drained = false;
        while (running && capacity - inFlight.size >= minFree) {
          const limit = capacity - inFlight.size;
          lastClaimAt = clock.now();
          const options = { now: lastClaimAt, owner: workerId, leaseMs, limit, perEndpointLimit: perEndpointConcurrency };
          const reportsNext = store.claimDueWithNext !== undefined;
          const claim: ClaimWithNext = store.claimDueWithNext === undefined
            ? { deliveries: await store.claimDue(options) }
            : await store.claimDueWithNext(options);
          if (!running) {
            await releaseClaimed(claim.deliveries);
            break;
          }
          if (takeClaim(claim, limit, reportsNext)) {
            drained = true;
            break;
          }
        }
        if (running && (drained || inFlight.size === 0)) await scheduleIdle();
        else if (running && idleTimer === undefined) setIdle(pollIntervalMs);
      } while (pumpAgain && running);
      if (running) maybePurge();
    } catch (error) {
      stepFailed(error);
    } finally {
      pumping = false;
    }
    afterStep();
  }

  /** A claim (alone or with finishes) failed: logged, and tried again after the poll interval. */
  function stepFailed(error: unknown): void {
    emit({ type: 'worker.error', error });
    logger.error({ err: describeError(error), workerId }, 'A worker step failed; retrying after the poll interval.');
    if (running) setIdle(pollIntervalMs);
  }

  /** A claim (alone or with finishes) is back: finishes that waited for it go next, else a claim asked for meanwhile. */
  function afterStep(): void {
    if (finishing.length > 0) void flushFinishes();
    else if (pumpAgain && running) void pump();
  }

  /** Sleeps until the next delivery is due, at most the poll interval (other processes publish too). */
  async function scheduleIdle(): Promise<void> {
    const quiet = shortClaim?.quiet;
    if (inFlight.size > 0 && quiet === undefined) {
      // A finishing send wakes us anyway; the poll only covers retries falling due meanwhile.
      if (idleTimer === undefined) setIdle(pollIntervalMs);
      return;
    }
    const due = quiet === undefined ? await store.nextDueAt() : quiet.nextDueAt;
    const now = clock.now();
    if (due !== undefined && due > lastClaimAt && due <= now) {
      // It became due after the last claim looked: claim again rather than wait.
      wantedFree = 1;
      pumpAgain = true;
      return;
    }
    // Due but not claimable (endpoint at its limit, or leased elsewhere): a finishing send or the poll wakes us.
    const delay = due === undefined || due <= now ? pollIntervalMs : Math.min(due - now, pollIntervalMs);
    setIdle(delay);
  }

  /** A retry this process just scheduled, when finished sends do not claim (`quiet`): wake up for it. */
  function noteDue(at: number): void {
    const quiet = shortClaim?.quiet;
    if (!running || quiet === undefined || (quiet.nextDueAt !== undefined && quiet.nextDueAt <= at)) return;
    quiet.nextDueAt = at;
    setIdle(Math.min(Math.max(0, at - clock.now()), pollIntervalMs));
  }

  function setIdle(delay: number): void {
    if (idleTimer !== undefined) timers.clearTimeout(idleTimer);
    idleTimer = timers.setTimeout(() => {
      idleTimer = undefined;
      wake();
    }, delay);
  }

  /** stop() began while claiming: hands these straight back rather than start sends it will not wait for. */
  async function releaseClaimed(claimed: DeliveryRecord[]): Promise<void> {
    await Promise.all(claimed.map((delivery) => store.releaseLease(delivery.id, workerId)));
  }

  /** Tracks what a claim of up to `limit` took and notes whether it came back short; true when it did. */
  function takeClaim(claim: ClaimWithNext, limit: number, reportsNext: boolean): boolean {
    const claimed = claim.deliveries;
    for (const delivery of claimed) track(delivery);
    shortClaim = claimed.length < limit ? { held: inFlight.size, finished: 0 } : undefined;
    // Nothing held back (nothing unleased was due): the next work comes with a wake, a due time or the poll.
    if (shortClaim !== undefined && reportsNext && (claim.nextDueAt === undefined || claim.nextDueAt > lastClaimAt)) {
      shortClaim.quiet = { nextDueAt: claim.nextDueAt };
    }
    // Held back by the limits (work is due, other processes hold its endpoints' room) with few leases of its own.
    if (sharesRoom && shortClaim !== undefined && shortClaim.quiet === undefined && inFlight.size < fewLeases) store.askForRoom?.();
    return claimed.length < limit;
  }

  /**
   * A finished send's outcome, to the store. With `finishThenClaim`, the finishes of one event-loop turn go together,
   * and with them a claim for the room they free, in one round trip, while the last claim came back full (or a store
   * wake came meanwhile) and the worker is not stopping; finishes made while a claim is under way wait for it.
   * Otherwise each goes as `finishAttempt`.
   */
  function finish(input: FinishInput): Promise<boolean> {
    if (store.finishThenClaim === undefined) return store.finishAttempt(input);
    return new Promise((resolve, reject) => {
      finishing.push({ input, resolve, reject });
      if (finishing.length === 1) setImmediate(() => void flushFinishes());
    });
  }

  async function flushFinishes(): Promise<void> {
    // Worth a claim along: the last claim came back full (more is due than there was room for), or a wake came
    // meanwhile. After one held back by the per-endpoint limits they go alone, without room sharing: taking back at
    // once the room its own finishes free, a worker would keep it from every other worker for as long as the backlog
    // lasts, so any worker's next claim may take that room. With room sharing (see `sharesRoom`) they go with a
    // refill of that room, unless another process asked for room: then it is left to the race, and the asker woken.
    const heldBack = sharesRoom && shortClaim !== undefined && shortClaim.quiet === undefined && !wokenWhileFinishing;
    const giving = heldBack && roomWanted;
    const wanted = shortClaim === undefined || wokenWhileFinishing || (heldBack && !giving);
    // A claim under way: these go with the next one, when it is back (see the end of pump).
    if (pumping && running && wanted) return;
    const batch = finishing;
    finishing = [];
    const room = capacity - inFlight.size + batch.length;
    if (store.finishThenClaim === undefined || !running || pumping || !wanted || room < 1) {
      const finished = batch.map((pending) => store.finishAttempt(pending.input).then(pending.resolve, pending.reject));
      if (giving && running && !pumping) {
        roomWanted = false;
        // No claim after these sends either: their room is the asker's to take.
        for (const pending of batch) {
          const entry = inFlight.get(pending.input.attempt.deliveryId as string);
          if (entry !== undefined) entry.claimedAlong = true;
        }
        void Promise.all(finished).then(() => store.roomGiven?.());
      }
      if (wokenWhileFinishing) {
        // The wake that was left to these finishes' claim: no claim went with them, so it claims now.
        wokenWhileFinishing = false;
        wake();
      } else if (pumpAgain && running && !pumping) void pump();
      return;
    }
    wokenWhileFinishing = false;
    pumping = true;
    try {
      lastClaimAt = clock.now();
      // Held back: at most the room these free, refilled on their own endpoints but for every FULL_CLAIM_EVERY-th batch.
      const limit = heldBack ? Math.min(room, batch.length) : room;
      const refill = heldBack && (heldBackBatches += 1) % FULL_CLAIM_EVERY !== 0;
      const options = { now: lastClaimAt, owner: workerId, leaseMs, limit, perEndpointLimit: perEndpointConcurrency, refill };
      let result: FinishThenClaim;
      try {
        result = await store.finishThenClaim(batch.map((pending) => pending.input), options);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      for (const pending of batch) {
        const entry = inFlight.get(pending.input.attempt.deliveryId as string);
        if (entry !== undefined) entry.claimedAlong = true;
      }
      batch.forEach((pending, i) => pending.resolve(result.held[i] === true));
      if (!running) {
        await releaseClaimed(result.claim.deliveries);
        return;
      }
      if (refill) {
        // A refill only takes back known room, full or not: the limits still hold work back, and it says nothing of
        // what falls due next. Only a claim as usual ends the held-back state.
        for (const delivery of result.claim.deliveries) track(delivery);
        if (idleTimer === undefined) setIdle(pollIntervalMs);
      } else if (takeClaim(result.claim, limit, true)) await scheduleIdle();
      else if (idleTimer === undefined) setIdle(pollIntervalMs);
    } catch (error) {
      stepFailed(error);
    } finally {
      pumping = false;
    }
    afterStep();
  }

  /** A claimed delivery: queued for a send slot, sent at once if one is free. */
  function track(delivery: DeliveryRecord): void {
    let settle: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    inFlight.set(delivery.id, { done, settle, leasedAt: lastClaimAt, held: true });
    queue.push(delivery);
    startSends();
    scheduleRenewal();
  }

  function startSends(): void {
    while (running && sending < concurrency && queueHead < queue.length) {
      const delivery = queue[queueHead] as DeliveryRecord;
      queueHead += 1;
      const entry = inFlight.get(delivery.id);
      if (entry !== undefined && !entry.held) {
        // Its lease lapsed while it waited (a renewal found it gone): another worker may be sending it already.
        entry.settle();
        inFlight.delete(delivery.id);
        continue;
      }
      sending += 1;
      void run(delivery);
    }
    if (queueHead === queue.length) {
      queue = [];
      queueHead = 0;
    }
  }

  /**
   * A send ended: its slot, and its endpoint's, are free; claim once a batch of them is. Not after a quiet claim: the
   * slot freed no work, since nothing was held back (a retry this send scheduled has its own wake-up, `noteDue`).
   */
  function afterSend(): void {
    if (shortClaim?.quiet !== undefined) return;
    if (shortClaim !== undefined) {
      shortClaim.finished += 1;
      if (shortClaim.finished < Math.min(claimBatch, shortClaim.held)) return;
    }
    wake(claimBatch);
  }

  /**
   * A store wake (something was published): worth a claim now only if no claimed work is queued already. While
   * finished sends wait to go to the store, it is left to their flush, which then claims along whatever the last claim
   * found (a claim that starts after this wake, so sees what woke it). False when this worker has no room for
   * another lease: a store that wakes one process per publish passes it to another.
   */
  function storeWake(): boolean {
    if (finishing.length > 0 && store.finishThenClaim !== undefined) wokenWhileFinishing = true;
    else wake(queueHead < queue.length ? claimBatch : 1);
    return running && inFlight.size < capacity;
  }

  async function run(delivery: DeliveryRecord): Promise<void> {
    try {
      await deliver(delivery, stopping.signal);
    } catch (error) {
      emit({ type: 'worker.error', error });
      logger.error({ err: describeError(error), deliveryId: delivery.id }, 'A delivery step failed; its lease will expire and it will be retried.');
    } finally {
      const entry = inFlight.get(delivery.id);
      entry?.settle();
      inFlight.delete(delivery.id);
      sending -= 1;
      startSends();
      // Its finish went with a claim for the room it freed: nothing more to claim for it.
      if (entry?.claimedAlong !== true) afterSend();
    }
  }

  /** Hands back the leases of deliveries still queued (stopping): another worker sends them at once. */
  async function releaseQueued(): Promise<void> {
    const queued = queue.slice(queueHead);
    queue = [];
    queueHead = 0;
    await Promise.all(queued.map(async (delivery) => {
      try {
        await store.releaseLease(delivery.id, workerId);
      } catch (error) {
        logger.warn({ err: describeError(error), deliveryId: delivery.id }, 'Handing back a queued lease failed; it will expire instead.');
      } finally {
        inFlight.get(delivery.id)?.settle();
        inFlight.delete(delivery.id);
      }
    }));
  }

  /**
   * Renews the leases of sends in flight, so a slow receiver never lets another worker send a duplicate: one sweep
   * every third of the lease for all of them (not a timer per send), renewing each lease at least half a period old.
   */
  function scheduleRenewal(): void {
    if (renewalTimer !== undefined || inFlight.size === 0) return;
    renewalTimer = timers.setTimeout(renewLeases, renewEveryMs);
  }

  function renewLeases(): void {
    renewalTimer = undefined;
    const now = clock.now();
    for (const [deliveryId, entry] of inFlight) {
      if (!entry.held || now - entry.leasedAt < renewEveryMs / 2) continue;
      entry.leasedAt = now;
      store.renewLease(deliveryId, workerId, now + leaseMs).then((held) => {
        if (!held) entry.held = false;
      }, () => undefined);
    }
    scheduleRenewal();
  }

  function maybePurge(): void {
    const now = clock.now();
    if (purging || now < nextPurgeAt) return;
    purging = true;
    nextPurgeAt = now + purgeIntervalMs;
    purgeRun = (async () => {
      try {
        await expireCallbacks(now);
        let total = 0;
        // Small batches until nothing is left, yielding between them so sends keep flowing during a big purge.
        while (running) {
          const deleted = await store.purge({ before: now - retentionMs, now, limit: 500 });
          total += deleted;
          if (deleted === 0) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (total > 0) logger.info({ deleted: total, workerId }, 'Purged old history.');
      } catch (error) {
        emit({ type: 'worker.error', error });
        logger.error({ err: describeError(error) }, 'Purging history failed.');
      } finally {
        purging = false;
      }
    })();
  }

  /** Ends deliveries whose callback URL lapsed unanswered, so they finish and their messages can be purged. */
  async function expireCallbacks(now: number): Promise<void> {
    const reason = `${CALLBACK_EXPIRED} no answer arrived on the callback URL within ${describeDuration(callbackTtlMs)}`;
    const batch = 500;
    while (running) {
      const expired = await store.expireAwaitingCallbacks({ now, before: now - callbackTtlMs, limit: batch, reason });
      for (const delivery of expired) {
        logger.info({ tenant: delivery.tenant, deliveryId: delivery.id, endpointId: delivery.endpointId }, 'Callback expired unanswered; delivery exhausted.');
        emit({ type: 'delivery.callback_expired', delivery });
      }
      if (expired.length < batch) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function deliver(delivery: DeliveryRecord, signal: AbortSignal): Promise<void> {
    const endpoint = await store.getEndpoint(delivery.tenant, delivery.endpointId);
    const message = endpoint === undefined ? undefined : await store.getMessage(delivery.tenant, delivery.messageId);
    if (endpoint === undefined || message === undefined || !endpoint.active) {
      await store.setDeliveryStatus(delivery.id, 'cancelled', clock.now());
      return;
    }
    const token = callbackToken(tokenKey, delivery.id);
    const callbackUrl = `${publicUrl}/callbacks/${token}`;
    const send = await sendOnce(endpoint, message, callbackUrl, signal);
    if (send.result.error?.code === 'aborted') {
      await store.releaseLease(delivery.id, workerId);
      return;
    }
    const number = delivery.attemptCount + 1;
    const attempt = toAttempt(send, endpoint, {
      deliveryId: delivery.id, messageId: delivery.messageId, number, trigger: delivery.id.startsWith(MANUAL_PREFIX) ? 'manual' : 'scheduled',
    });
    // The clock, not startedAt + duration: with an injected clock, schedules stay exact in the clock's own time.
    const now = clock.now();
    const status = attempt.response?.status;
    let outcome: DeliveryOutcome;
    let disable: 'gone' | 'failing' | undefined;
    if (attempt.succeeded) {
      // The answer may already be in (it can race the 202): then the delivery is done.
      const awaiting = status === 202 && send.prepared?.callbackExpected === true && (await ensureCallback(token, delivery)).answeredAt === undefined;
      outcome = { status: awaiting ? 'awaiting_callback' : 'succeeded' };
    } else if (status === 410) {
      outcome = { status: 'cancelled', lastError: 'HTTP 410: the endpoint is gone' };
      disable = 'gone';
    } else {
      const throttled = status === 429 || attempt.error?.code === 'timeout';
      const retryAfterMs = parseRetryAfter(attempt.response?.headers['retry-after'], now);
      const next = nextAttemptAt(retry, number, now, { throttled, retryAfterMs });
      outcome = next === undefined
        ? { status: 'exhausted', lastError: attempt.error?.message }
        : { status: 'pending', nextAttemptAt: next, lastError: attempt.error?.message };
    }
    const held = await finish({ owner: workerId, attempt, outcome });
    if (held && outcome.nextAttemptAt !== undefined) noteDue(outcome.nextAttemptAt);
    if (!held) {
      logger.warn({ deliveryId: delivery.id, workerId }, 'The lease was lost during the send; the attempt is recorded and the delivery left to its new owner.');
      return;
    }
    const after: DeliveryRecord = {
      ...delivery, status: outcome.status, attemptCount: number, nextAttemptAt: outcome.nextAttemptAt ?? delivery.nextAttemptAt,
      lastError: outcome.lastError, leaseOwner: undefined, leaseExpiresAt: undefined, updatedAt: now,
    };
    switch (outcome.status) {
      case 'succeeded':
        emit({ type: 'delivery.succeeded', delivery: after, attempt });
        break;
      case 'awaiting_callback':
        emit({ type: 'delivery.awaiting_callback', delivery: after, attempt });
        break;
      case 'pending':
        emit({ type: 'delivery.failed', delivery: after, attempt, nextAttemptAt: after.nextAttemptAt });
        break;
      case 'exhausted':
        emit({ type: 'delivery.exhausted', delivery: after, attempt });
        break;
      default:
        break;
    }
    await trackEndpointHealth(endpoint, attempt.succeeded, now, disable);
  }

  /** The callback record of a delivery, created on first need (a 202, or an answer racing it). */
  async function ensureCallback(token: string, delivery: DeliveryRecord): Promise<CallbackRecord> {
    const tokenHash = hashToken(token);
    const existing = await store.getCallback(tokenHash);
    if (existing !== undefined) return existing;
    const record: CallbackRecord = {
      tokenHash, tenant: delivery.tenant, deliveryId: delivery.id, messageId: delivery.messageId, endpointId: delivery.endpointId,
      expiresAt: clock.now() + callbackTtlMs,
    };
    try {
      await store.createCallback(record);
      return record;
    } catch (error) {
      // Created meanwhile by the other side of the race.
      const created = await store.getCallback(tokenHash);
      if (created === undefined) throw error;
      return created;
    }
  }

  async function trackEndpointHealth(endpoint: EndpointRecord, succeeded: boolean, now: number, disable: 'gone' | 'failing' | undefined): Promise<void> {
    if (succeeded && endpoint.failingSince === undefined) return;
    // Re-read: an admin may have changed the endpoint while the request was in flight.
    const current = await store.getEndpoint(endpoint.tenant, endpoint.id);
    if (current === undefined) return;
    if (succeeded) {
      if (current.failingSince !== undefined) await store.updateEndpoint({ ...current, failingSince: undefined, updatedAt: current.updatedAt });
      return;
    }
    const failingSince = current.failingSince ?? now;
    if (disable === undefined && now - failingSince >= disableAfterMs) disable = 'failing';
    if (disable !== undefined && current.active) {
      const disabled = await store.updateEndpoint({ ...current, active: false, disabledReason: disable, failingSince, updatedAt: Math.max(now, current.updatedAt + 1) });
      if (disabled !== undefined) {
        logger.warn({ tenant: current.tenant, endpointId: current.id, reason: disable }, 'Endpoint disabled.');
        emit({ type: 'endpoint.disabled', endpoint: toEndpoint(disabled), reason: disable });
      }
    } else if (current.failingSince === undefined) {
      await store.updateEndpoint({ ...current, failingSince, updatedAt: current.updatedAt });
    }
  }

  // ------------------------------------------------------------------ callbacks

  async function handleCallback(token: string, body: Uint8Array): Promise<CallbackAnswer> {
    const notFound = () => new HooklineError('callback_not_found', 'No callback is waiting at this URL.');
    const deliveryId = typeof token === 'string' ? deliveryOfToken(tokenKey, token) : undefined;
    if (deliveryId === undefined) throw notFound();
    const tokenHash = hashToken(token);
    let callback = await store.getCallback(tokenHash);
    if (callback === undefined) {
      // No 202 recorded yet: accept only while the delivery is still open (the answer raced the 202).
      const delivery = await store.getDelivery(deliveryId);
      if (delivery === undefined || (delivery.status !== 'pending' && delivery.status !== 'awaiting_callback')) throw notFound();
      callback = await ensureCallback(token, delivery);
    }
    const now = clock.now();
    if (callback.answeredAt !== undefined) throw new HooklineError('callback_already_answered', 'This callback has already been answered.');
    if (callback.expiresAt <= now) throw new HooklineError('callback_expired', 'This callback URL has expired.');
    const answer = parseCallbackBody(body);
    const result = await store.answerCallback(tokenHash, answer.body, now);
    if (!result.ok) {
      if (result.reason === 'already_answered') throw new HooklineError('callback_already_answered', 'This callback has already been answered.');
      if (result.reason === 'expired') throw new HooklineError('callback_expired', 'This callback URL has expired.');
      throw notFound();
    }
    const delivery = await store.getDelivery(callback.deliveryId);
    // A send in flight (leased) finishes the delivery itself when its 202 arrives and finds the answer recorded.
    const inFlight = delivery?.status === 'pending' && delivery.leaseExpiresAt !== undefined && delivery.leaseExpiresAt > now;
    // Another worker's expiry run may have raced this answer, accepted while the URL was still valid: the answer wins.
    const expiredMeanwhile = delivery?.status === 'exhausted' && delivery.lastError?.startsWith(CALLBACK_EXPIRED) === true;
    if (delivery !== undefined && !inFlight && (delivery.status === 'awaiting_callback' || delivery.status === 'pending' || expiredMeanwhile)) {
      await store.setDeliveryStatus(callback.deliveryId, 'succeeded', now);
    }
    const full: CallbackAnswer = {
      tenant: callback.tenant, messageId: callback.messageId, endpointId: callback.endpointId, deliveryId: callback.deliveryId, ...answer,
    };
    emit({ type: 'callback.received', answer: full });
    for (const handler of callbackHandlers) {
      try {
        await handler(full);
      } catch (error) {
        // The answer is recorded; a failing app handler must not turn the receiver's answer into an error.
        logger.error({ err: describeError(error), deliveryId: full.deliveryId }, 'A callback handler threw.');
        emit({ type: 'worker.error', error });
      }
    }
    return full;
  }

  // ------------------------------------------------------------------ the rest of the surface

  async function testEndpoint(id: string, tenant?: string): Promise<AttemptRecord> {
    const owner = tenantOf(tenant);
    const endpoint = await getEndpointRecord(id, owner);
    const now = clock.now();
    const event: OutgoingEvent = { id: newId('msg', now), tenant: owner, type: TEST_EVENT, data: {}, createdAt: now };
    const send = await sendOnce(endpoint, event, '');
    const attempt = toAttempt(send, endpoint, { number: 1, trigger: 'test' });
    await store.recordAttempt(attempt);
    return attempt;
  }

  async function redeliver(messageId: string, redeliverOptions: { endpointId?: string; tenant?: string } = {}): Promise<{ deliveries: number }> {
    const owner = tenantOf(redeliverOptions.tenant);
    const message = await store.getMessage(owner, messageId);
    if (message === undefined) throw new HooklineError('not_found', 'No such message.', { details: { messageId } });
    let endpointIds: string[];
    if (redeliverOptions.endpointId !== undefined) {
      const endpoint = await getEndpointRecord(redeliverOptions.endpointId, owner);
      if (!endpoint.active) throw new HooklineError('conflict', 'The endpoint is inactive; activate it before redelivering.', { details: { endpointId: endpoint.id } });
      endpointIds = [endpoint.id];
    } else {
      const previous = await store.listDeliveries(owner, messageId);
      const candidates = [...new Set(previous.map((d) => d.endpointId))];
      const endpoints = await Promise.all(candidates.map((endpointId) => store.getEndpoint(owner, endpointId)));
      endpointIds = endpoints.filter((e): e is EndpointRecord => e !== undefined && e.active).map((e) => e.id);
    }
    const now = clock.now();
    const deliveries = endpointIds.map((endpointId) => newDelivery(`${MANUAL_PREFIX}${newId('dlv', now).slice(4)}`, message, endpointId, now));
    if (deliveries.length > 0) {
      await store.addDeliveries(deliveries);
      wake();
    }
    return { deliveries: deliveries.length };
  }

  async function getMessage(id: string, tenant?: string): Promise<{ message: MessageRecord; deliveries: DeliveryRecord[] }> {
    const owner = tenantOf(tenant);
    const message = typeof id === 'string' ? await store.getMessage(owner, id) : undefined;
    if (message === undefined) throw new HooklineError('not_found', 'No such message.', { details: { messageId: id } });
    return { message, deliveries: await store.listDeliveries(owner, id) };
  }

  return {
    createEndpoint,
    async getEndpoint(id, tenant) {
      return toEndpoint(await getEndpointRecord(id, tenantOf(tenant)));
    },
    async listEndpoints(page?: PageQuery, tenant?: string): Promise<Page<Endpoint>> {
      const result = await store.listEndpoints(tenantOf(tenant), page);
      return { items: result.items.map(toEndpoint), ...(result.nextCursor === undefined ? {} : { nextCursor: result.nextCursor }) };
    },
    updateEndpoint,
    async deleteEndpoint(id, tenant) {
      const deleted = await store.deleteEndpoint(tenantOf(tenant), id, clock.now());
      if (!deleted) throw new HooklineError('not_found', 'No such endpoint.', { details: { endpointId: id } });
    },
    publish,
    testEndpoint,
    redeliver,
    getMessage,
    async listAttempts(query) {
      const { tenant, ...rest } = query ?? {};
      return store.listAttempts({ ...rest, tenant: tenantOf(tenant) });
    },
    handleCallback,
    onCallback(handler) {
      callbackHandlers.add(handler);
      return () => {
        callbackHandlers.delete(handler);
      };
    },
    async jwks() {
      const set = (await builder.jwtSigner(DEFAULT_TENANT)).jwks();
      return { keys: set.keys.map((key) => ({ ...key })) };
    },
    eventTypes() {
      return eventCatalog.map((entry) => ({ type: entry.type, description: entry.description, schema: entry.schema as Record<string, unknown>, example: entry.example }));
    },
    on(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    start() {
      if (running) return;
      running = true;
      if (stopping.signal.aborted) stopping = sharedAbort();
      unsubscribeWake = store.onWake?.(storeWake);
      if (sharesRoom) {
        unsubscribeRoom = store.onRoomWanted?.(() => {
          // A worker with few leases itself has none to spare.
          if (running && inFlight.size >= fewLeases) roomWanted = true;
        });
      }
      logger.info({ workerId, concurrency, perEndpointConcurrency }, 'Delivery workers started.');
      void pump();
    },
    async stop() {
      running = false;
      unsubscribeWake?.();
      unsubscribeWake = undefined;
      unsubscribeRoom?.();
      unsubscribeRoom = undefined;
      roomWanted = false;
      if (idleTimer !== undefined) timers.clearTimeout(idleTimer);
      idleTimer = undefined;
      while (pumping) await new Promise((resolve) => setImmediate(resolve));
      await purgeRun;
      await releaseQueued();
      const pending = [...inFlight.values()];
      if (pending.length > 0) {
        let graceTimer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          graceTimer = setTimeout(resolve, stopGraceMs);
        });
        await Promise.race([Promise.all(pending.map((p) => p.done)), grace]);
        clearTimeout(graceTimer);
        // Whatever is still sending is aborted; its lease is released so another worker sends it at once.
        stopping.abort();
        await Promise.all([...inFlight.values()].map((p) => p.done));
      }
      if (renewalTimer !== undefined) timers.clearTimeout(renewalTimer);
      renewalTimer = undefined;
      if (idleTimer !== undefined) timers.clearTimeout(idleTimer);
      idleTimer = undefined;
      await transport.close();
      logger.info({ workerId }, 'Delivery workers stopped.');
    },
  };
}

/** An abort controller whose signal every send in flight listens to (so more than Node's default 10 listeners). */
function sharedAbort(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

function newDelivery(id: string, message: MessageRecord, endpointId: string, now: number): DeliveryRecord {
  return {
    id, tenant: message.tenant, messageId: message.id, endpointId, status: 'pending', attemptCount: 0, nextAttemptAt: now,
    createdAt: now, updatedAt: now,
  };
}

/** `7 days`, `36 hours`, `90 minutes`, `45 seconds`: the largest whole unit, for messages people read. */
function describeDuration(ms: number): string {
  const units: Array<[string, number]> = [['day', DAY], ['hour', 3_600_000], ['minute', 60_000], ['second', 1_000]];
  for (const [unit, size] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? '' : 's'}`;
  }
  return `${ms} ms`;
}

function tenantOf(tenant: string | undefined): string {
  if (tenant === undefined) return DEFAULT_TENANT;
  if (typeof tenant !== 'string' || tenant === '' || tenant.length > 200) {
    throw new HooklineError('bad_request', 'A tenant is a non-empty string of at most 200 characters.', { details: { field: 'tenant' } });
  }
  return tenant;
}

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new HooklineError('invalid_config', `${name} must be a whole number, 0 or more.`, { details: { option: name } });
  }
  return value;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new HooklineError('invalid_config', `${name} must be a positive number.`, { details: { option: name } });
  }
  return value;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Runs the shared JSON Schema; its `invalid_payload` becomes `invalid_endpoint` naming the first bad field. */
function checkSchema(name: 'endpoint' | 'endpoint-patch', value: unknown): void {
  try {
    validate(name, value);
  } catch (error) {
    if (!isHooklineError(error) || error.code !== 'invalid_payload') throw error;
    const problems = (error.details?.['problems'] ?? []) as Array<{ pointer: string; message: string }>;
    const first = problems[0];
    const field = first === undefined || first.pointer === '' ? 'body' : first.pointer.slice(1).split('/').map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~')).join('.');
    throw new HooklineError('invalid_endpoint', `Endpoint ${field}: ${first?.message ?? 'does not match the schema'}`, {
      details: { field, reason: first?.message ?? 'invalid', problems },
    });
  }
}

function parseCallbackBody(body: Uint8Array): Omit<CallbackAnswer, 'tenant' | 'messageId' | 'endpointId' | 'deliveryId'> {
  const bad = (reason: string, details: Record<string, unknown> = {}) => new HooklineError('invalid_callback', `Invalid callback: ${reason}`, { details: { reason, ...details } });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw bad('the body is not JSON');
  }
  try {
    validate('callback', value);
  } catch (error) {
    if (isHooklineError(error)) throw bad(error.message, error.details ?? {});
    throw error;
  }
  const object = value as Record<string, JsonValue>;
  if (object['version'] !== 'v1') throw bad('version must be "v1"');
  const decisions = (['approve', 'deny', 'reassign'] as const).filter((d) => object[d] !== undefined);
  if (decisions.length !== 1) throw bad('exactly one of approve, deny or reassign is required');
  const decision = decisions[0]!;
  const detail = object[decision];
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) throw bad(`${decision} must be an object`);
  const comment = detail['comment'];
  if (comment !== undefined && typeof comment !== 'string') throw bad(`${decision}.comment must be a string`);
  const ids = detail['newStepUserIds'];
  if (decision === 'reassign' && (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== 'string' || id === ''))) {
    throw bad('reassign.newStepUserIds must list at least one user id');
  }
  return {
    decision,
    ...(typeof comment === 'string' ? { comment } : {}),
    ...(decision === 'reassign' ? { newStepUserIds: ids as string[] } : {}),
    body: object as JsonValue,
  };
}
