import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { HooklineError } from '@hookline/errors';
import { decodeCursor, pageLimit, toPage } from '@hookline/store';
import type {
  AttemptQuery, AttemptRecord, CallbackAnswerResult, CallbackRecord, ClaimOptions, ClaimWithNext, DeliveryOutcome, DeliveryRecord,
  DeliveryStatus, DeliveryStore, EndpointRecord, ExpireCallbacksOptions, InboundSourceRecord, JsonValue, MessageRecord, Page,
  PageQuery,
} from '@hookline/store';
import { BackgroundCheckpointer } from './checkpointer.js';
import { MIGRATIONS } from './migrations.js';

export interface SqliteStoreOptions {
  /** Database file; its directory is created. `:memory:` for a throwaway store. Default `./data/hookline.db`. */
  path?: string;
  /** How long a write waits for another process's write lock, ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * Where WAL checkpoints run (default `background`): on a worker thread with its own connection, so no commit waits
   * for a checkpoint's fsyncs; `inline` leaves them to SQLite, in the commit that crosses 1,000 WAL pages.
   */
  checkpoint?: 'background' | 'inline';
}

/** SQLite's own default, restored when checkpoints come back to this connection. */
const INLINE_AUTOCHECKPOINT_FRAMES = 1000;

/**
 * With the checkpoint thread running, this connection still checkpoints in a commit once the WAL holds this many
 * frames (64 MiB). The thread normally restarts the WAL at 4,096 through {@link SqliteStore.#finishCheckpoint}, which
 * needs the event loop; a caller that writes without ever yielding to it would otherwise grow the WAL without bound.
 */
const BACKSTOP_AUTOCHECKPOINT_FRAMES = 16_384;

/** How long a record read with a claim waits for its reader (the dispatcher asks at once). */
const PREFETCH_MS = 2_000;

/** A message or endpoint row read in a claim's transaction, kept for the reads that follow (one per claimed delivery). */
interface Prefetched {
  row: MessageRow | string;
  uses: number;
  until: number;
}

export const DEFAULT_SQLITE_PATH = './data/hookline.db';

interface DeliveryRow {
  id: string;
  tenant: string;
  message_id: string;
  endpoint_id: string;
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

interface MessageRow {
  id: string;
  tenant: string;
  type: string;
  idempotency_key: string | null;
  created_at: number;
  data: string;
}

function toDelivery(row: DeliveryRow): DeliveryRecord {
  const delivery: DeliveryRecord = {
    id: row.id,
    tenant: row.tenant,
    messageId: row.message_id,
    endpointId: row.endpoint_id,
    status: row.status,
    attemptCount: row.attempt_count,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.lease_owner !== null) delivery.leaseOwner = row.lease_owner;
  if (row.lease_expires_at !== null) delivery.leaseExpiresAt = row.lease_expires_at;
  if (row.last_error !== null) delivery.lastError = row.last_error;
  return delivery;
}

/** Column order of {@link toDeliveryFromValues}: claims read rows as arrays, which cost less to build than objects. */
const DELIVERY_COLUMNS =
  'id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at, lease_owner, lease_expires_at, last_error, created_at, updated_at';

type DeliveryValues = [string, string, string, string, DeliveryStatus, number, number, string | null, number | null, string | null, number, number];

/** A claimed delivery's values, then its message's (tenant, type, idempotency key, created at, data), then its
 * endpoint's (tenant, record); null where the message or endpoint is missing. */
type ClaimRow = [...DeliveryValues, string | null, string | null, string | null, number | null, string | null, string | null, string | null];

/** Claimed deliveries (ids as a JSON array) with what the dispatcher reads next for each: message and endpoint. */
const CLAIMED_WITH_CONTEXT = `SELECT ${DELIVERY_COLUMNS.split(', ').map((column) => `d.${column}`).join(', ')},
    m.tenant, m.type, m.idempotency_key, m.created_at, m.data, e.tenant, e.record
  FROM deliveries d LEFT JOIN messages m ON m.id = d.message_id LEFT JOIN endpoints e ON e.id = d.endpoint_id
  WHERE d.id IN (SELECT value FROM json_each(?))`;

function toDeliveryFromValues(v: DeliveryValues): DeliveryRecord {
  const delivery: DeliveryRecord = {
    id: v[0], tenant: v[1], messageId: v[2], endpointId: v[3], status: v[4], attemptCount: v[5], nextAttemptAt: v[6],
    createdAt: v[10], updatedAt: v[11],
  };
  if (v[7] !== null) delivery.leaseOwner = v[7];
  if (v[8] !== null) delivery.leaseExpiresAt = v[8];
  if (v[9] !== null) delivery.lastError = v[9];
  return delivery;
}

function toMessage(row: MessageRow): MessageRecord {
  const message: MessageRecord = { id: row.id, tenant: row.tenant, type: row.type, data: JSON.parse(row.data) as JsonValue, createdAt: row.created_at };
  if (row.idempotency_key !== null) message.idempotencyKey = row.idempotency_key;
  return message;
}

interface AttemptRow {
  id: string;
  tenant: string;
  endpoint_id: string;
  message_id: string | null;
  delivery_id: string | null;
  started_at: number;
  record: string;
  request_body: string | null;
  response_body: string | null;
}

/**
 * An attempt as stored (migration 3): the fields that have columns are not repeated in the JSON, and the request and
 * response bodies are columns of their own, as sent and received. JSON-escaping a body that is itself JSON was most
 * of the cost of encoding an attempt, and with the duplicates a row of a 1 KiB event overflowed half a page, so each
 * attempt took a page of its own.
 */
function encodeAttempt(attempt: AttemptRecord): { record: string; requestBody: string; responseBody: string | null } {
  const { request, response } = attempt;
  // Spread then blank out (JSON.stringify skips undefined): twice as fast as rest destructuring here, measured.
  const record = JSON.stringify({
    ...attempt,
    id: undefined, tenant: undefined, endpointId: undefined, deliveryId: undefined, messageId: undefined, startedAt: undefined,
    request: { ...request, body: undefined },
    response: response === undefined ? undefined : { ...response, body: undefined },
  });
  return { record, requestBody: request.body, responseBody: response === undefined ? null : response.body };
}

/** Rows written before migration 3 hold the whole record as JSON (bodies columns NULL); both read the same. */
function toAttempt(row: AttemptRow): AttemptRecord {
  const attempt = JSON.parse(row.record) as AttemptRecord;
  attempt.id = row.id;
  attempt.tenant = row.tenant;
  attempt.endpointId = row.endpoint_id;
  if (row.delivery_id !== null) attempt.deliveryId = row.delivery_id;
  if (row.message_id !== null) attempt.messageId = row.message_id;
  attempt.startedAt = row.started_at;
  if (row.request_body !== null) attempt.request.body = row.request_body;
  if (row.response_body !== null && attempt.response !== undefined) attempt.response.body = row.response_body;
  return attempt;
}

function parse<T>(row: { record: string } | undefined): T | undefined {
  return row === undefined ? undefined : (JSON.parse(row.record) as T);
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true;
}

function conflict(kind: string, id: string, cause: unknown): HooklineError {
  return new HooklineError('conflict', `A ${kind} with this id exists.`, { details: { id }, cause });
}

type FinishInput = { owner: string; attempt: AttemptRecord; outcome: DeliveryOutcome };

const KEYSET = '(? IS NULL OR (created_at < ? OR (created_at = ? AND id < ?)))';

/**
 * The embedded {@link DeliveryStore}: one SQLite file in WAL mode, migrated on open, surviving restarts. Every write
 * is a transaction; claims run in one `BEGIN IMMEDIATE` so processes sharing the file never lease one delivery twice.
 *
 * @example
 * ```ts
 * import { createSqliteStore } from '@hookline/store-sqlite';
 * const store = createSqliteStore({ path: './data/hookline.db' });
 * console.log(await store.nextDueAt()); // undefined on a fresh file
 * await store.close();
 * ```
 */

/** Rows of endpoints at their limit a claim walks past before it goes endpoint by endpoint instead. */
const SKIPPED_BEFORE_PER_ENDPOINT = 64;

export class SqliteStore implements DeliveryStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #wakeListeners = new Set<() => void>();
  readonly #insertDelivery: Database.Statement;
  readonly #insertAttempt: Database.Statement;
  readonly #clearLeaseAndSetStatus: Database.Statement;
  /** Finishes waiting for this turn's shared transaction. */
  #finishes: Array<{ input: FinishInput; resolve: (held: boolean) => void; reject: (error: unknown) => void }> = [];
  /** Prepared once per SQL text: preparing on every call cost about a tenth of a worker's CPU. */
  readonly #statements = new Map<string, Database.Statement>();
  /** Claims in one `BEGIN IMMEDIATE` transaction (the wrapper made once: making it cost a few us per call). */
  readonly #claimTransaction: (options: ClaimOptions) => DeliveryRecord[];
  readonly #finishTransaction: (inputs: FinishInput[]) => boolean[];
  /** Keyed `m|e \0 tenant \0 id`; see {@link SqliteStore.claimDue}. */
  readonly #prefetched = new Map<string, Prefetched>();
  /** Undefined while SQLite checkpoints inline (option `inline`, no WAL, or the thread could not run). */
  #checkpointer: BackgroundCheckpointer | undefined;
  #checkpointsOnThread = false;

  constructor(options: SqliteStoreOptions = {}) {
    this.path = options.path ?? DEFAULT_SQLITE_PATH;
    if (this.path !== ':memory:' && !this.path.startsWith('file:')) mkdirSync(dirname(this.path), { recursive: true });
    this.#db = new Database(this.path);
    const journalMode = this.#db.pragma('journal_mode = WAL', { simple: true }) as string;
    // WAL + NORMAL survives a killed process; only an OS crash or power loss can drop the last commits.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    this.#migrate();
    this.#insertDelivery = this.#db.prepare(
      `INSERT INTO deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at, lease_owner,
         lease_expires_at, last_error, created_at, updated_at)
       VALUES (@id, @tenant, @messageId, @endpointId, @status, @attemptCount, @nextAttemptAt, @leaseOwner,
         @leaseExpiresAt, @lastError, @createdAt, @updatedAt)`,
    );
    this.#insertAttempt = this.#db.prepare(
      `INSERT INTO attempts (id, tenant, endpoint_id, message_id, delivery_id, started_at, record, request_body, response_body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    );
    this.#clearLeaseAndSetStatus = this.#db.prepare(
      'UPDATE deliveries SET status = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ?',
    );
    this.#claimTransaction = this.#db.transaction((options: ClaimOptions) => this.#claim(options)).immediate;
    this.#finishTransaction = this.#db.transaction((inputs: FinishInput[]) => inputs.map((input) => this.#applyFinish(input))).immediate;
    // `:memory:` has no WAL to checkpoint.
    if ((options.checkpoint ?? 'background') === 'background' && journalMode === 'wal') this.#startCheckpointer();
  }

  #sql(text: string): Database.Statement {
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  /**
   * Where WAL checkpoints run now: `background` once the checkpoint thread has opened the file, `inline` (in commits,
   * SQLite's default) before that, with the `inline` option, for `:memory:`, or after the thread stopped.
   */
  get checkpointMode(): 'background' | 'inline' {
    return this.#checkpointsOnThread ? 'background' : 'inline';
  }

  /** Migrations that have run on this file (the schema version). */
  get schemaVersion(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  // ------------------------------------------------------------------ endpoints

  async createEndpoint(endpoint: EndpointRecord): Promise<EndpointRecord> {
    try {
      this.#sql('INSERT INTO endpoints (id, tenant, active, created_at, record) VALUES (?, ?, ?, ?, ?)')
        .run(endpoint.id, endpoint.tenant, endpoint.active ? 1 : 0, endpoint.createdAt, JSON.stringify(endpoint));
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict('endpoint', endpoint.id, error);
      throw error;
    }
    return structuredClone(endpoint);
  }

  async getEndpoint(tenant: string, id: string): Promise<EndpointRecord | undefined> {
    const prefetched = this.#takePrefetched(`e\0${tenant}\0${id}`);
    if (prefetched !== undefined) return JSON.parse(prefetched as string) as EndpointRecord;
    return parse(this.#sql('SELECT record FROM endpoints WHERE id = ? AND tenant = ?').get(id, tenant) as { record: string } | undefined);
  }

  async updateEndpoint(endpoint: EndpointRecord): Promise<EndpointRecord | undefined> {
    this.#prefetched.delete(`e\0${endpoint.tenant}\0${endpoint.id}`);
    const result = this.#sql('UPDATE endpoints SET active = ?, record = ? WHERE id = ? AND tenant = ?')
      .run(endpoint.active ? 1 : 0, JSON.stringify(endpoint), endpoint.id, endpoint.tenant);
    return result.changes === 1 ? structuredClone(endpoint) : undefined;
  }

  async deleteEndpoint(tenant: string, id: string, now?: number): Promise<boolean> {
    this.#prefetched.delete(`e\0${tenant}\0${id}`);
    return this.#db.transaction(() => {
      const result = this.#sql('DELETE FROM endpoints WHERE id = ? AND tenant = ?').run(id, tenant);
      if (result.changes === 0) return false;
      this.#sql(
          `UPDATE deliveries SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, updated_at = coalesce(?, updated_at)
           WHERE endpoint_id = ? AND status IN ('pending', 'awaiting_callback')`,
        )
        .run(now ?? null, id);
      return true;
    }).immediate();
  }

  async listEndpoints(tenant: string, page?: PageQuery): Promise<Page<EndpointRecord>> {
    return this.#page<EndpointRecord>('endpoints', tenant, page, (e) => ({ at: e.createdAt, id: e.id }));
  }

  async activeEndpoints(tenant: string): Promise<readonly Readonly<EndpointRecord>[]> {
    const rows = this.#sql('SELECT record FROM endpoints WHERE tenant = ? AND active = 1 ORDER BY created_at, id')
      .all(tenant) as { record: string }[];
    return rows.map((row) => JSON.parse(row.record) as EndpointRecord);
  }

  // ------------------------------------------------------------------ messages and deliveries

  async createMessage(input: {
    message: MessageRecord;
    deliveries: DeliveryRecord[];
    idempotentSince?: number;
  }): Promise<{ message: MessageRecord; created: boolean }> {
    const { message } = input;
    const result = this.#db.transaction(() => {
      if (message.idempotencyKey !== undefined) {
        const first = this.#sql(
            `SELECT * FROM messages WHERE tenant = ? AND idempotency_key = ? AND created_at >= ?
             ORDER BY created_at, id LIMIT 1`,
          )
          .get(message.tenant, message.idempotencyKey, input.idempotentSince ?? Number.MIN_SAFE_INTEGER) as MessageRow | undefined;
        if (first !== undefined) return { message: toMessage(first), created: false };
      }
      try {
        this.#sql('INSERT INTO messages (id, tenant, type, idempotency_key, created_at, data) VALUES (?, ?, ?, ?, ?, ?)')
          .run(message.id, message.tenant, message.type, message.idempotencyKey ?? null, message.createdAt, JSON.stringify(message.data));
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('message', message.id, error);
        throw error;
      }
      this.#insertDeliveries(input.deliveries);
      return { message: structuredClone(message), created: true };
    }).immediate();
    if (result.created && input.deliveries.length > 0) this.#wake();
    return result;
  }

  async getMessage(tenant: string, id: string): Promise<MessageRecord | undefined> {
    const prefetched = this.#takePrefetched(`m\0${tenant}\0${id}`);
    if (prefetched !== undefined) return toMessage(prefetched as MessageRow);
    const row = this.#sql('SELECT * FROM messages WHERE id = ? AND tenant = ?').get(id, tenant) as MessageRow | undefined;
    return row === undefined ? undefined : toMessage(row);
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const row = this.#sql('SELECT * FROM deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
    return row === undefined ? undefined : toDelivery(row);
  }

  async listDeliveries(tenant: string, messageId: string): Promise<DeliveryRecord[]> {
    const rows = this.#sql('SELECT * FROM deliveries WHERE message_id = ? AND tenant = ? ORDER BY created_at, id')
      .all(messageId, tenant) as DeliveryRow[];
    return rows.map(toDelivery);
  }

  async addDeliveries(deliveries: DeliveryRecord[]): Promise<void> {
    this.#db.transaction(() => {
      const exists = this.#sql('SELECT 1 FROM messages WHERE id = ?');
      for (const delivery of deliveries) {
        if (exists.get(delivery.messageId) === undefined) {
          throw new HooklineError('not_found', 'The message of this delivery does not exist.', { details: { messageId: delivery.messageId } });
        }
      }
      this.#insertDeliveries(deliveries);
    }).immediate();
    if (deliveries.length > 0) this.#wake();
  }

  /**
   * Also reads the claimed deliveries' messages and endpoints in the same transaction, for the `getMessage` and
   * `getEndpoint` calls that follow each claim: each of those was a read transaction of its own (locks on the WAL
   * index and the file) costing more than the query. A kept record serves one read per claimed delivery, within
   * {@link PREFETCH_MS}; a local endpoint update or delete drops it. An endpoint changed by another process meanwhile
   * reads as of the claim, as if read a moment earlier.
   */
  async claimDue(options: ClaimOptions): Promise<DeliveryRecord[]> {
    if (options.limit <= 0) return [];
    return this.#claimTransaction(options);
  }

  async claimDueWithNext(options: ClaimOptions): Promise<ClaimWithNext> {
    const deliveries = await this.claimDue(options);
    return deliveries.length < options.limit ? { deliveries, nextDueAt: await this.nextDueAt() } : { deliveries };
  }

  async renewLease(deliveryId: string, owner: string, leaseExpiresAt: number): Promise<boolean> {
    const result = this.#sql(`UPDATE deliveries SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? AND status = 'pending'`)
      .run(leaseExpiresAt, deliveryId, owner);
    return result.changes === 1;
  }

  async releaseLease(deliveryId: string, owner: string): Promise<void> {
    const result = this.#sql(`UPDATE deliveries SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND status = 'pending'`)
      .run(deliveryId, owner);
    if (result.changes === 1) this.#wake();
  }

  /**
   * Finishes that arrive in one turn of the event loop (concurrent sends completing together) commit in one
   * transaction: a write transaction per attempt was the SQLite store's main cost. Each promise resolves after its
   * commit, with its own result, as if it had run alone.
   */
  finishAttempt(input: FinishInput): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#finishes.push({ input, resolve, reject });
      if (this.#finishes.length === 1) setImmediate(() => this.#flushFinishes());
    });
  }

  #flushFinishes(): void {
    const batch = this.#finishes;
    if (batch.length === 0) return;
    this.#finishes = [];
    let results: boolean[];
    try {
      results = this.#finishTransaction(batch.map(({ input }) => input));
    } catch {
      // One failing write must not fail its neighbours: retry each alone, so only the failing one rejects.
      for (const { input, resolve, reject } of batch) {
        try {
          resolve(this.#db.transaction(() => this.#applyFinish(input)).immediate());
        } catch (error) {
          reject(error);
        }
      }
      return;
    }
    batch.forEach(({ resolve }, i) => resolve(results[i]!));
  }

  #applyFinish({ owner, attempt, outcome }: FinishInput): boolean {
    this.#recordAttempt(attempt);
    if (attempt.deliveryId === undefined) return false;
    const result = this.#sql(
        `UPDATE deliveries SET status = ?, attempt_count = attempt_count + 1,
           next_attempt_at = CASE WHEN ? = 'pending' AND ? IS NOT NULL THEN ? ELSE next_attempt_at END,
           last_error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE id = ? AND lease_owner = ? AND status = 'pending'`,
      )
      .run(
        outcome.status, outcome.status, outcome.nextAttemptAt ?? null, outcome.nextAttemptAt ?? null,
        outcome.lastError ?? null, attempt.startedAt + attempt.durationMs, attempt.deliveryId, owner,
      );
    return result.changes === 1;
  }

  async setDeliveryStatus(id: string, status: DeliveryStatus, now: number): Promise<void> {
    this.#clearLeaseAndSetStatus.run(status, now, id);
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = this.#sql(
        `SELECT (SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending' AND lease_owner IS NULL) AS unleased,
                (SELECT min(lease_expires_at) FROM deliveries WHERE status = 'pending' AND lease_owner IS NOT NULL) AS leased`,
      )
      .get() as { unleased: number | null; leased: number | null };
    const candidates = [row.unleased, row.leased].filter((at): at is number => at !== null);
    return candidates.length === 0 ? undefined : Math.min(...candidates);
  }

  async expireAwaitingCallbacks(options: ExpireCallbacksOptions): Promise<DeliveryRecord[]> {
    const { now, before, limit, reason } = options;
    if (limit <= 0) return [];
    return this.#db.transaction(() => {
      const lapsed = this.#sql(
          `SELECT id FROM deliveries d
           WHERE status = 'awaiting_callback' AND (
             EXISTS (SELECT 1 FROM callbacks c WHERE c.delivery_id = d.id AND c.answered_at IS NULL AND c.expires_at <= @now)
             OR (updated_at < @before AND NOT EXISTS (SELECT 1 FROM callbacks c WHERE c.delivery_id = d.id)))
           ORDER BY updated_at, id LIMIT @limit`,
        )
        .pluck()
        .all({ now, before, limit }) as string[];
      const end = this.#sql(
        `UPDATE deliveries SET status = 'exhausted', last_error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE id = ? RETURNING *`,
      );
      return lapsed.map((id) => toDelivery(end.get(reason, now, id) as DeliveryRow));
    }).immediate();
  }

  // ------------------------------------------------------------------ attempts

  async recordAttempt(attempt: AttemptRecord): Promise<void> {
    this.#recordAttempt(attempt);
  }

  async listAttempts(query: AttemptQuery): Promise<Page<AttemptRecord>> {
    const limit = pageLimit(query.limit);
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const where = ['tenant = @tenant'];
    if (query.endpointId !== undefined) where.push('endpoint_id = @endpointId');
    if (query.messageId !== undefined) where.push('message_id = @messageId');
    if (query.deliveryId !== undefined) where.push('delivery_id = @deliveryId');
    if (query.since !== undefined) where.push('started_at >= @since');
    if (query.until !== undefined) where.push('started_at < @until');
    if (cursor !== undefined) where.push('(started_at < @at OR (started_at = @at AND id < @id))');
    const rows = this.#sql(
        `SELECT id, tenant, endpoint_id, message_id, delivery_id, started_at, record, request_body, response_body FROM attempts
         WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT @take`,
      )
      .all({
        tenant: query.tenant,
        endpointId: query.endpointId,
        messageId: query.messageId,
        deliveryId: query.deliveryId,
        since: query.since,
        until: query.until,
        at: cursor?.at,
        id: cursor?.id,
        take: limit + 1,
      }) as AttemptRow[];
    return toPage(rows.map(toAttempt), limit, (a) => ({ at: a.startedAt, id: a.id }));
  }

  // ------------------------------------------------------------------ callbacks

  async createCallback(callback: CallbackRecord): Promise<void> {
    try {
      this.#sql('INSERT INTO callbacks (token_hash, message_id, delivery_id, expires_at, answered_at, record) VALUES (?, ?, ?, ?, ?, ?)')
        .run(callback.tokenHash, callback.messageId, callback.deliveryId, callback.expiresAt, callback.answeredAt ?? null, JSON.stringify(callback));
    } catch (error) {
      if (isUniqueViolation(error)) throw new HooklineError('conflict', 'This callback token exists.', { cause: error });
      throw error;
    }
  }

  async getCallback(tokenHash: string): Promise<CallbackRecord | undefined> {
    return parse(this.#sql('SELECT record FROM callbacks WHERE token_hash = ?').get(tokenHash) as { record: string } | undefined);
  }

  async answerCallback(tokenHash: string, answer: JsonValue, now: number): Promise<CallbackAnswerResult> {
    return this.#db.transaction((): CallbackAnswerResult => {
      const callback = parse<CallbackRecord>(this.#sql('SELECT record FROM callbacks WHERE token_hash = ?').get(tokenHash) as { record: string } | undefined);
      if (callback === undefined) return { ok: false, reason: 'not_found' };
      if (callback.answeredAt !== undefined) return { ok: false, reason: 'already_answered' };
      if (callback.expiresAt <= now) return { ok: false, reason: 'expired' };
      const answered: CallbackRecord = { ...callback, answeredAt: now, answer };
      this.#sql('UPDATE callbacks SET answered_at = ?, record = ? WHERE token_hash = ?').run(now, JSON.stringify(answered), tokenHash);
      return { ok: true, callback: answered };
    }).immediate();
  }

  // ------------------------------------------------------------------ inbound sources

  async createSource(source: InboundSourceRecord): Promise<InboundSourceRecord> {
    try {
      this.#sql('INSERT INTO sources (id, tenant, created_at, record) VALUES (?, ?, ?, ?)')
        .run(source.id, source.tenant, source.createdAt, JSON.stringify(source));
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict('source', source.id, error);
      throw error;
    }
    return structuredClone(source);
  }

  async getSource(id: string): Promise<InboundSourceRecord | undefined> {
    return parse(this.#sql('SELECT record FROM sources WHERE id = ?').get(id) as { record: string } | undefined);
  }

  async updateSource(source: InboundSourceRecord, ifUpdatedAt?: number): Promise<InboundSourceRecord | undefined> {
    const result = this.#sql(
      `UPDATE sources SET record = @record WHERE id = @id AND tenant = @tenant
       AND (@ifUpdatedAt IS NULL OR json_extract(record, '$.updatedAt') = @ifUpdatedAt)`,
    ).run({ record: JSON.stringify(source), id: source.id, tenant: source.tenant, ifUpdatedAt: ifUpdatedAt ?? null });
    return result.changes === 1 ? structuredClone(source) : undefined;
  }

  async deleteSource(tenant: string, id: string): Promise<boolean> {
    return this.#sql('DELETE FROM sources WHERE id = ? AND tenant = ?').run(id, tenant).changes === 1;
  }

  async listSources(tenant: string, page?: PageQuery): Promise<Page<InboundSourceRecord>> {
    return this.#page<InboundSourceRecord>('sources', tenant, page, (s) => ({ at: s.createdAt, id: s.id }));
  }

  // ------------------------------------------------------------------ replay protection

  async addSeenId(key: string, expiresAt: number, now: number = Date.now()): Promise<boolean> {
    const result = this.#sql(
        `INSERT INTO seen_ids (key, expires_at) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE seen_ids.expires_at <= ?`,
      )
      .run(key, expiresAt, now);
    return result.changes === 1;
  }

  // ------------------------------------------------------------------ retention

  async purge(options: { before: number; now: number; limit: number }): Promise<number> {
    const { before, now, limit } = options;
    return this.#db.transaction(() => {
      let deleted = this.#sql('DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE started_at < ? ORDER BY started_at LIMIT ?)')
        .run(before, limit).changes;
      const finished = this.#sql(
          `SELECT id FROM messages m WHERE created_at < ?
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status IN ('pending', 'awaiting_callback'))
           ORDER BY created_at, id LIMIT ?`,
        )
        .pluck()
        .all(before, limit) as string[];
      const deleteCallbacks = this.#sql('DELETE FROM callbacks WHERE message_id = ?');
      const deleteDeliveries = this.#sql('DELETE FROM deliveries WHERE message_id = ?');
      const deleteMessage = this.#sql('DELETE FROM messages WHERE id = ?');
      for (const id of finished) {
        deleted += deleteCallbacks.run(id).changes + deleteDeliveries.run(id).changes + deleteMessage.run(id).changes;
      }
      deleted += this.#sql('DELETE FROM seen_ids WHERE key IN (SELECT key FROM seen_ids WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)')
        .run(now, limit).changes;
      return deleted;
    }).immediate();
  }

  /** Wakes listeners in this process only; workers in other processes sharing the file find work by polling. */
  onWake(listener: () => void): () => void {
    this.#wakeListeners.add(listener);
    return () => this.#wakeListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#wakeListeners.clear();
    this.#prefetched.clear();
    // Finishes already accepted are written before the file closes.
    if (this.#db.open) this.#flushFinishes();
    // The thread's connection closes first, so this one is the last and leaves no WAL behind.
    await this.#checkpointer?.close();
    this.#checkpointer = undefined;
    this.#checkpointsOnThread = false;
    if (this.#db.open) this.#db.close();
  }

  // ------------------------------------------------------------------ internals

  #keepForReaders(rows: ClaimRow[]): void {
    const at = performance.now();
    for (const [key, entry] of this.#prefetched) if (entry.until <= at) this.#prefetched.delete(key);
    const until = at + PREFETCH_MS;
    const keep = (key: string, row: MessageRow | string) => {
      const entry = this.#prefetched.get(key);
      if (entry === undefined) this.#prefetched.set(key, { row, uses: 1, until });
      else {
        entry.row = row;
        entry.uses += 1;
        entry.until = until;
      }
    };
    for (const row of rows) {
      const [, tenant, messageId, endpointId] = row;
      if (row[12] === tenant) {
        keep(`m\0${tenant}\0${messageId}`, { id: messageId, tenant, type: row[13]!, idempotency_key: row[14], created_at: row[15]!, data: row[16]! });
      }
      if (row[17] === tenant) keep(`e\0${tenant}\0${endpointId}`, row[18]!);
    }
  }

  /** A prefetched row, once per claimed delivery it was read for; each reader parses its own copy. */
  #takePrefetched(key: string): MessageRow | string | undefined {
    const entry = this.#prefetched.get(key);
    if (entry === undefined) return undefined;
    entry.uses -= 1;
    if (entry.uses <= 0) this.#prefetched.delete(key);
    return entry.until > performance.now() ? entry.row : undefined;
  }

  #startCheckpointer(): void {
    const inline = () => {
      this.#checkpointer = undefined;
      this.#checkpointsOnThread = false;
      if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${INLINE_AUTOCHECKPOINT_FRAMES}`);
    };
    try {
      this.#checkpointer = new BackgroundCheckpointer({
        path: this.path.startsWith('file:') ? this.path : resolve(this.path),
        // Until the thread runs, SQLite keeps checkpointing in commits; a stopped thread hands them back.
        onReady: () => {
          if (!this.#db.open) return;
          this.#db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_FRAMES}`);
          this.#checkpointsOnThread = true;
        },
        onRestart: () => this.#finishCheckpoint(),
        onStopped: inline,
      });
    } catch {
      // No thread (workers unavailable, driver not resolvable): SQLite checkpoints in commits, as it always did.
      inline();
    }
  }

  /**
   * Copies the WAL frames the thread has not (this connection kept writing during its pass), so the next write starts
   * the WAL over instead of growing it: a short copy and two syncs once per few thousand frames while the thread keeps
   * up, and the thread's backlog when writes outrun it.
   */
  #finishCheckpoint(): void {
    if (!this.#db.open || this.#db.inTransaction) return;
    try {
      this.#db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Another process is checkpointing, or the file went away: the thread asks again after its next pass.
    }
  }

  #migrate(): void {
    // IMMEDIATE takes the write lock first, so two processes opening one fresh file migrate it once.
    this.#db.transaction(() => {
      const version = this.#db.pragma('user_version', { simple: true }) as number;
      for (let i = version; i < MIGRATIONS.length; i++) this.#db.exec(MIGRATIONS[i] as string);
      if (version < MIGRATIONS.length) this.#db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
  }

  #insertDeliveries(deliveries: DeliveryRecord[]): void {
    for (const d of deliveries) {
      try {
        this.#insertDelivery.run({
          id: d.id, tenant: d.tenant, messageId: d.messageId, endpointId: d.endpointId, status: d.status,
          attemptCount: d.attemptCount, nextAttemptAt: d.nextAttemptAt, leaseOwner: d.leaseOwner ?? null,
          leaseExpiresAt: d.leaseExpiresAt ?? null, lastError: d.lastError ?? null, createdAt: d.createdAt, updatedAt: d.updatedAt,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('delivery', d.id, error);
        throw error;
      }
    }
  }

  #recordAttempt(attempt: AttemptRecord): void {
    const { record, requestBody, responseBody } = encodeAttempt(attempt);
    this.#insertAttempt.run(
      attempt.id, attempt.tenant, attempt.endpointId, attempt.messageId ?? null, attempt.deliveryId ?? null,
      attempt.startedAt, record, requestBody, responseBody,
    );
  }

  /**
   * Picks, leases all picked in one UPDATE, and reads them back in one SELECT with their messages and endpoints (kept
   * for the reads that follow; see {@link SqliteStore.claimDue}).
   */
  #claim({ now, owner, leaseMs, limit, perEndpointLimit }: ClaimOptions): DeliveryRecord[] {
    const picked = perEndpointLimit === undefined ? this.#dueIds(now, limit) : this.#dueIdsWithinEndpointLimit(now, limit, perEndpointLimit);
    if (picked.length === 0) return [];
    const ids = JSON.stringify(picked);
    this.#sql('UPDATE deliveries SET lease_owner = ?, lease_expires_at = ?, updated_at = ? WHERE id IN (SELECT value FROM json_each(?))')
      .run(owner, now + leaseMs, now, ids);
    const rows = this.#sql(CLAIMED_WITH_CONTEXT).raw(true).all(ids) as ClaimRow[];
    const byId = new Map(rows.map((row) => [row[0], row]));
    // Rows come in no particular order: hand them back in due order, as picked.
    const claimed = picked.map((id) => byId.get(id)!);
    this.#keepForReaders(claimed);
    return claimed.map((row) => toDeliveryFromValues(row as unknown as DeliveryValues));
  }

  #dueIds(now: number, limit: number): string[] {
    return this.#sql(
        `SELECT id FROM deliveries
         WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
         ORDER BY next_attempt_at, id LIMIT ?`,
      )
      .pluck()
      .all(now, now, limit) as string[];
  }

  /**
   * Walks due deliveries in due order in batches, skipping endpoints already at their limit of live leases. After
   * {@link SKIPPED_BEFORE_PER_ENDPOINT} skipped rows (an endpoint at its limit with a deep due backlog) it starts over
   * endpoint by endpoint, so that backlog costs a claim one index seek instead of a walk past every row of it.
   */
  #dueIdsWithinEndpointLimit(now: number, limit: number, perEndpointLimit: number): string[] {
    const held = new Map<string, number>();
    const live = this.#sql(
        `SELECT endpoint_id, count(*) FROM deliveries
         WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > ? GROUP BY endpoint_id`,
      )
      .raw(true)
      .all(now) as [endpointId: string, count: number][];
    for (const [endpointId, count] of live) held.set(endpointId, count);
    const batch = this.#sql(
      `SELECT id, endpoint_id, next_attempt_at FROM deliveries
       WHERE status = 'pending' AND next_attempt_at <= @now AND (lease_expires_at IS NULL OR lease_expires_at <= @now)
         AND (@at IS NULL OR next_attempt_at > @at OR (next_attempt_at = @at AND id > @id))
       ORDER BY next_attempt_at, id LIMIT @take`,
    ).raw(true);
    const heldBefore = new Map(held);
    const picked: string[] = [];
    let skipped = 0;
    // Small first (usually nothing is skipped), doubling while saturated endpoints fill the batches.
    let take = Math.max(8, limit * 2);
    let after: { at: number; id: string } | undefined;
    for (; picked.length < limit; take = Math.min(take * 2, 1000)) {
      const rows = batch.all({ now, at: after?.at ?? null, id: after?.id ?? null, take }) as [id: string, endpointId: string, nextAttemptAt: number][];
      for (const [id, endpointId] of rows) {
        const count = held.get(endpointId) ?? 0;
        if (count >= perEndpointLimit) {
          if (++skipped > SKIPPED_BEFORE_PER_ENDPOINT) return this.#dueIdsPerEndpoint(now, limit, perEndpointLimit, heldBefore);
          continue;
        }
        held.set(endpointId, count + 1);
        picked.push(id);
        if (picked.length >= limit) break;
      }
      if (rows.length < take) break;
      const last = rows[rows.length - 1]!;
      after = { at: last[2], id: last[0] };
    }
    return picked;
  }

  /**
   * The same pick as the walk, endpoint by endpoint: each endpoint with unfinished deliveries (found by skipping
   * through `deliveries_unfinished_by_endpoint`, one seek each) that is below its limit gives its earliest due
   * deliveries, up to its room; the earliest of all of those are picked, in due order.
   */
  #dueIdsPerEndpoint(now: number, limit: number, perEndpointLimit: number, held: ReadonlyMap<string, number>): string[] {
    const endpoints = this.#sql(
      `WITH RECURSIVE seen(endpoint_id) AS (
         SELECT min(endpoint_id) FROM deliveries WHERE status IN ('pending', 'awaiting_callback')
         UNION ALL
         SELECT (SELECT min(endpoint_id) FROM deliveries WHERE status IN ('pending', 'awaiting_callback') AND endpoint_id > seen.endpoint_id)
         FROM seen WHERE seen.endpoint_id IS NOT NULL
       )
       SELECT endpoint_id FROM seen WHERE endpoint_id IS NOT NULL`,
    ).pluck().all() as string[];
    const dueOf = this.#sql(
      `SELECT id, next_attempt_at FROM deliveries INDEXED BY deliveries_unfinished_by_endpoint
       WHERE endpoint_id = ? AND status IN ('pending', 'awaiting_callback') AND status = 'pending' AND next_attempt_at <= ?
         AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
       ORDER BY next_attempt_at, id LIMIT ?`,
    ).raw(true);
    const candidates: [id: string, nextAttemptAt: number][] = [];
    for (const endpointId of endpoints) {
      const room = Math.min(limit, perEndpointLimit - (held.get(endpointId) ?? 0));
      if (room > 0) candidates.push(...(dueOf.all(endpointId, now, now, room) as [string, number][]));
    }
    candidates.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return candidates.slice(0, limit).map(([id]) => id);
  }

  #page<T>(table: 'endpoints' | 'sources', tenant: string, page: PageQuery | undefined, position: (item: T) => { at: number; id: string }): Page<T> {
    const limit = pageLimit(page?.limit);
    const cursor = page?.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const rows = this.#sql(`SELECT record FROM ${table} WHERE tenant = ? AND ${KEYSET} ORDER BY created_at DESC, id DESC LIMIT ?`)
      .all(tenant, cursor?.at ?? null, cursor?.at ?? null, cursor?.at ?? null, cursor?.id ?? null, limit + 1) as { record: string }[];
    return toPage(rows.map((row) => JSON.parse(row.record) as T), limit, position);
  }

  #wake(): void {
    for (const listener of this.#wakeListeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the write already committed.
      }
    }
  }
}

/**
 * Opens (creating and migrating when needed) the SQLite store at `path`.
 *
 * @example
 * ```ts
 * const store = createSqliteStore(); // ./data/hookline.db
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(options);
}
