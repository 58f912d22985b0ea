import { HooklineError } from '@hookline/errors';
import { DueQueue, EndpointQueues, type EndpointHead, type QueueEntry } from './due-queue.js';
import { decodeCursor, pageLimit, toPage, type CursorPosition } from './paging.js';
import type {
  AttemptQuery, AttemptRecord, CallbackAnswerResult, CallbackRecord, ClaimOptions, ClaimWithNext, DeliveryOutcome, DeliveryRecord,
  DeliveryStatus, DeliveryStore, EndpointRecord, ExpireCallbacksOptions, InboundSourceRecord, JsonValue, MessageRecord, Page,
  PageQuery,
} from './types.js';

const UNFINISHED: ReadonlySet<DeliveryStatus> = new Set(['pending', 'awaiting_callback']);

/**
 * A deep copy of a record (plain objects, arrays and primitives: all a store holds). structuredClone's fixed cost per
 * call was a visible share of a worker's CPU, with four copies per delivery.
 */
function copy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copy) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key]);
  return out as T;
}

/** Newest first, then id descending: the order every listing uses. */
function newestFirst(a: CursorPosition, b: CursorPosition): number {
  if (a.at !== b.at) return b.at - a.at;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function isAfter(item: CursorPosition, cursor: CursorPosition): boolean {
  return item.at < cursor.at || (item.at === cursor.at && item.id < cursor.id);
}

function pageOf<T>(items: T[], query: PageQuery | undefined, position: (item: T) => CursorPosition): Page<T> {
  const limit = pageLimit(query?.limit);
  const cursor = query?.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const sorted = items
    .filter((item) => cursor === undefined || isAfter(position(item), cursor))
    .sort((a, b) => newestFirst(position(a), position(b)));
  return toPage(sorted.slice(0, limit + 1).map((item) => copy(item)), limit, position);
}

function oldestFirst(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * A {@link DeliveryStore} in plain maps, for tests, demos and single-process apps that can lose state on restart.
 * Records are cloned on the way in and out, so callers never share objects with the store.
 *
 * @example
 * ```ts
 * import { MemoryStore } from '@hookline/store';
 * const store = new MemoryStore();
 * await store.addSeenId('github:1', Date.now() + 60_000); // true
 * ```
 */
export class MemoryStore implements DeliveryStore {
  readonly #endpoints = new Map<string, EndpointRecord>();
  readonly #messages = new Map<string, MessageRecord>();
  readonly #deliveries = new Map<string, DeliveryRecord>();
  // Pending deliveries indexed by time, so a claim or nextDueAt costs O(log n) per delivery, never a scan of the backlog:
  /** Unleased ones (and those whose lease lapsed) by `nextAttemptAt`, queued per endpoint. */
  readonly #due = new EndpointQueues((entry) => this.#live(entry, false) !== undefined);
  /** Leased ones by `leaseExpiresAt`; a claim moves the lapsed ones to #due. */
  readonly #leased = new DueQueue();
  /** Each pending delivery's live queue entry; older entries still in a heap are stale and skipped when they surface. */
  readonly #queued = new Map<string, { seq: number; leased: boolean }>();
  /** Leases held per endpoint (entries in #leased), for perEndpointLimit. */
  readonly #leasesByEndpoint = new Map<string, number>();
  #seq = 0;
  /** Ids of deliveries awaiting a callback, so expiry never walks the rest. */
  readonly #awaiting = new Set<string>();
  readonly #attempts = new Map<string, AttemptRecord>();
  readonly #callbacks = new Map<string, CallbackRecord>();
  /** Delivery id to its callback's token hash (one callback per delivery: the token derives from the delivery id). */
  readonly #callbackOfDelivery = new Map<string, string>();
  readonly #sources = new Map<string, InboundSourceRecord>();
  readonly #seenIds = new Map<string, number>();
  readonly #wakeListeners = new Set<() => void>();

  // ------------------------------------------------------------------ endpoints

  async createEndpoint(endpoint: EndpointRecord): Promise<EndpointRecord> {
    if (this.#endpoints.has(endpoint.id)) throw new HooklineError('conflict', 'An endpoint with this id exists.', { details: { id: endpoint.id } });
    this.#endpoints.set(endpoint.id, copy(endpoint));
    return copy(endpoint);
  }

  async getEndpoint(tenant: string, id: string): Promise<EndpointRecord | undefined> {
    const found = this.#endpoints.get(id);
    return found?.tenant === tenant ? copy(found) : undefined;
  }

  async updateEndpoint(endpoint: EndpointRecord): Promise<EndpointRecord | undefined> {
    const found = this.#endpoints.get(endpoint.id);
    if (found?.tenant !== endpoint.tenant) return undefined;
    this.#endpoints.set(endpoint.id, copy(endpoint));
    return copy(endpoint);
  }

  async deleteEndpoint(tenant: string, id: string, now?: number): Promise<boolean> {
    const found = this.#endpoints.get(id);
    if (found?.tenant !== tenant) return false;
    this.#endpoints.delete(id);
    for (const delivery of this.#deliveries.values()) {
      if (delivery.endpointId !== id || !UNFINISHED.has(delivery.status)) continue;
      this.#setStatus(delivery, 'cancelled', now ?? delivery.updatedAt);
    }
    return true;
  }

  async listEndpoints(tenant: string, page?: PageQuery): Promise<Page<EndpointRecord>> {
    const items = [...this.#endpoints.values()].filter((e) => e.tenant === tenant);
    return pageOf(items, page, (e) => ({ at: e.createdAt, id: e.id }));
  }

  async activeEndpoints(tenant: string): Promise<readonly Readonly<EndpointRecord>[]> {
    return [...this.#endpoints.values()]
      .filter((e) => e.tenant === tenant && e.active)
      .sort(oldestFirst)
      .map((e) => copy(e));
  }

  // ------------------------------------------------------------------ messages and deliveries

  async createMessage(input: {
    message: MessageRecord;
    deliveries: DeliveryRecord[];
    idempotentSince?: number;
  }): Promise<{ message: MessageRecord; created: boolean }> {
    const { message } = input;
    if (message.idempotencyKey !== undefined) {
      const since = input.idempotentSince ?? Number.NEGATIVE_INFINITY;
      let first: MessageRecord | undefined;
      for (const m of this.#messages.values()) {
        if (m.tenant !== message.tenant || m.idempotencyKey !== message.idempotencyKey || m.createdAt < since) continue;
        if (first === undefined || oldestFirst(m, first) < 0) first = m;
      }
      if (first !== undefined) return { message: copy(first), created: false };
    }
    if (this.#messages.has(message.id)) throw new HooklineError('conflict', 'A message with this id exists.', { details: { id: message.id } });
    this.#assertNewDeliveries(input.deliveries);
    this.#messages.set(message.id, copy(message));
    this.#insertDeliveries(input.deliveries);
    if (input.deliveries.length > 0) this.#wake();
    return { message: copy(message), created: true };
  }

  async getMessage(tenant: string, id: string): Promise<MessageRecord | undefined> {
    const found = this.#messages.get(id);
    return found?.tenant === tenant ? copy(found) : undefined;
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const found = this.#deliveries.get(id);
    return found === undefined ? undefined : copy(found);
  }

  async listDeliveries(tenant: string, messageId: string): Promise<DeliveryRecord[]> {
    return [...this.#deliveries.values()]
      .filter((d) => d.tenant === tenant && d.messageId === messageId)
      .sort(oldestFirst)
      .map((d) => copy(d));
  }

  async addDeliveries(deliveries: DeliveryRecord[]): Promise<void> {
    for (const delivery of deliveries) {
      if (!this.#messages.has(delivery.messageId)) {
        throw new HooklineError('not_found', 'The message of this delivery does not exist.', { details: { messageId: delivery.messageId } });
      }
    }
    this.#assertNewDeliveries(deliveries);
    this.#insertDeliveries(deliveries);
    if (deliveries.length > 0) this.#wake();
  }

  async claimDue(options: ClaimOptions): Promise<DeliveryRecord[]> {
    const { now, owner, leaseMs, limit, perEndpointLimit } = options;
    // Lapsed leases are claimable again: back to the due queue, lease fields kept (the holder may still renew).
    for (let entry = this.#leased.peek(); entry !== undefined && entry.at <= now; entry = this.#leased.peek()) {
      this.#leased.pop();
      const lapsed = this.#live(entry, true);
      if (lapsed !== undefined) this.#enqueue(lapsed, false);
    }
    const claimed: DeliveryRecord[] = [];
    // Endpoints at their limit are set aside whole for this claim, and put back after it.
    const parked: EndpointHead[] = [];
    for (let head = this.#due.peek(); head !== undefined && head.at <= now && claimed.length < limit; head = this.#due.peek()) {
      if (perEndpointLimit !== undefined && (this.#leasesByEndpoint.get(head.endpointId) ?? 0) >= perEndpointLimit) {
        this.#due.park(head);
        parked.push(head);
        continue;
      }
      const delivery = this.#live(this.#due.take(head), false) as DeliveryRecord;
      delivery.leaseOwner = owner;
      delivery.leaseExpiresAt = now + leaseMs;
      delivery.updatedAt = now;
      this.#enqueue(delivery, true);
      claimed.push(copy(delivery));
    }
    this.#due.unpark(parked);
    return claimed;
  }

  async claimDueWithNext(options: ClaimOptions): Promise<ClaimWithNext> {
    const deliveries = await this.claimDue(options);
    return deliveries.length < options.limit ? { deliveries, nextDueAt: await this.nextDueAt() } : { deliveries };
  }

  async renewLease(deliveryId: string, owner: string, leaseExpiresAt: number): Promise<boolean> {
    const delivery = this.#deliveries.get(deliveryId);
    if (delivery?.status !== 'pending' || delivery.leaseOwner !== owner) return false;
    delivery.leaseExpiresAt = leaseExpiresAt;
    this.#enqueue(delivery, true);
    return true;
  }

  async releaseLease(deliveryId: string, owner: string): Promise<void> {
    const delivery = this.#deliveries.get(deliveryId);
    if (delivery?.status !== 'pending' || delivery.leaseOwner !== owner) return;
    delivery.leaseOwner = undefined;
    delivery.leaseExpiresAt = undefined;
    this.#enqueue(delivery, false);
    this.#wake();
  }

  async finishAttempt(input: { owner: string; attempt: AttemptRecord; outcome: DeliveryOutcome }): Promise<boolean> {
    const { owner, attempt, outcome } = input;
    this.#attempts.set(attempt.id, copy(attempt));
    const delivery = attempt.deliveryId === undefined ? undefined : this.#deliveries.get(attempt.deliveryId);
    if (delivery?.status !== 'pending' || delivery.leaseOwner !== owner) return false;
    delivery.attemptCount += 1;
    delivery.lastError = outcome.lastError;
    if (outcome.status === 'pending' && outcome.nextAttemptAt !== undefined) delivery.nextAttemptAt = outcome.nextAttemptAt;
    this.#setStatus(delivery, outcome.status, attempt.startedAt + attempt.durationMs);
    return true;
  }

  async setDeliveryStatus(id: string, status: DeliveryStatus, now: number): Promise<void> {
    const delivery = this.#deliveries.get(id);
    if (delivery !== undefined) this.#setStatus(delivery, status, now);
  }

  async nextDueAt(): Promise<number | undefined> {
    const due = this.#due.peek();
    const leased = this.#liveTop(this.#leased, true);
    if (due === undefined) return leased?.at;
    return leased === undefined ? due.at : Math.min(due.at, leased.at);
  }

  async expireAwaitingCallbacks(options: ExpireCallbacksOptions): Promise<DeliveryRecord[]> {
    const { now, before, limit, reason } = options;
    const closed: DeliveryRecord[] = [];
    for (const id of this.#awaiting) {
      const delivery = this.#deliveries.get(id) as DeliveryRecord;
      const tokenHash = this.#callbackOfDelivery.get(id);
      const callback = tokenHash === undefined ? undefined : this.#callbacks.get(tokenHash);
      const lapsed = callback === undefined ? delivery.updatedAt < before : callback.answeredAt === undefined && callback.expiresAt <= now;
      if (lapsed) closed.push(delivery);
    }
    closed.sort((a, b) => a.updatedAt - b.updatedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return closed.slice(0, Math.max(0, limit)).map((delivery) => {
      delivery.lastError = reason;
      this.#setStatus(delivery, 'exhausted', now);
      return copy(delivery);
    });
  }

  // ------------------------------------------------------------------ attempts

  async recordAttempt(attempt: AttemptRecord): Promise<void> {
    this.#attempts.set(attempt.id, copy(attempt));
  }

  async listAttempts(query: AttemptQuery): Promise<Page<AttemptRecord>> {
    const items = [...this.#attempts.values()].filter(
      (a) =>
        a.tenant === query.tenant &&
        (query.endpointId === undefined || a.endpointId === query.endpointId) &&
        (query.messageId === undefined || a.messageId === query.messageId) &&
        (query.deliveryId === undefined || a.deliveryId === query.deliveryId) &&
        (query.since === undefined || a.startedAt >= query.since) &&
        (query.until === undefined || a.startedAt < query.until),
    );
    return pageOf(items, query, (a) => ({ at: a.startedAt, id: a.id }));
  }

  // ------------------------------------------------------------------ callbacks

  async createCallback(callback: CallbackRecord): Promise<void> {
    if (this.#callbacks.has(callback.tokenHash)) throw new HooklineError('conflict', 'This callback token exists.');
    this.#callbacks.set(callback.tokenHash, copy(callback));
    this.#callbackOfDelivery.set(callback.deliveryId, callback.tokenHash);
  }

  async getCallback(tokenHash: string): Promise<CallbackRecord | undefined> {
    const found = this.#callbacks.get(tokenHash);
    return found === undefined ? undefined : copy(found);
  }

  async answerCallback(tokenHash: string, answer: JsonValue, now: number): Promise<CallbackAnswerResult> {
    const callback = this.#callbacks.get(tokenHash);
    if (callback === undefined) return { ok: false, reason: 'not_found' };
    if (callback.answeredAt !== undefined) return { ok: false, reason: 'already_answered' };
    if (callback.expiresAt <= now) return { ok: false, reason: 'expired' };
    callback.answeredAt = now;
    callback.answer = copy(answer);
    return { ok: true, callback: copy(callback) };
  }

  // ------------------------------------------------------------------ inbound sources

  async createSource(source: InboundSourceRecord): Promise<InboundSourceRecord> {
    if (this.#sources.has(source.id)) throw new HooklineError('conflict', 'A source with this id exists.', { details: { id: source.id } });
    this.#sources.set(source.id, copy(source));
    return copy(source);
  }

  async getSource(id: string): Promise<InboundSourceRecord | undefined> {
    const found = this.#sources.get(id);
    return found === undefined ? undefined : copy(found);
  }

  async updateSource(source: InboundSourceRecord, ifUpdatedAt?: number): Promise<InboundSourceRecord | undefined> {
    const found = this.#sources.get(source.id);
    if (found?.tenant !== source.tenant) return undefined;
    if (ifUpdatedAt !== undefined && found.updatedAt !== ifUpdatedAt) return undefined;
    this.#sources.set(source.id, copy(source));
    return copy(source);
  }

  async deleteSource(tenant: string, id: string): Promise<boolean> {
    if (this.#sources.get(id)?.tenant !== tenant) return false;
    return this.#sources.delete(id);
  }

  async listSources(tenant: string, page?: PageQuery): Promise<Page<InboundSourceRecord>> {
    const items = [...this.#sources.values()].filter((s) => s.tenant === tenant);
    return pageOf(items, page, (s) => ({ at: s.createdAt, id: s.id }));
  }

  // ------------------------------------------------------------------ replay protection

  async addSeenId(key: string, expiresAt: number, now: number = Date.now()): Promise<boolean> {
    const existing = this.#seenIds.get(key);
    if (existing !== undefined && existing > now) return false;
    this.#seenIds.set(key, expiresAt);
    return true;
  }

  // ------------------------------------------------------------------ retention

  async purge(options: { before: number; now: number; limit: number }): Promise<number> {
    const { before, now, limit } = options;
    let deleted = 0;

    const oldAttempts = [...this.#attempts.values()]
      .filter((a) => a.startedAt < before)
      .sort((a, b) => a.startedAt - b.startedAt)
      .slice(0, limit);
    for (const attempt of oldAttempts) this.#attempts.delete(attempt.id);
    deleted += oldAttempts.length;

    const deliveriesByMessage = new Map<string, DeliveryRecord[]>();
    for (const delivery of this.#deliveries.values()) {
      const list = deliveriesByMessage.get(delivery.messageId) ?? [];
      list.push(delivery);
      deliveriesByMessage.set(delivery.messageId, list);
    }
    const finished = [...this.#messages.values()]
      .filter((m) => m.createdAt < before && !(deliveriesByMessage.get(m.id) ?? []).some((d) => UNFINISHED.has(d.status)))
      .sort(oldestFirst)
      .slice(0, limit);
    const purgedMessages = new Set<string>();
    for (const message of finished) {
      purgedMessages.add(message.id);
      this.#messages.delete(message.id);
      deleted += 1;
      for (const delivery of deliveriesByMessage.get(message.id) ?? []) {
        this.#deliveries.delete(delivery.id);
        this.#dequeue(delivery);
        this.#awaiting.delete(delivery.id);
        deleted += 1;
      }
    }
    for (const [hash, callback] of this.#callbacks) {
      if (!purgedMessages.has(callback.messageId)) continue;
      this.#callbacks.delete(hash);
      if (this.#callbackOfDelivery.get(callback.deliveryId) === hash) this.#callbackOfDelivery.delete(callback.deliveryId);
      deleted += 1;
    }

    let seen = 0;
    for (const [key, expiresAt] of this.#seenIds) {
      if (seen >= limit) break;
      if (expiresAt > now) continue;
      this.#seenIds.delete(key);
      seen += 1;
    }
    return deleted + seen;
  }

  onWake(listener: () => void): () => void {
    this.#wakeListeners.add(listener);
    return () => this.#wakeListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#wakeListeners.clear();
  }

  // ------------------------------------------------------------------ internals

  #assertNewDeliveries(deliveries: DeliveryRecord[]): void {
    for (const delivery of deliveries) {
      if (this.#deliveries.has(delivery.id)) throw new HooklineError('conflict', 'A delivery with this id exists.', { details: { id: delivery.id } });
    }
  }

  #insertDeliveries(deliveries: DeliveryRecord[]): void {
    for (const delivery of deliveries) {
      const stored = copy(delivery);
      this.#deliveries.set(delivery.id, stored);
      if (stored.status === 'pending') this.#enqueue(stored, stored.leaseOwner !== undefined && stored.leaseExpiresAt !== undefined);
      if (stored.status === 'awaiting_callback') this.#awaiting.add(stored.id);
    }
  }

  #setStatus(delivery: DeliveryRecord, status: DeliveryStatus, now: number): void {
    delivery.status = status;
    delivery.leaseOwner = undefined;
    delivery.leaseExpiresAt = undefined;
    delivery.updatedAt = now;
    if (status === 'pending') this.#enqueue(delivery, false);
    else this.#dequeue(delivery);
    if (status === 'awaiting_callback') this.#awaiting.add(delivery.id);
    else this.#awaiting.delete(delivery.id);
  }

  /** Queues a pending delivery by due time (`leased` false) or lease expiry, superseding any earlier entry. */
  #enqueue(delivery: DeliveryRecord, leased: boolean): void {
    this.#dequeue(delivery);
    // Every move leaves a stale entry behind; shed them once they outnumber the live ones.
    if (this.#due.size + this.#leased.size > 2 * this.#queued.size + 1024) {
      this.#due.retain((entry) => this.#live(entry, false) !== undefined);
      this.#leased.retain((entry) => this.#live(entry, true) !== undefined);
    }
    const seq = ++this.#seq;
    this.#queued.set(delivery.id, { seq, leased });
    if (leased) {
      this.#leased.push({ at: delivery.leaseExpiresAt as number, id: delivery.id, seq });
      this.#leasesByEndpoint.set(delivery.endpointId, (this.#leasesByEndpoint.get(delivery.endpointId) ?? 0) + 1);
    } else {
      this.#due.push(delivery.endpointId, { at: delivery.nextAttemptAt, id: delivery.id, seq });
    }
  }

  #dequeue(delivery: DeliveryRecord): void {
    const queued = this.#queued.get(delivery.id);
    if (queued === undefined) return;
    this.#queued.delete(delivery.id);
    if (!queued.leased) return;
    const held = (this.#leasesByEndpoint.get(delivery.endpointId) ?? 1) - 1;
    if (held > 0) this.#leasesByEndpoint.set(delivery.endpointId, held);
    else this.#leasesByEndpoint.delete(delivery.endpointId);
  }

  /** The delivery an entry stands for, if the entry is still its live one. */
  #live(entry: QueueEntry, leased: boolean): DeliveryRecord | undefined {
    const queued = this.#queued.get(entry.id);
    return queued?.seq === entry.seq && queued.leased === leased ? this.#deliveries.get(entry.id) : undefined;
  }

  /** The earliest live entry of a queue, dropping stale ones on the way. */
  #liveTop(queue: DueQueue, leased: boolean): QueueEntry | undefined {
    for (let entry = queue.peek(); entry !== undefined; entry = queue.peek()) {
      if (this.#live(entry, leased) !== undefined) return entry;
      queue.pop();
    }
    return undefined;
  }

  #wake(): void {
    for (const listener of this.#wakeListeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the write already happened.
      }
    }
  }
}
