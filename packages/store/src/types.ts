/**
 * The DeliveryStore is the one seam for hookline's state. Every implementation (memory, SQLite, Postgres) passes the
 * same conformance suite (`@hookline/store/testing`). Times are epoch milliseconds, always passed in by the caller
 * (the dispatcher's clock), so stores never read the wall clock for decisions and tests never sleep.
 *
 * Secrets: the store persists what it is given. The dispatcher seals endpoint and source secrets (AES-256-GCM) before
 * they reach the store, so `auth` and `config` hold ciphertext where they hold secrets.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type HttpMethod = 'POST' | 'PUT' | 'DELETE';

/** A subscriber's webhook endpoint (Apono's form, ConductorOne's fields). */
export interface EndpointRecord {
  id: string;
  tenant: string;
  name: string;
  description?: string | undefined;
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  /** How requests are signed: `{ type: 'jwt' | 'standard-webhooks' | 'hmac' | 'bearer' | 'basic' | 'none', ...sealed }`. */
  auth: JsonObject & { type: string };
  /** Event types: exact names, `*`, or prefixes such as `c1.webhooks.v1.*`. */
  triggers: string[];
  /** JSONPath matches on the event (all must hold), or undefined for none. */
  filter?: Record<string, JsonValue> | undefined;
  bodyTemplate?: string | undefined;
  active: boolean;
  /** Why the endpoint was disabled by hookline (`gone` after a 410, `failing` after days of failures). */
  disabledReason?: string | undefined;
  /** First failure with no success since; cleared by a success. Drives auto-disable. */
  failingSince?: number | undefined;
  createdAt: number;
  updatedAt: number;
}

/** An event the app published. One message, many deliveries. */
export interface MessageRecord {
  id: string;
  tenant: string;
  type: string;
  data: JsonValue;
  idempotencyKey?: string | undefined;
  createdAt: number;
}

export type DeliveryStatus =
  | 'pending' // due at nextAttemptAt (possibly leased by a worker right now)
  | 'awaiting_callback' // the receiver answered 202 and will answer on the callback URL
  | 'succeeded' // a 2xx (or the callback arrived)
  | 'exhausted' // every retry failed
  | 'cancelled'; // the endpoint was deleted or disabled before the delivery finished

/** One message to one endpoint, with its retry state and lease. */
export interface DeliveryRecord {
  id: string;
  tenant: string;
  messageId: string;
  endpointId: string;
  status: DeliveryStatus;
  /** Attempts made so far. */
  attemptCount: number;
  /** When the next attempt is due (for `pending`). */
  nextAttemptAt: number;
  leaseOwner?: string | undefined;
  leaseExpiresAt?: number | undefined;
  lastError?: string | undefined;
  createdAt: number;
  updatedAt: number;
}

export type AttemptTrigger = 'scheduled' | 'manual' | 'test';

/** One HTTP try, kept with its request and response (secrets already redacted by the dispatcher). */
export interface AttemptRecord {
  id: string;
  tenant: string;
  endpointId: string;
  /** Absent for a test webhook, which belongs to no message. */
  deliveryId?: string | undefined;
  messageId?: string | undefined;
  /** 1-based within the delivery. */
  number: number;
  trigger: AttemptTrigger;
  request: { method: string; url: string; headers: Record<string, string>; body: string };
  response?: { status: number; headers: Record<string, string>; body: string; truncated: boolean } | undefined;
  /** `{ code, message }` when the try failed before or instead of a 2xx. */
  error?: { code: string; message: string } | undefined;
  durationMs: number;
  startedAt: number;
  succeeded: boolean;
}

/** The capability behind a callback URL. Only the SHA-256 of the token is stored. */
export interface CallbackRecord {
  tokenHash: string;
  tenant: string;
  deliveryId: string;
  messageId: string;
  endpointId: string;
  expiresAt: number;
  answeredAt?: number | undefined;
  answer?: JsonValue | undefined;
}

export type InboundPlatform =
  | 'github' | 'slack' | 'stripe' | 'twilio' | 'pagerduty' | 'zendesk' | 'sendgrid' | 'shopify' | 'x' | 'meta'
  | 'standard-webhooks' | 'jwt' | 'header' | 'hmac';

/** An inbound webhook source; its unguessable id forms the URL `/in/:id`. */
export interface InboundSourceRecord {
  id: string;
  tenant: string;
  name: string;
  platform: InboundPlatform;
  /** The preset's options, secrets sealed. */
  config: JsonObject;
  /** JSONPath matches every accepted event must satisfy (AND); empty matches everything. */
  matches: Record<string, JsonValue>;
  state: 'unverified' | 'verified';
  verifiedAt?: number | undefined;
  createdAt: number;
  updatedAt: number;
}

/**
 * One page of a listing, newest first (by `createdAt`, or `startedAt` for attempts, then by id); pass `nextCursor`
 * back to continue. Cursors are keyset positions, so rows added meanwhile never shift a page (no duplicates, no gaps).
 */
export interface Page<T> {
  items: T[];
  nextCursor?: string | undefined;
}

export interface PageQuery {
  /** Page size, 50 by default, clamped to 1..1000. */
  limit?: number;
  cursor?: string;
}

export interface ClaimOptions {
  now: number;
  /** Who holds the lease (a worker id). */
  owner: string;
  /** How long the lease lasts, ms. An expired lease is claimable again. */
  leaseMs: number;
  /** How many deliveries at most. */
  limit: number;
  /** At most this many deliveries of one endpoint leased at once, across every worker sharing the store. */
  perEndpointLimit?: number;
}

/** What {@link DeliveryStore.finishThenClaim} claims after the finishes. */
export interface FinishThenClaimOptions extends ClaimOptions {
  /**
   * Claim only for the endpoints of the finished deliveries (the room their finishes free), without looking for other
   * work: much cheaper while the per-endpoint limits hold work back. Such a claim says nothing of when work next falls
   * due (`nextDueAt` stays unset). A store may ignore it and claim as usual.
   */
  refill?: boolean;
}

/** One finished send, as {@link DeliveryStore.finishAttempt} takes it. */
export interface FinishInput {
  owner: string;
  attempt: AttemptRecord;
  outcome: DeliveryOutcome;
}

/** What {@link DeliveryStore.finishThenClaim} returns. */
export interface FinishThenClaim {
  /** For each finish, in order: what `finishAttempt` would have answered (the lease still held). */
  held: boolean[];
  claim: ClaimWithNext;
}

/** What {@link DeliveryStore.claimDueWithNext} returns. */
export interface ClaimWithNext {
  deliveries: DeliveryRecord[];
  /**
   * Only when fewer than `limit` came back: what {@link DeliveryStore.nextDueAt} answers just after the claim, or
   * undefined when nothing is pending. At or before `now`, something due was held back (its endpoint at its limit,
   * or locked by another claimer); later, nothing more is claimable before then unless something is published.
   */
  nextDueAt?: number;
}

/** What a finished try did to its delivery. The lease is released in the same step. */
export interface DeliveryOutcome {
  status: DeliveryStatus;
  /** For `pending`: when to try again. */
  nextAttemptAt?: number;
  lastError?: string | undefined;
}

/** Which `awaiting_callback` deliveries {@link DeliveryStore.expireAwaitingCallbacks} ends. */
export interface ExpireCallbacksOptions {
  /** The current time: a callback whose `expiresAt <= now` can no longer be answered. */
  now: number;
  /** A delivery awaiting a callback that was never recorded expires once its `updatedAt` is before this. */
  before: number;
  /** How many deliveries at most, oldest `updatedAt` first. */
  limit: number;
  /** Stored as the delivery's `lastError`, saying why it ended. */
  reason: string;
}

export type CallbackAnswerResult =
  | { ok: true; callback: CallbackRecord }
  | { ok: false; reason: 'not_found' | 'expired' | 'already_answered' };

export interface AttemptQuery extends PageQuery {
  tenant: string;
  endpointId?: string;
  messageId?: string;
  deliveryId?: string;
  /** Only attempts started at or after this time. */
  since?: number;
  /** Only attempts started before this time. */
  until?: number;
}

export interface DeliveryStore {
  // endpoints
  createEndpoint(endpoint: EndpointRecord): Promise<EndpointRecord>;
  getEndpoint(tenant: string, id: string): Promise<EndpointRecord | undefined>;
  /** Replaces the stored record (the dispatcher merges patches); undefined when it does not exist. */
  updateEndpoint(endpoint: EndpointRecord): Promise<EndpointRecord | undefined>;
  /**
   * Deletes the endpoint and cancels its unfinished deliveries (`pending`, `awaiting_callback`: leases cleared,
   * `updatedAt` set to `now` when given); history stays until purged.
   */
  deleteEndpoint(tenant: string, id: string, now?: number): Promise<boolean>;
  listEndpoints(tenant: string, page?: PageQuery): Promise<Page<EndpointRecord>>;
  /**
   * Every active endpoint of a tenant, oldest first, for publish to match triggers against. Read-only: a store may
   * hand the same (frozen) records to concurrent callers.
   */
  activeEndpoints(tenant: string): Promise<readonly Readonly<EndpointRecord>[]>;

  // messages and deliveries
  /**
   * Stores a message and its deliveries in one transaction. With an idempotency key already used by this tenant
   * at or after `idempotentSince` (any earlier use when `idempotentSince` is absent), stores nothing and returns the
   * first message (`created: false`). Concurrent publishes with one key store one message.
   */
  createMessage(input: {
    message: MessageRecord;
    deliveries: DeliveryRecord[];
    idempotentSince?: number;
  }): Promise<{ message: MessageRecord; created: boolean }>;
  getMessage(tenant: string, id: string): Promise<MessageRecord | undefined>;
  getDelivery(id: string): Promise<DeliveryRecord | undefined>;
  /** The message's deliveries, oldest first. */
  listDeliveries(tenant: string, messageId: string): Promise<DeliveryRecord[]>;
  /** Adds deliveries to an existing message (manual redelivery). */
  addDeliveries(deliveries: DeliveryRecord[]): Promise<void>;

  /**
   * Leases up to `limit` pending deliveries due at `now` whose lease is absent or expired, earliest due first,
   * respecting `perEndpointLimit`. Two callers never hold the same delivery while its lease lasts. Claimed deliveries
   * keep status `pending` and their `nextAttemptAt`, and come back with `leaseOwner` and `leaseExpiresAt` set.
   */
  claimDue(options: ClaimOptions): Promise<DeliveryRecord[]>;
  /**
   * Optional: `claimDue`, and when it comes back short, `nextDueAt` as of just after it, in one call. The dispatcher
   * uses it to tell a claim that found nothing more to do from one held back by limits: after the first, finished
   * sends do not claim again and no separate `nextDueAt` is asked, which halves the calls per delivery at low rates.
   * A store without it costs those calls.
   */
  claimDueWithNext?(options: ClaimOptions): Promise<ClaimWithNext>;
  /**
   * Extends a lease the owner still holds; false when the lease was lost (another owner claimed the delivery after
   * expiry, it was released, finished or its status set). A lapsed lease nobody has claimed yet is still held.
   */
  renewLease(deliveryId: string, owner: string, leaseExpiresAt: number): Promise<boolean>;
  /** Gives a lease back without an attempt (graceful stop); the delivery stays due. */
  releaseLease(deliveryId: string, owner: string): Promise<void>;
  /**
   * Records an attempt and, if `owner` still holds the delivery's lease, applies the outcome and releases the lease,
   * in one transaction. Returns false (attempt still recorded, delivery untouched) when the lease was lost.
   * Applying the outcome adds one to `attemptCount` and sets `updatedAt` to `attempt.startedAt + attempt.durationMs`.
   */
  finishAttempt(input: FinishInput): Promise<boolean>;
  /**
   * Optional: `finishAttempt` for each of `finishes`, then `claimDueWithNext(claim)`, as one call and one
   * transaction, the finishes first: the leases they free count as free to the claim. For a store each call of which
   * is a round trip to a server many workers share (Postgres): a worker hands back finished leases and takes the room
   * they free in one round trip, before another worker can race it for that room. If it fails, none of it happened.
   */
  finishThenClaim?(finishes: FinishInput[], claim: FinishThenClaimOptions): Promise<FinishThenClaim>;
  /** Sets a delivery's status outside a lease (callback answered, endpoint disabled); clears any lease. */
  setDeliveryStatus(id: string, status: DeliveryStatus, now: number): Promise<void>;
  /**
   * When the next delivery becomes claimable, to sleep until then: the earliest `nextAttemptAt` of a pending
   * unleased delivery, or `leaseExpiresAt` of a leased one. Undefined when nothing is pending.
   */
  nextDueAt(): Promise<number | undefined>;

  /**
   * Ends deliveries whose callback window has closed: every `awaiting_callback` delivery whose callback is unanswered
   * with `expiresAt <= now` (or that has no callback record and an `updatedAt` before `before`) becomes `exhausted`
   * with `lastError` = `reason`, `updatedAt` = `now`, in one step per delivery, so an answer can never win after it.
   * At most `limit`, oldest `updatedAt` first; returns them as stored after the change. Call again until it returns
   * fewer than `limit`. Without this, such deliveries would stay unfinished and their messages never be purged.
   */
  expireAwaitingCallbacks(options: ExpireCallbacksOptions): Promise<DeliveryRecord[]>;

  // attempts (history)
  /** Records an attempt outside a delivery's lease (test webhooks). */
  recordAttempt(attempt: AttemptRecord): Promise<void>;
  /** Attempts of one tenant, newest first (`startedAt`, then id), filtered by every field given. */
  listAttempts(query: AttemptQuery): Promise<Page<AttemptRecord>>;

  // callbacks
  createCallback(callback: CallbackRecord): Promise<void>;
  getCallback(tokenHash: string): Promise<CallbackRecord | undefined>;
  /**
   * Records the first answer atomically; a second answer (`already_answered`, checked first), an unknown token
   * (`not_found`) or one whose `expiresAt <= now` (`expired`) is refused. Of concurrent answers exactly one wins.
   */
  answerCallback(tokenHash: string, answer: JsonValue, now: number): Promise<CallbackAnswerResult>;

  // inbound sources
  createSource(source: InboundSourceRecord): Promise<InboundSourceRecord>;
  /** By id alone: the id is the unguessable part of the inbound URL. */
  getSource(id: string): Promise<InboundSourceRecord | undefined>;
  /**
   * Replaces the source; undefined if it is gone (or belongs to another tenant). With `ifUpdatedAt`, only while the
   * stored record still has that `updatedAt`: a write based on a read that has since been overtaken (an admin's edit)
   * changes nothing and answers undefined.
   */
  updateSource(source: InboundSourceRecord, ifUpdatedAt?: number): Promise<InboundSourceRecord | undefined>;
  deleteSource(tenant: string, id: string): Promise<boolean>;
  listSources(tenant: string, page?: PageQuery): Promise<Page<InboundSourceRecord>>;

  // replay protection (the verifiers' SeenIdStore)
  /**
   * True the first time `key` is added, false while an earlier add has not expired (`expiresAt > now`). `now` comes
   * from the caller; the verifiers' `SeenIdStore` calls without it, and then the wall clock is used.
   */
  addSeenId(key: string, expiresAt: number, now?: number): Promise<boolean>;

  // retention
  /**
   * Deletes attempts started before `before`, finished messages (every delivery done) created before it with their
   * deliveries and callbacks, and expired seen ids (`expiresAt <= now`). Bounded: at most `limit` attempts, `limit`
   * messages (each with all its deliveries and callbacks) and `limit` seen ids per call, oldest first. Returns every
   * row deleted (all kinds); call again until it returns 0. A message with any unfinished delivery is never purged.
   */
  purge(options: { before: number; now: number; limit: number }): Promise<number>;

  /**
   * Calls `listener` when deliveries may have become due (a publish from this or another process), so idle workers
   * wake at once. Optional: workers also poll. A store shared by many processes may wake only one of them per publish
   * (Postgres does); a listener that returns `false` has no room for work now, and the store then passes the wake on.
   */
  onWake?(listener: () => boolean | void): () => void;
  /**
   * Room sharing between worker processes (optional; Postgres has it). A worker whose claims come back held back by
   * the per-endpoint limits while it holds few leases asks the other processes for room (`askForRoom`). Their
   * `onRoomWanted` listeners are called; a worker that then leaves the room a batch of its finished sends frees to
   * the race (instead of claiming it back with them) calls `roomGiven` once those finishes are committed, and the store
   * wakes the processes that asked. Without it, workers never claim back room along with their finishes while the
   * limits hold work back.
   */
  askForRoom?(): void;
  onRoomWanted?(listener: () => void): () => void;
  roomGiven?(): void;
  /**
   * True when each claim is a round trip to a server shared with other processes (Postgres): workers then claim
   * ahead of their free send slots by default (the dispatcher's `prefetch`), for fewer, larger claims. In-process
   * stores leave it unset; a claim there costs too little for that to pay.
   */
  readonly claimsAhead?: boolean;

  close(): Promise<void>;
}
