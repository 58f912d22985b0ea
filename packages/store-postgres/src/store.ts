import pg from 'pg';
import { HooklineError, isHooklineError } from '@hookline/errors';
import { decodeCursor, pageLimit, toPage } from '@hookline/store';
import type {
  FinishInput, FinishThenClaim, FinishThenClaimOptions,
  AttemptQuery, AttemptRecord, CallbackAnswerResult, CallbackRecord, ClaimOptions, ClaimWithNext, DeliveryRecord,
  DeliveryStatus, DeliveryStore, EndpointRecord, ExpireCallbacksOptions, InboundSourceRecord, JsonValue, MessageRecord, Page, PageQuery,
} from '@hookline/store';
import { SCHEMA_NAME, migrations, statements, type Statements } from './sql.js';

export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db`; or pass `pool`. */
  connectionString?: string;
  /** A pool you own (it is not ended by `close()`). */
  pool?: pg.Pool;
  /** Schema holding every table, created when missing. Default `hookline`. */
  schema?: string;
  /** Connections in the pool the store creates (default 10). */
  poolSize?: number;
  /** Errors that happen outside any call (an idle connection dropped, the wake-up listener lost). Default: ignored. */
  onError?: (error: unknown) => void;
  /** Backoff for the wake-up listener's reconnects, ms (default 100 doubling to 10 000). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /**
   * How long a listener trusts its view of the other listening processes before reading it again, ms (default
   * 1000). Each publish wakes one of them, chosen from that view (see `onWake`).
   */
  wakeMembershipMs?: number;
}

type Row = Record<string, unknown>;

interface CreateMessageInput {
  message: MessageRecord;
  deliveries: DeliveryRecord[];
  idempotentSince?: number;
}

interface PendingCreate {
  input: CreateMessageInput;
  resolve: (result: { message: MessageRecord; created: boolean }) => void;
  reject: (error: unknown) => void;
}

interface PendingFinish {
  input: FinishInput;
  resolve: (held: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Records read with claims, each handed to one of the reads that follow (one per claimed delivery), then dropped.
 * Each is its own object (parsed from its own row), so no caller sees another's changes and none needs a copy.
 */
interface Prefetched<T> {
  values: T[];
  until: number;
}

/** How long a record read with a claim may answer the claimer's reads: they follow at once, so this only bounds memory. */
const PREFETCH_MS = 2_000;

/** The wake-up channel's payload announcing that a process started or stopped listening. */
const MEMBERS_CHANGED = 'members';
/** Payloads of room sharing: `room:<pid>` (the listener with that backend pid asks for room), `wake:<pid>` (wakes it). */
const ROOM_WANTED = /^room:(\d{1,10})$/;
const WAKE_ONE = /^wake:(\d{1,10})$/;
/** A process asks the others for room at most this often. */
const ROOM_ASK_MS = 50;

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03']);

function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08'))) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(error.message);
}

/** Unreachable database -> `store_unavailable` (503), so callers can retry; anything else passes through untouched. */
function translate(error: unknown): unknown {
  if (isConnectionError(error)) {
    return new HooklineError('store_unavailable', 'The Postgres store is unreachable; try again.', { cause: error });
  }
  return error;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === '23505';
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

function toDelivery(row: Row): DeliveryRecord {
  const delivery: DeliveryRecord = {
    id: row.id as string,
    tenant: row.tenant as string,
    messageId: row.message_id as string,
    endpointId: row.endpoint_id as string,
    status: row.status as DeliveryStatus,
    attemptCount: num(row.attempt_count),
    nextAttemptAt: num(row.next_attempt_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
  if (row.lease_owner !== null) delivery.leaseOwner = row.lease_owner as string;
  if (row.lease_expires_at !== null) delivery.leaseExpiresAt = num(row.lease_expires_at);
  if (row.last_error !== null) delivery.lastError = row.last_error as string;
  return delivery;
}

function toMessage(row: Row): MessageRecord {
  const message: MessageRecord = {
    id: row.id as string,
    tenant: row.tenant as string,
    type: row.type as string,
    data: row.data as JsonValue,
    createdAt: num(row.created_at),
  };
  if (row.idempotency_key !== null) message.idempotencyKey = row.idempotency_key as string;
  return message;
}

function toCallback(row: Row): CallbackRecord {
  const callback: CallbackRecord = {
    tokenHash: row.token_hash as string,
    tenant: row.tenant as string,
    deliveryId: row.delivery_id as string,
    messageId: row.message_id as string,
    endpointId: row.endpoint_id as string,
    expiresAt: num(row.expires_at),
  };
  if (row.answered_at !== null) {
    callback.answeredAt = num(row.answered_at);
    callback.answer = row.answer as JsonValue;
  }
  return callback;
}

/** The deliveries as one array per column, for `unnest` in a single INSERT. */
function deliveryColumns(deliveries: DeliveryRecord[]): unknown[][] {
  const column = <K extends keyof DeliveryRecord>(key: K) => deliveries.map((d) => d[key] ?? null);
  return [
    column('id'), column('tenant'), column('messageId'), column('endpointId'), column('status'), column('attemptCount'),
    column('nextAttemptAt'), column('leaseOwner'), column('leaseExpiresAt'), column('lastError'), column('createdAt'),
    column('updatedAt'),
  ];
}

function byDueOrder(a: DeliveryRecord, b: DeliveryRecord): number {
  if (a.nextAttemptAt !== b.nextAttemptAt) return a.nextAttemptAt - b.nextAttemptAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** JSON text for a `json` column; `json` (not `jsonb`) keeps bodies byte for byte, `\u0000` included, and costs no parse. */
function json(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * JSON texts for one `JSON_LIST` parameter (sql.ts): joined by U+001E, which JSON.stringify always escapes inside a
 * text; an absent value (no JSON text) becomes an empty element, read back as NULL.
 */
function jsonList(texts: Array<string | undefined>): string {
  return texts.map((text) => text ?? '').join('\u001e');
}

/** The 1-based positions in a finish batch of the deliveries whose lease held, from `HELD` (sql.ts): "1,3" or "". */
function heldPositions(text: unknown): Set<number> {
  return typeof text === 'string' && text !== '' ? new Set(text.split(',').map(Number)) : new Set();
}

/** `finish_attempts`'s twelve parameters for a batch of finishes (`finishAttemptsCall`, `finishThenClaim`). */
function finishColumns(finishes: FinishInput[]): unknown[] {
  const column = (pick: (input: FinishInput) => unknown) => finishes.map((f) => pick(f) ?? null);
  return [
    column((f) => f.attempt.id), column((f) => f.attempt.tenant), column((f) => f.attempt.endpointId),
    column((f) => f.attempt.messageId), column((f) => f.attempt.deliveryId), column((f) => f.attempt.startedAt),
    jsonList(finishes.map((f) => json(f.attempt))), column((f) => f.outcome.status), column((f) => f.outcome.nextAttemptAt),
    column((f) => f.outcome.lastError), column((f) => f.attempt.startedAt + f.attempt.durationMs), column((f) => f.owner),
  ];
}

/**
 * A {@link DeliveryStore} on PostgreSQL for many workers on many machines: `FOR UPDATE SKIP LOCKED` claims,
 * per-endpoint limits held across processes, `LISTEN/NOTIFY` wake-ups, migrations under an advisory lock, bounded
 * purges. Create it with {@link createPostgresStore}, which migrates before resolving.
 */
export class PostgresStore implements DeliveryStore {
  readonly schema: string;
  /** Claims are round trips to a shared server: workers claim ahead of free send slots (see DeliveryStore). */
  readonly claimsAhead = true;
  readonly pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #s: string;
  readonly #sql: Statements;
  readonly #channel: string;
  readonly #onError: (error: unknown) => void;
  readonly #reconnect: { initialMs: number; maxMs: number };
  readonly #clientConfig: pg.ClientConfig;
  readonly #wakeListeners = new Set<() => boolean | void>();
  #listener: pg.Client | undefined;
  #listenerTimer: NodeJS.Timeout | undefined;
  #listenerFailures = 0;
  /** The listening processes sharing this schema's wake-ups (their listeners' pids, in order) and this one's. */
  #members: { self: number; pids: number[]; at: number } | undefined;
  #membersRead: Promise<void> | undefined;
  readonly #membershipMs: number;
  readonly #roomListeners = new Set<() => void>();
  /** Listeners' pids of the processes that asked for room since this one last gave some. */
  readonly #askers = new Set<number>();
  #askedAt = 0;
  #closed = false;
  #notifying = false;
  #notifyAgain = false;
  #finishQueue: PendingFinish[] = [];
  /** A finish batch is on its way: finishes arriving meanwhile wait for it and go together next. */
  #finishInFlight = false;
  #createQueue: PendingCreate[] = [];
  /** Per tenant: the active-endpoint read the calls of this event-loop turn share, sent once the turn ends. */
  readonly #activeReads = new Map<string, Promise<EndpointRecord[]>>();
  /** Bumped by each local endpoint write: a claim that overlapped one keeps none of the endpoints it read. */
  #endpointWrites = 0;
  readonly #prefetched = new Map<string, Prefetched<EndpointRecord | MessageRecord>>();

  constructor(options: PostgresStoreOptions) {
    const schema = options.schema ?? 'hookline';
    if (!SCHEMA_NAME.test(schema)) {
      throw new HooklineError('invalid_config', 'The schema must be a lowercase identifier of at most 50 characters.', { details: { field: 'schema' } });
    }
    if (options.pool === undefined && options.connectionString === undefined) {
      throw new HooklineError('invalid_config', 'Give the Postgres store a connectionString or a pool.', { details: { field: 'connectionString' } });
    }
    this.schema = schema;
    this.#s = `"${schema}"`;
    this.#sql = statements(this.#s);
    this.#channel = `${schema}_wake`;
    this.#onError = options.onError ?? (() => {});
    this.#reconnect = { initialMs: options.reconnect?.initialMs ?? 100, maxMs: options.reconnect?.maxMs ?? 10_000 };
    const membershipMs = options.wakeMembershipMs ?? 1000;
    if (typeof membershipMs !== 'number' || !Number.isFinite(membershipMs) || membershipMs < 0) {
      throw new HooklineError('invalid_config', 'wakeMembershipMs must be a non-negative number of milliseconds.', { details: { field: 'wakeMembershipMs' } });
    }
    this.#membershipMs = membershipMs;
    this.#ownsPool = options.pool === undefined;
    this.pool =
      options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10, application_name: `hookline:${schema}` });
    this.#clientConfig = options.pool === undefined ? { connectionString: options.connectionString } : (options.pool.options as pg.ClientConfig);
    // An idle pooled connection that dies (server restart) emits here; without a handler it would crash the process.
    this.pool.on('error', (error) => this.#onError(error));
  }

  /** Creates the schema and applies pending migrations once, however many processes start together. */
  async migrate(): Promise<void> {
    const client = await this.pool.connect().catch((error: unknown) => {
      throw translate(error);
    });
    const lockKey = `hookline.migrate:${this.schema}`;
    const onClientError = (error: unknown) => this.#onError(error);
    client.on('error', onClientError);
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#s}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.#s}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const applied = new Set((await client.query(`SELECT version FROM ${this.#s}.schema_migrations`)).rows.map((r: Row) => num(r.version)));
      const all = migrations(this.#s);
      for (let i = 0; i < all.length; i++) {
        const version = i + 1;
        if (applied.has(version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(all[i] as string);
          await client.query(`INSERT INTO ${this.#s}.schema_migrations (version) VALUES ($1)`, [version]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      }
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
      client.off('error', onClientError);
      client.release();
    } catch (error) {
      client.off('error', onClientError);
      // A connection in an unknown state (lock held, transaction open) is destroyed, not returned to the pool.
      client.release(error instanceof Error ? error : true);
      throw translate(error);
    }
  }

  // ------------------------------------------------------------------ endpoints

  async createEndpoint(endpoint: EndpointRecord): Promise<EndpointRecord> {
    try {
      await this.#query(
        `INSERT INTO ${this.#s}.endpoints (id, tenant, active, created_at, record) VALUES ($1, $2, $3, $4, $5)`,
        [endpoint.id, endpoint.tenant, endpoint.active, endpoint.createdAt, json(endpoint)],
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new HooklineError('conflict', 'An endpoint with this id exists.', { details: { id: endpoint.id } });
      throw error;
    }
    return structuredClone(endpoint);
  }

  async getEndpoint(tenant: string, id: string): Promise<EndpointRecord | undefined> {
    const prefetched = this.#takePrefetched(`e\0${tenant}\0${id}`);
    if (prefetched !== undefined) return prefetched as EndpointRecord;
    const { rows } = await this.#query(`SELECT record FROM ${this.#s}.endpoints WHERE id = $1 AND tenant = $2`, [id, tenant], 'endpoint');
    return rows[0]?.record as EndpointRecord | undefined;
  }

  async updateEndpoint(endpoint: EndpointRecord): Promise<EndpointRecord | undefined> {
    // Before and after: a claim overlapping the write may have read the old record.
    this.#forgetEndpoint(endpoint.tenant, endpoint.id);
    const { rowCount } = await this.#query(
      `UPDATE ${this.#s}.endpoints SET active = $3, record = $4 WHERE id = $1 AND tenant = $2`,
      [endpoint.id, endpoint.tenant, endpoint.active, json(endpoint)],
    ).finally(() => this.#forgetEndpoint(endpoint.tenant, endpoint.id));
    return rowCount === 1 ? structuredClone(endpoint) : undefined;
  }

  async deleteEndpoint(tenant: string, id: string, now?: number): Promise<boolean> {
    this.#forgetEndpoint(tenant, id);
    const { rows } = await this.#query(this.#sql.deleteEndpoint, [id, tenant, now ?? null]).finally(() => this.#forgetEndpoint(tenant, id));
    return rows[0]?.n === 1;
  }

  async listEndpoints(tenant: string, page?: PageQuery): Promise<Page<EndpointRecord>> {
    return this.#page<EndpointRecord>('endpoints', tenant, page, (e) => ({ at: e.createdAt, id: e.id }));
  }

  /**
   * Calls for one tenant in the same event-loop turn (concurrent publishes) share one read, sent after the turn, so
   * it still follows every call. The callers share the records read, deep-frozen, so none can change another's (a
   * copy per caller cost more than the read itself once a turn held a few dozen publishes).
   */
  async activeEndpoints(tenant: string): Promise<readonly Readonly<EndpointRecord>[]> {
    let read = this.#activeReads.get(tenant);
    if (read === undefined) {
      read = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.#activeReads.delete(tenant);
        const { rows } = await this.#query(
          `SELECT record FROM ${this.#s}.endpoints WHERE tenant = $1 AND active ORDER BY created_at, id`,
          [tenant], 'active',
        );
        return deepFreeze(rows.map((row) => row.record as EndpointRecord));
      });
      this.#activeReads.set(tenant, read);
    }
    return read;
  }

  // ------------------------------------------------------------------ messages and deliveries

  /**
   * Publishes without an idempotency key that arrive in the same event-loop turn go in as one statement (one round
   * trip, one durable commit); if that fails (an id taken), each is retried alone, so only the offender fails.
   */
  createMessage(input: CreateMessageInput): Promise<{ message: MessageRecord; created: boolean }> {
    if (input.message.idempotencyKey !== undefined) return this.#createMessage(input);
    return new Promise((resolve, reject) => {
      this.#createQueue.push({ input, resolve, reject });
      if (this.#createQueue.length === 1) setImmediate(() => void this.#flushCreates());
    });
  }

  async #flushCreates(): Promise<void> {
    const batch = this.#createQueue;
    this.#createQueue = [];
    if (batch.length === 1) {
      const only = batch[0] as PendingCreate;
      await this.#createMessage(only.input).then(only.resolve, only.reject);
      return;
    }
    const messages = batch.map((p) => p.input.message);
    try {
      await this.#query(this.#sql.createMessages, [
        messages.map((m) => m.id), messages.map((m) => m.tenant), messages.map((m) => m.type), messages.map((m) => m.createdAt),
        jsonList(messages.map((m) => json(m.data))), ...deliveryColumns(batch.flatMap((p) => p.input.deliveries)),
      ], 'publish');
    } catch (error) {
      if (isHooklineError(error) && error.code === 'store_unavailable') {
        for (const pending of batch) pending.reject(error);
        return;
      }
      await Promise.all(batch.map((pending) => this.#createMessage(pending.input).then(pending.resolve, pending.reject)));
      return;
    }
    // The store keeps no reference to a message it wrote, so the caller's own record is returned, not a copy.
    for (const pending of batch) pending.resolve({ message: pending.input.message, created: true });
    if (batch.some((p) => p.input.deliveries.length > 0)) this.#notify();
  }

  async #createMessage(input: CreateMessageInput): Promise<{ message: MessageRecord; created: boolean }> {
    const { message } = input;
    const insert = [
      message.id, message.tenant, message.type, message.idempotencyKey ?? null, message.createdAt, json(message.data),
      ...deliveryColumns(input.deliveries),
    ];
    const created = await this.#transactionIf(message.idempotencyKey !== undefined, async (run) => {
      if (message.idempotencyKey !== undefined) {
        // One key at a time per tenant: racing publishes with one key serialise here, and the check below, in a
        // snapshot taken after the lock, sees the winner's message.
        await run('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
          `${this.schema}:idempotency`, JSON.stringify([message.tenant, message.idempotencyKey]),
        ]);
        const { rows } = await run(
          `SELECT * FROM ${this.#s}.messages WHERE tenant = $1 AND idempotency_key = $2 AND created_at >= $3
           ORDER BY created_at, id LIMIT 1`,
          [message.tenant, message.idempotencyKey, input.idempotentSince ?? Number.MIN_SAFE_INTEGER],
        );
        if (rows[0] !== undefined) return { message: toMessage(rows[0]), created: false };
      }
      try {
        await run(this.#sql.createMessage, insert, 'publish-one');
      } catch (error) {
        if (isUniqueViolation(error)) throw new HooklineError('conflict', 'A message or delivery with this id exists.', { details: { id: message.id } });
        throw error;
      }
      return { message, created: true };
    });
    if (created.created && input.deliveries.length > 0) this.#notify();
    return created;
  }

  async getMessage(tenant: string, id: string): Promise<MessageRecord | undefined> {
    const prefetched = this.#takePrefetched(`m\0${tenant}\0${id}`);
    if (prefetched !== undefined) return prefetched as MessageRecord;
    const { rows } = await this.#query(`SELECT * FROM ${this.#s}.messages WHERE id = $1 AND tenant = $2`, [id, tenant], 'message');
    return rows[0] === undefined ? undefined : toMessage(rows[0]);
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const { rows } = await this.#query(`SELECT * FROM ${this.#s}.deliveries WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : toDelivery(rows[0]);
  }

  async listDeliveries(tenant: string, messageId: string): Promise<DeliveryRecord[]> {
    const { rows } = await this.#query(
      `SELECT * FROM ${this.#s}.deliveries WHERE message_id = $1 AND tenant = $2 ORDER BY created_at, id`,
      [messageId, tenant],
    );
    return rows.map(toDelivery);
  }

  async addDeliveries(deliveries: DeliveryRecord[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.#transaction(async (client) => {
      const messageIds = [...new Set(deliveries.map((d) => d.messageId))];
      // FOR KEY SHARE keeps a concurrent purge from taking the message while its new deliveries go in.
      const { rows } = await client.query(`SELECT id FROM ${this.#s}.messages WHERE id = ANY ($1::text[]) FOR KEY SHARE`, [messageIds]);
      const found = new Set(rows.map((r: Row) => r.id as string));
      const missing = messageIds.find((id) => !found.has(id));
      if (missing !== undefined) {
        throw new HooklineError('not_found', 'The message of this delivery does not exist.', { details: { messageId: missing } });
      }
      await this.#insertDeliveries(client, deliveries);
    });
    this.#notify();
  }

  /**
   * Without `perEndpointLimit`: one UPDATE over a `FOR UPDATE SKIP LOCKED` sub-select, so concurrent claimers take
   * disjoint rows without waiting. With it, SKIP LOCKED alone is not enough: two claimers would each count the other's
   * uncommitted leases as absent and together exceed the limit. So, in one transaction: find the endpoints owning the
   * earliest due deliveries, take a transaction-scoped advisory lock per endpoint (try-lock: an endpoint another
   * claimer is busy with is skipped this round, so claimers never wait on or deadlock with each other), then count live
   * leases and lease up to the remainder in a statement whose snapshot follows the locks. Rounds repeat, skipping
   * endpoints already seen, until the limit is met, so one endpoint's backlog never hides the others. The rounds run
   * server-side, in one call.
   */
  async claimDue(options: ClaimOptions): Promise<DeliveryRecord[]> {
    const { now, owner, leaseMs, limit, perEndpointLimit } = options;
    if (limit <= 0) return [];
    // Leases commit without waiting for fsync: a lease lost in a database crash only makes its delivery claimable
    // again (at least once, as always), and claims stop queueing behind every other commit's flush.
    if (perEndpointLimit === undefined) {
      const rows = await this.#transaction(async (client) => {
        const taken = (await client.query<Row>(this.#sql.claimDue, [now, owner, now + leaseMs, limit])).rows.map(toDelivery);
        await this.#prefetchFor(client, taken);
        return taken;
      }, { asyncCommit: true });
      return rows.sort(byDueOrder);
    }
    return (await this.#claimLimited(options, false)).deliveries;
  }

  /** `claimDue`, and when it comes back short, `nextDueAt` as of just after it: one call with a per-endpoint limit. */
  async claimDueWithNext(options: ClaimOptions): Promise<ClaimWithNext> {
    if (options.limit <= 0) return { deliveries: [] };
    if (options.perEndpointLimit === undefined) {
      const deliveries = await this.claimDue(options);
      return deliveries.length < options.limit ? { deliveries, nextDueAt: await this.nextDueAt() } : { deliveries };
    }
    return this.#claimLimited(options, true);
  }

  /**
   * One call: the rounds run server-side in `claim_due` (migration 3), which also returns each claimed delivery's
   * message and endpoint for the reads that follow; with `withNext`, `claim_due_next` (migration 9) adds a last row
   * holding only the next due time when the claim was short.
   */
  async #claimLimited(options: ClaimOptions, withNext: boolean): Promise<ClaimWithNext> {
    const { now, owner, leaseMs, limit, perEndpointLimit } = options;
    const writes = this.#endpointWrites;
    const { rows } = await this.#query(
      withNext ? this.#sql.claimDueNext : this.#sql.claimDueLimited,
      [now, owner, now + leaseMs, limit, perEndpointLimit, `${this.schema}:claim`], withNext ? 'claim-next' : 'claim',
    );
    return this.#readClaim(rows, withNext, writes);
  }

  /** A claim's rows: each claimed delivery with its message and endpoint, then (`withNext`, short) the next due time. */
  #readClaim(rows: Row[], withNext: boolean, writes: number): ClaimWithNext {
    const taken = withNext ? rows.filter((row) => row.delivery !== null) : rows;
    const claimed = taken.map((row) => toDelivery(row.delivery as Row));
    this.#keepPrefetched(claimed, taken.map((row) => row.message as Row | null), taken.map((row) => row.endpoint as EndpointRecord | null), writes);
    claimed.sort(byDueOrder);
    // Short, the last row is the next due time alone (NULL: nothing pending).
    const next = withNext ? rows.at(-1) : undefined;
    return next?.delivery === null && next.next_due !== null ? { deliveries: claimed, nextDueAt: num(next.next_due) } : { deliveries: claimed };
  }

  async renewLease(deliveryId: string, owner: string, leaseExpiresAt: number): Promise<boolean> {
    const { rowCount } = await this.#query(
      `UPDATE ${this.#s}.deliveries SET lease_expires_at = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'pending'`,
      [deliveryId, owner, leaseExpiresAt], 'renew',
    );
    return rowCount === 1;
  }

  async releaseLease(deliveryId: string, owner: string): Promise<void> {
    await this.#query(
      `WITH released AS (
         UPDATE ${this.#s}.deliveries SET lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING 1
       )
       SELECT pg_notify($3, '') FROM released`,
      [deliveryId, owner, this.#channel],
    );
  }

  /**
   * Finishes arriving in the same event-loop turn (the sends of one batch answering together) are committed in one
   * statement, one round trip and one commit; each promise still resolves after that commit with its own result. While
   * one batch is on its way, finishes arriving meanwhile wait for it and go as the next batch: one finish batch in
   * flight per store, so batches grow with the load instead of each turn's few finishes taking a round trip. If
   * the batch fails for anything but a lost connection, each finish is retried alone, so one bad finish fails alone.
   */
  finishAttempt(input: FinishInput): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#finishQueue.push({ input, resolve, reject });
      if (this.#finishQueue.length === 1 && !this.#finishInFlight) setImmediate(() => void this.#flushFinishes());
    });
  }

  async #flushFinishes(): Promise<void> {
    this.#finishInFlight = true;
    try {
      await this.#flushFinishBatch();
    } finally {
      this.#finishInFlight = false;
    }
    if (this.#finishQueue.length > 0) setImmediate(() => void this.#flushFinishes());
  }

  async #flushFinishBatch(): Promise<void> {
    const queue = this.#finishQueue;
    this.#finishQueue = [];
    // One delivery or attempt twice in a batch would make both look finished: later duplicates go in a batch of their own.
    const batch: PendingFinish[] = [];
    const later: PendingFinish[] = [];
    const deliveries = new Set<string | undefined>();
    const attempts = new Set<string>();
    for (const pending of queue) {
      const { attempt } = pending.input;
      if (deliveries.has(attempt.deliveryId) || attempts.has(attempt.id)) later.push(pending);
      else {
        batch.push(pending);
        deliveries.add(attempt.deliveryId);
        attempts.add(attempt.id);
      }
    }
    await this.#finishBatch(batch);
    if (later.length > 0) this.#finishQueue.unshift(...later);
  }

  async #finishBatch(batch: PendingFinish[]): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0] as PendingFinish;
      await this.#finishOne(only.input).then(only.resolve, only.reject);
      return;
    }
    let finished: Set<number>;
    try {
      const { rows } = await this.#query(this.#sql.finishAttemptsCall, finishColumns(batch.map((p) => p.input)), 'finish-batch');
      finished = heldPositions(rows[0]?.held);
    } catch (error) {
      if (isHooklineError(error) && error.code === 'store_unavailable') {
        for (const pending of batch) pending.reject(error);
        return;
      }
      await Promise.all(batch.map((pending) => this.#finishOne(pending.input).then(pending.resolve, pending.reject)));
      return;
    }
    batch.forEach((pending, i) => pending.resolve(finished.has(i + 1)));
  }

  /**
   * The finishes and the claim in one call (`finish_then_claim`, migration 12; with `refill`, `finish_then_refill`,
   * migration 13, which claims only for the finished deliveries' endpoints). A batch naming one delivery or attempt
   * twice (both would look finished), or a call that fails for any reason but an unreachable server (say, one bad
   * record), goes the long way: each finish as `finishAttempt` (batched, a bad record isolated), then the claim.
   */
  async finishThenClaim(finishes: FinishInput[], options: FinishThenClaimOptions): Promise<FinishThenClaim> {
    const refill = options.refill === true;
    const apart = async (): Promise<FinishThenClaim> => {
      const held = await Promise.all(finishes.map((finish) => this.finishAttempt(finish)));
      return { held, claim: await this.claimDueWithNext(options) };
    };
    const deliveries = new Set(finishes.map((f) => f.attempt.deliveryId));
    const attempts = new Set(finishes.map((f) => f.attempt.id));
    if (finishes.length === 0 || deliveries.size < finishes.length || attempts.size < finishes.length) return apart();
    const { now, owner, leaseMs, limit, perEndpointLimit } = options;
    const writes = this.#endpointWrites;
    let rows: Row[];
    try {
      ({ rows } = await this.#query(refill ? this.#sql.finishThenRefill : this.#sql.finishThenClaim, [
        ...finishColumns(finishes), now, owner, now + leaseMs, limit, perEndpointLimit, `${this.schema}:claim`,
      ], refill ? 'finish-refill' : 'finish-claim'));
    } catch (error) {
      if (isHooklineError(error) && error.code === 'store_unavailable') throw error;
      return apart();
    }
    const finished = heldPositions(rows[0]?.held);
    return { held: finishes.map((_, i) => finished.has(i + 1)), claim: this.#readClaim(rows.slice(1), true, writes) };
  }

  async #finishOne(input: FinishInput): Promise<boolean> {
    const { owner, attempt, outcome } = input;
    // One statement: the attempt is recorded whether or not the lease still holds, atomically with the outcome.
    const { rows } = await this.#query(this.#sql.finishAttempt, [
      attempt.id, attempt.tenant, attempt.endpointId, attempt.messageId ?? null, attempt.deliveryId ?? null, attempt.startedAt,
      json(attempt), outcome.status, outcome.nextAttemptAt ?? null, outcome.lastError ?? null,
      attempt.startedAt + attempt.durationMs, owner,
    ], 'finish');
    return rows[0]?.n === 1;
  }

  async setDeliveryStatus(id: string, status: DeliveryStatus, now: number): Promise<void> {
    await this.#query(
      `UPDATE ${this.#s}.deliveries SET status = $2, lease_owner = NULL, lease_expires_at = NULL, updated_at = $3 WHERE id = $1`,
      [id, status, now],
    );
  }

  async nextDueAt(): Promise<number | undefined> {
    const { rows } = await this.#query(this.#sql.nextDueAtCall, [], 'due');
    const at = rows[0]?.at;
    return at === null || at === undefined ? undefined : num(at);
  }

  async expireAwaitingCallbacks(options: ExpireCallbacksOptions): Promise<DeliveryRecord[]> {
    const { now, before, limit, reason } = options;
    if (limit <= 0) return [];
    const { rows } = await this.#query(this.#sql.expireAwaitingCallbacks, [now, before, limit, reason]);
    return rows
      .sort((a, b) => num(a.was) - num(b.was) || (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0))
      .map(toDelivery);
  }

  // ------------------------------------------------------------------ attempts

  async recordAttempt(attempt: AttemptRecord): Promise<void> {
    await this.#query(
      `INSERT INTO ${this.#s}.attempts (id, tenant, endpoint_id, message_id, delivery_id, started_at, record)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
      [attempt.id, attempt.tenant, attempt.endpointId, attempt.messageId ?? null, attempt.deliveryId ?? null, attempt.startedAt, json(attempt)],
    );
  }

  async listAttempts(query: AttemptQuery): Promise<Page<AttemptRecord>> {
    const limit = pageLimit(query.limit);
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const { text, values } = this.#sql.listAttempts({ ...query, cursor, limit: limit + 1 });
    const { rows } = await this.#query(text, values);
    return toPage(rows.map((row) => row.record as AttemptRecord), limit, (a) => ({ at: a.startedAt, id: a.id }));
  }

  // ------------------------------------------------------------------ callbacks

  async createCallback(callback: CallbackRecord): Promise<void> {
    try {
      await this.#query(
        `INSERT INTO ${this.#s}.callbacks (token_hash, tenant, delivery_id, message_id, endpoint_id, expires_at, answered_at, answer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          callback.tokenHash, callback.tenant, callback.deliveryId, callback.messageId, callback.endpointId, callback.expiresAt,
          callback.answeredAt ?? null, callback.answeredAt === undefined ? null : json(callback.answer ?? null),
        ],
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new HooklineError('conflict', 'This callback token exists.');
      throw error;
    }
  }

  async getCallback(tokenHash: string): Promise<CallbackRecord | undefined> {
    const { rows } = await this.#query(`SELECT * FROM ${this.#s}.callbacks WHERE token_hash = $1`, [tokenHash]);
    return rows[0] === undefined ? undefined : toCallback(rows[0]);
  }

  async answerCallback(tokenHash: string, answer: JsonValue, now: number): Promise<CallbackAnswerResult> {
    // The conditional UPDATE is the atomic step: of concurrent answers, exactly one matches `answered_at IS NULL`.
    const { rows } = await this.#query(
      `UPDATE ${this.#s}.callbacks SET answered_at = $2, answer = $3
       WHERE token_hash = $1 AND answered_at IS NULL AND expires_at > $2 RETURNING *`,
      [tokenHash, now, json(answer)],
    );
    if (rows[0] !== undefined) return { ok: true, callback: toCallback(rows[0]) };
    const existing = await this.getCallback(tokenHash);
    if (existing === undefined) return { ok: false, reason: 'not_found' };
    return { ok: false, reason: existing.answeredAt !== undefined ? 'already_answered' : 'expired' };
  }

  // ------------------------------------------------------------------ inbound sources

  async createSource(source: InboundSourceRecord): Promise<InboundSourceRecord> {
    try {
      await this.#query(
        `INSERT INTO ${this.#s}.sources (id, tenant, created_at, record) VALUES ($1, $2, $3, $4)`,
        [source.id, source.tenant, source.createdAt, json(source)],
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new HooklineError('conflict', 'A source with this id exists.', { details: { id: source.id } });
      throw error;
    }
    return structuredClone(source);
  }

  async getSource(id: string): Promise<InboundSourceRecord | undefined> {
    const { rows } = await this.#query(`SELECT record FROM ${this.#s}.sources WHERE id = $1`, [id]);
    return rows[0]?.record as InboundSourceRecord | undefined;
  }

  async updateSource(source: InboundSourceRecord, ifUpdatedAt?: number): Promise<InboundSourceRecord | undefined> {
    // One statement: the check and the write see the same row version, so the compare-and-set holds across processes.
    const { rowCount } = await this.#query(
      `UPDATE ${this.#s}.sources SET record = $3
       WHERE id = $1 AND tenant = $2 AND ($4::bigint IS NULL OR (record->>'updatedAt')::bigint = $4::bigint)`,
      [source.id, source.tenant, json(source), ifUpdatedAt ?? null],
    );
    return rowCount === 1 ? structuredClone(source) : undefined;
  }

  async deleteSource(tenant: string, id: string): Promise<boolean> {
    const { rowCount } = await this.#query(`DELETE FROM ${this.#s}.sources WHERE id = $1 AND tenant = $2`, [id, tenant]);
    return rowCount === 1;
  }

  async listSources(tenant: string, page?: PageQuery): Promise<Page<InboundSourceRecord>> {
    return this.#page<InboundSourceRecord>('sources', tenant, page, (s) => ({ at: s.createdAt, id: s.id }));
  }

  // ------------------------------------------------------------------ replay protection

  async addSeenId(key: string, expiresAt: number, now: number = Date.now()): Promise<boolean> {
    const { rowCount } = await this.#query(
      `INSERT INTO ${this.#s}.seen_ids (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE seen_ids.expires_at <= $3`,
      [key, expiresAt, now],
    );
    return rowCount === 1;
  }

  // ------------------------------------------------------------------ retention

  async purge(options: { before: number; now: number; limit: number }): Promise<number> {
    const { before, now, limit } = options;
    const attempts = await this.#query(this.#sql.purgeAttempts, [before, limit]);
    const messages = await this.#query(this.#sql.purgeMessages, [before, limit]);
    const seen = await this.#query(this.#sql.purgeSeenIds, [now, limit]);
    return (attempts.rowCount ?? 0) + num(messages.rows[0]?.n ?? 0) + (seen.rowCount ?? 0);
  }

  // ------------------------------------------------------------------ wake-ups

  /**
   * Calls `listener` when something is published: at once in this process, and through LISTEN/NOTIFY on a dedicated
   * connection in one of the processes listening on the schema, chosen per publish batch (a listener returning
   * `false`, no room for work, passes it to the next). The connection is reconnected with backoff when it drops;
   * listeners are also called after each reconnect, since notifications sent meanwhile are lost. Returns the
   * unsubscribe function.
   */
  onWake(listener: () => boolean | void): () => void {
    this.#wakeListeners.add(listener);
    if (this.#listener === undefined && this.#listenerTimer === undefined) void this.#listen();
    return () => {
      this.#wakeListeners.delete(listener);
      if (this.#wakeListeners.size === 0) void this.#stopListening();
    };
  }

  // ------------------------------------------------------------------ room sharing between processes

  /**
   * Asks the other listening processes for room: this one's claims come back held back by the per-endpoint limits
   * while it holds few leases, because the others take back the room their finished sends free (see the dispatcher).
   * Each other process's `onRoomWanted` listeners are called; one that then leaves a batch's room to the race calls
   * `roomGiven`, which wakes this process to claim it. At most one ask per 50 ms; nothing when this store does not
   * listen (no `onWake` listener) or does not know its own listening connection.
   */
  askForRoom(): void {
    const self = this.#listeningPid();
    const now = Date.now();
    if (this.#closed || self === undefined || now - this.#askedAt < ROOM_ASK_MS) return;
    this.#askedAt = now;
    this.#passOn(`room:${self}`);
  }

  /** Calls `listener` when another process asks for room (`askForRoom`). Returns the unsubscribe function. */
  onRoomWanted(listener: () => void): () => void {
    this.#roomListeners.add(listener);
    return () => void this.#roomListeners.delete(listener);
  }

  /** The backend pid of this store's listening connection, once it has connected. */
  #listeningPid(): number | undefined {
    const pid = (this.#listener as (pg.Client & { processID?: number | null }) | undefined)?.processID;
    return typeof pid === 'number' ? pid : undefined;
  }

  /** Room was left to the race (finishes committed without a claim along): wakes the processes that asked for it. */
  roomGiven(): void {
    const askers = [...this.#askers];
    this.#askers.clear();
    for (const pid of askers) this.#passOn(`wake:${pid}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeListeners.clear();
    this.#roomListeners.clear();
    await this.#stopListening();
    if (this.#ownsPool) await this.pool.end();
  }

  // ------------------------------------------------------------------ internals

  /**
   * Reads the messages and endpoints of claimed deliveries in the claim's transaction, so the claimer's
   * `getMessage`/`getEndpoint` for each (which follow at once) cost no round trip. Messages never change and cannot be
   * purged while a delivery is pending; an endpoint is as of the claim, as if read a moment earlier, and a local
   * update or delete drops it.
   */
  async #prefetchFor(client: pg.PoolClient, deliveries: DeliveryRecord[]): Promise<void> {
    if (deliveries.length === 0) return;
    const writes = this.#endpointWrites;
    const messageIds = [...new Set(deliveries.map((d) => d.messageId))];
    const endpointIds = [...new Set(deliveries.map((d) => d.endpointId))];
    const { rows } = await client.query<Row>(this.#sql.claimContext, [messageIds, endpointIds]);
    const messages = new Map(((rows[0]?.messages ?? []) as Row[]).map((row) => [row.id as string, row]));
    const endpoints = new Map(((rows[0]?.endpoints ?? []) as EndpointRecord[]).map((record) => [record.id, record]));
    this.#keepPrefetched(
      deliveries, deliveries.map((d) => messages.get(d.messageId) ?? null), deliveries.map((d) => endpoints.get(d.endpointId) ?? null), writes,
    );
  }

  /** Keeps each claimed delivery's message and endpoint (same positions) for one read each; `writes` as the claim began. */
  #keepPrefetched(deliveries: DeliveryRecord[], messages: Array<Row | null>, endpoints: Array<EndpointRecord | null>, writes: number): void {
    const at = performance.now();
    for (const [key, entry] of this.#prefetched) if (entry.until <= at) this.#prefetched.delete(key);
    const until = at + PREFETCH_MS;
    // An object handed out once already (one endpoint read for several deliveries) is copied for the next reader.
    const kept = new Set<unknown>();
    const keep = (key: string, source: object, value: EndpointRecord | MessageRecord) => {
      const entry = this.#prefetched.get(key);
      const own = kept.has(source) ? structuredClone(value) : value;
      kept.add(source);
      if (entry === undefined) this.#prefetched.set(key, { values: [own], until });
      else {
        entry.values.push(own);
        entry.until = until;
      }
    };
    deliveries.forEach((delivery, i) => {
      const messageRow = messages[i];
      if (messageRow !== null && messageRow !== undefined && messageRow.tenant === delivery.tenant) {
        keep(`m\0${delivery.tenant}\0${delivery.messageId}`, messageRow, toMessage(messageRow));
      }
      const endpoint = endpoints[i];
      if (endpoint !== null && endpoint !== undefined && endpoint.tenant === delivery.tenant && writes === this.#endpointWrites) {
        keep(`e\0${delivery.tenant}\0${endpoint.id}`, endpoint, endpoint);
      }
    });
  }

  #forgetEndpoint(tenant: string, id: string): void {
    this.#endpointWrites += 1;
    this.#prefetched.delete(`e\0${tenant}\0${id}`);
  }

  /** A prefetched record, once per claimed delivery. */
  #takePrefetched(key: string): EndpointRecord | MessageRecord | undefined {
    const entry = this.#prefetched.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= performance.now()) {
      this.#prefetched.delete(key);
      return undefined;
    }
    const value = entry.values.pop();
    if (entry.values.length === 0) this.#prefetched.delete(key);
    return value;
  }

  /**
   * One statement on the pool. `prepared` names the hot-path statements: each connection parses and plans them once
   * and then only binds and runs them (the name carries the schema, so stores of two schemas can share a pool).
   */
  async #query(sql: string, params: unknown[], prepared?: string): Promise<pg.QueryResult<Row>> {
    try {
      if (prepared !== undefined) return await this.pool.query<Row>({ name: `${this.schema}:${prepared}`, text: sql, values: params });
      return await this.pool.query<Row>(sql, params);
    } catch (error) {
      throw translate(error);
    }
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>, options: { asyncCommit?: boolean } = {}): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translate(error);
    }
    // A checked-out client whose connection drops emits 'error'; unhandled, that would crash the process.
    const onClientError = (error: unknown) => this.#onError(error);
    client.on('error', onClientError);
    try {
      await client.query(options.asyncCommit === true ? 'BEGIN; SET LOCAL synchronous_commit TO OFF' : 'BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.off('error', onClientError);
      client.release();
      return result;
    } catch (error) {
      let broken: Error | boolean = false;
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : true;
      }
      // Only now: the connection can still emit 'error' while ROLLBACK is in flight.
      client.off('error', onClientError);
      client.release(broken);
      throw translate(error);
    }
  }

  /** Runs `work` in a transaction when `needed`, else statement by statement on the pool (one round trip each). */
  async #transactionIf<T>(
    needed: boolean,
    work: (run: (sql: string, params: unknown[], prepared?: string) => Promise<pg.QueryResult<Row>>) => Promise<T>,
  ): Promise<T> {
    if (!needed) return work((sql, params, prepared) => this.#query(sql, params, prepared));
    return this.#transaction((client) => work((sql, params) => client.query<Row>(sql, params)));
  }

  async #insertDeliveries(client: pg.PoolClient, deliveries: DeliveryRecord[]): Promise<void> {
    if (deliveries.length === 0) return;
    try {
      await client.query(this.#sql.insertDeliveries, deliveryColumns(deliveries));
    } catch (error) {
      if (isUniqueViolation(error)) throw new HooklineError('conflict', 'A delivery with this id exists.');
      throw error;
    }
  }

  /**
   * NOTIFY after commit, coalesced: a NOTIFY inside the publish transaction would serialise every publish on
   * Postgres's notify lock (one fsync at a time); here at most one is in flight and one more is queued, sent without
   * waiting for fsync since a lost wake-up only costs a poll.
   */
  #notify(): void {
    this.#wake();
    if (this.#notifying) {
      this.#notifyAgain = true;
      return;
    }
    this.#notifying = true;
    // The payload picks which listening process takes this wake-up (see #onNotification).
    this.#sendNotify(String(Math.floor(Math.random() * 0x7fffffff)))
      .catch((error: unknown) => this.#onError(error))
      .finally(() => {
        this.#notifying = false;
        if (this.#notifyAgain && !this.#closed) {
          this.#notifyAgain = false;
          this.#notify();
        }
      });
  }

  async #page<T>(table: 'endpoints' | 'sources', tenant: string, page: PageQuery | undefined, position: (item: T) => { at: number; id: string }): Promise<Page<T>> {
    const limit = pageLimit(page?.limit);
    const cursor = page?.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const { rows } = cursor === undefined
      ? await this.#query(`SELECT record FROM ${this.#s}.${table} WHERE tenant = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, [tenant, limit + 1])
      : await this.#query(
          `SELECT record FROM ${this.#s}.${table} WHERE tenant = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
           ORDER BY created_at DESC, id DESC LIMIT $4`,
          [tenant, cursor.at, cursor.id, limit + 1],
        );
    return toPage(rows.map((row) => row.record as T), limit, position);
  }

  async #listen(): Promise<void> {
    this.#listenerTimer = undefined;
    if (this.#closed || this.#wakeListeners.size === 0) return;
    const client = new pg.Client({ ...this.#clientConfig, application_name: `hookline-wake:${this.schema}` });
    this.#listener = client;
    let dropped = false;
    const onDrop = (error?: unknown) => {
      if (dropped) return;
      dropped = true;
      if (error !== undefined) this.#onError(error);
      if (this.#listener === client) this.#listener = undefined;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      this.#scheduleListen();
    };
    client.on('error', onDrop);
    client.on('end', () => onDrop());
    client.on('notification', (message) => void this.#onNotification(client, message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#channel}"`);
      if (dropped || this.#listener !== client) return;
      this.#members = undefined;
      await this.#readMembers(client);
      void this.#membersChanged();
      const reconnected = this.#listenerFailures > 0;
      this.#listenerFailures = 0;
      if (reconnected) this.#wake();
    } catch (error) {
      onDrop(error);
    }
  }

  #scheduleListen(): void {
    if (this.#closed || this.#wakeListeners.size === 0 || this.#listenerTimer !== undefined) return;
    this.#listenerFailures += 1;
    const exponential = Math.min(this.#reconnect.maxMs, this.#reconnect.initialMs * 2 ** (this.#listenerFailures - 1));
    // Jitter spreads the reconnects of many workers after a server restart.
    const delay = exponential * (0.5 + Math.random() / 2);
    // Not unref'd: a live subscription keeps the process up while reconnecting, exactly as its socket does otherwise.
    this.#listenerTimer = setTimeout(() => void this.#listen(), delay);
  }

  #stopListening(): Promise<void> {
    if (this.#listenerTimer !== undefined) clearTimeout(this.#listenerTimer);
    this.#listenerTimer = undefined;
    const client = this.#listener;
    this.#listener = undefined;
    this.#members = undefined;
    if (client === undefined) return Promise.resolve();
    client.removeAllListeners();
    client.on('error', () => {});
    return client.end().catch(() => {}).then(() => this.#membersChanged());
  }

  /**
   * Tells the other listening processes that this one joined or left, so each reads who listens at its next wake-up
   * instead of trusting a view up to `wakeMembershipMs` old (during which a wake-up could go to no one). Best effort:
   * a process that dies sends nothing, and the others' views then age out.
   */
  #membersChanged(): Promise<void> {
    return this.#sendNotify(MEMBERS_CHANGED).catch(() => undefined);
  }

  /** One prepared statement, committed (implicitly) without waiting for the WAL flush. */
  async #sendNotify(payload: string): Promise<void> {
    await this.pool.query({
      name: `${this.schema}:notify`,
      text: `SELECT pg_notify($1, $2), set_config('synchronous_commit', 'off', true)`,
      values: [this.#channel, payload],
    });
  }

  /** Wakes this process's listeners; false when every one of them said it has no room for work now. */
  #wake(): boolean {
    let taken = false;
    for (const listener of this.#wakeListeners) {
      try {
        if (listener() !== false) taken = true;
      } catch {
        // A listener's failure is its own.
        taken = true;
      }
    }
    return taken;
  }

  /**
   * One wake-up per publish batch for all the processes listening, not one each: a publish's payload is a number n,
   * and the process at position n (mod how many listen) in the listeners' pid order takes it. One without room for
   * work passes it to the next position, at most once round. Any other payload (a lease handed back) wakes everyone,
   * and so does a process that cannot see the others' connections (no right to read them in pg_stat_activity).
   */
  async #onNotification(client: pg.Client, payload: string | undefined): Promise<void> {
    if (payload === MEMBERS_CHANGED) {
      this.#members = undefined;
      return;
    }
    const asked = ROOM_WANTED.exec(payload ?? '');
    const woken = asked === null ? WAKE_ONE.exec(payload ?? '') : null;
    if (asked !== null || woken !== null) {
      const pid = Number((asked ?? woken)?.[1]);
      const self = this.#listeningPid();
      if (woken !== null) {
        if (pid === self) this.#wake();
      } else if (pid !== self && this.#roomListeners.size > 0) {
        // Bounded: one entry per other listening process at most, cleared whenever this one gives room.
        if (this.#askers.size < 64) this.#askers.add(pid);
        for (const listener of this.#roomListeners) listener();
      }
      return;
    }
    const turn = /^(\d{1,10})(?:\.(\d{1,4}))?$/.exec(payload ?? '');
    if (turn === null) {
      this.#wake();
      return;
    }
    if (this.#members === undefined || Date.now() - this.#members.at > this.#membershipMs) await this.#readMembers(client);
    const members = this.#members;
    const position = members?.pids.indexOf(members.self) ?? -1;
    if (members === undefined || position < 0) {
      this.#wake();
      return;
    }
    const n = Number(turn[1]);
    const hops = Number(turn[2] ?? 0);
    if ((n + hops) % members.pids.length !== position) return;
    if (!this.#wake() && hops + 1 < members.pids.length) this.#passOn(`${n}.${hops + 1}`);
  }

  /**
   * Reads which connections listen on this schema's channel, on the listening connection itself. A name past 63
   * bytes is stored cut short and matches nothing here: such a store finds no position for itself and wakes on
   * every publish, as do roles that may not see other roles' connections.
   */
  #readMembers(client: pg.Client): Promise<void> {
    this.#membersRead ??= client
      .query<{ self: number; pids: number[] }>(
        `SELECT pg_backend_pid() AS self, coalesce(array_agg(pid ORDER BY pid), '{}') AS pids
         FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
        [`hookline-wake:${this.schema}`],
      )
      .then(({ rows }) => {
        const row = rows[0];
        this.#members = row === undefined ? undefined : { self: row.self, pids: row.pids, at: Date.now() };
      }, (error: unknown) => {
        this.#members = undefined;
        this.#onError(error);
      })
      .finally(() => {
        this.#membersRead = undefined;
      });
    return this.#membersRead;
  }

  #passOn(payload: string): void {
    this.#sendNotify(payload).catch((error: unknown) => this.#onError(error));
  }
}

/** Freezes a value read from JSON and everything inside it; returns it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * Connects, creates the schema and migrates it (once, under an advisory lock, however many processes start
 * together), and resolves with a ready store.
 *
 * @example
 * ```ts
 * import { createPostgresStore } from '@hookline/store-postgres';
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL, schema: 'hookline' });
 * const stop = store.onWake(() => console.log('work arrived'));
 * ```
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(options);
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}
