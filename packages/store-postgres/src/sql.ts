/**
 * Every statement the Postgres store runs, built once per schema. Kept apart so the query-plan test EXPLAINs exactly
 * what the store executes.
 */

/** Schema names are interpolated into SQL, so only plain identifiers are accepted. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,49}$/;

/**
 * A `json[]` from one text parameter holding JSON texts joined by U+001E (JSON.stringify escapes every control
 * character, so the separator never occurs inside one), an empty element standing for NULL. Sent this way, a batch's
 * records skip node-postgres's array-literal escaping, which doubled every quote and backslash of each record.
 */
const JSON_LIST = (param: string) => `string_to_array(${param}::text, chr(30), '')::json[]`;

/**
 * Which of a finish batch's deliveries ($5) are among `ids` (those whose lease still held), as their 1-based
 * positions joined by commas: a short text the client splits, instead of an array of ids node-postgres parses one
 * character at a time (~10 µs per finished delivery).
 */
const HELD = (ids: string) =>
  `array_to_string(ARRAY(SELECT i FROM generate_subscripts($5::text[], 1) AS i WHERE ($5::text[])[i] = ANY (${ids})), ',')`;

const DUE = `status = 'pending' AND next_attempt_at <= $1 AND (lease_expires_at IS NULL OR lease_expires_at <= $1)`;

/** Endpoints with at least $2 live leases (at their limit), as of $1. */
function SATURATED(s: string): string {
  return `saturated AS (
        SELECT endpoint_id FROM ${s}.deliveries
        WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > $1
        GROUP BY endpoint_id HAVING count(*) >= $2
      )`;
}

/**
 * `owners (endpoint_id, first_due)`: the endpoints owning the first $4 due deliveries (`walked`), less those at their
 * limit and those in $3. The walk reads at most $4 due rows whatever they belong to, so a deep backlog of an endpoint
 * at its limit costs a claim no more than that; when a full walk yields nothing, the claim looks endpoint by
 * endpoint instead (`OWNERS_BY_ENDPOINT`).
 */
function OWNERS_WALKED(s: string): string {
  return `
      WITH ${SATURATED(s)}, walked AS (
        SELECT endpoint_id, next_attempt_at FROM ${s}.deliveries WHERE ${DUE}
        ORDER BY next_attempt_at, id LIMIT $4
      ), owners AS (
        SELECT endpoint_id, min(next_attempt_at) AS first_due FROM walked
        WHERE NOT (endpoint_id = ANY ($3::text[])) AND endpoint_id NOT IN (SELECT endpoint_id FROM saturated)
        GROUP BY endpoint_id
      )`;
}

/**
 * `owners (endpoint_id, first_due)` endpoint by endpoint: every endpoint with pending deliveries, found by skipping
 * through `deliveries_due_by_endpoint` one endpoint at a time, with its earliest claimable delivery; less those at
 * their limit and those in $3. Costs one index descent or two per endpoint with pending work, however deep any
 * backlog. Parameters as `OWNERS_WALKED`, without $4.
 */
function OWNERS_BY_ENDPOINT(s: string): string {
  return `
      WITH RECURSIVE ${SATURATED(s)}, pending_endpoints (endpoint_id) AS (
        SELECT min(endpoint_id) FROM ${s}.deliveries WHERE status = 'pending'
        UNION ALL
        SELECT (SELECT min(d.endpoint_id) FROM ${s}.deliveries d WHERE d.status = 'pending' AND d.endpoint_id > p.endpoint_id)
        FROM pending_endpoints p WHERE p.endpoint_id IS NOT NULL
      ), owners AS (
        SELECT p.endpoint_id, f.next_attempt_at AS first_due FROM pending_endpoints p
        CROSS JOIN LATERAL (
          SELECT d.next_attempt_at FROM ${s}.deliveries d
          WHERE d.endpoint_id = p.endpoint_id AND d.status = 'pending' AND d.next_attempt_at <= $1
            AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= $1)
          ORDER BY d.next_attempt_at, d.id LIMIT 1
        ) f
        WHERE p.endpoint_id IS NOT NULL AND NOT (p.endpoint_id = ANY ($3::text[]))
          AND p.endpoint_id NOT IN (SELECT endpoint_id FROM saturated)
      )`;
}

/**
 * Migration 3 as shipped: the per-endpoint-limited claim as one server-side call, its statements run by EXECUTE
 * (planned on every call). Frozen: migration 4 replaces the function, and a database migrating from scratch runs both.
 */
function claimFunctionV3(s: string): string {
  const candidates = `
      WITH saturated AS (
        SELECT endpoint_id FROM ${s}.deliveries
        WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > $1
        GROUP BY endpoint_id HAVING count(*) >= $2
      ), earliest AS (
        SELECT endpoint_id, next_attempt_at FROM ${s}.deliveries
        WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_expires_at IS NULL OR lease_expires_at <= $1) AND NOT (endpoint_id = ANY ($3::text[])) AND endpoint_id NOT IN (SELECT endpoint_id FROM saturated)
        ORDER BY next_attempt_at, id LIMIT $4
      ), owners AS (
        SELECT endpoint_id, min(next_attempt_at) AS first_due, (sum(count(*)) OVER ())::int AS looked
        FROM earliest GROUP BY endpoint_id
      )`;
  const claimCandidates = `${candidates}
      SELECT endpoint_id, looked FROM (SELECT * FROM owners ORDER BY first_due, endpoint_id) ordered
      WHERE pg_try_advisory_xact_lock(hashtext($5), hashtext(endpoint_id))
      LIMIT $6`;
  const claimWaitForFirst = `${candidates}
      SELECT endpoint_id, looked, pg_advisory_xact_lock(hashtext($5), hashtext(endpoint_id))::text AS waited
      FROM (SELECT * FROM owners ORDER BY first_due, endpoint_id LIMIT 1) first
      WHERE $6::int > 0`;
  const claimWithinLimits = `
      WITH live AS (
        SELECT endpoint_id, count(*)::int AS n FROM ${s}.deliveries
        WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > $1 AND endpoint_id = ANY ($6::text[])
        GROUP BY endpoint_id
      ), picked AS (
        SELECT c.id, c.next_attempt_at
        FROM unnest($6::text[]) AS e(endpoint_id)
        LEFT JOIN live ON live.endpoint_id = e.endpoint_id
        CROSS JOIN LATERAL (
          SELECT d.id, d.next_attempt_at FROM ${s}.deliveries d
          WHERE d.endpoint_id = e.endpoint_id AND d.status = 'pending' AND d.next_attempt_at <= $1
            AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= $1)
          ORDER BY d.next_attempt_at, d.id
          LIMIT greatest(0, $5::int - coalesce(live.n, 0))
          FOR UPDATE SKIP LOCKED
        ) c
      ), chosen AS (
        SELECT id FROM picked ORDER BY next_attempt_at, id LIMIT $4
      )
      UPDATE ${s}.deliveries d SET lease_owner = $2, lease_expires_at = $3, updated_at = $1
      FROM chosen WHERE d.id = chosen.id
      RETURNING d.*`;
  const quoted = (text: string) => `$claim$${text}$claim$`;
  return `
    CREATE OR REPLACE FUNCTION ${s}.claim_due(p_now bigint, p_owner text, p_lease_expires_at bigint, p_limit int, p_per_endpoint int, p_lock text)
    RETURNS TABLE (delivery json, message json, endpoint json) LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      held text[] := '{}';
      claimed text[] := '{}';
      locked text[];
      looked int;
      scan int := greatest(100, p_limit * 4);
      taken_now text[];
    BEGIN
      PERFORM set_config('synchronous_commit', 'off', true);
      FOR round IN 0..7 LOOP
        EXIT WHEN cardinality(claimed) >= p_limit;
        EXECUTE 'SELECT array_agg(endpoint_id), max(looked) FROM (' || ${quoted(claimCandidates)} || ') c'
          INTO locked, looked USING p_now, p_per_endpoint, held, scan, p_lock, p_limit - cardinality(claimed);
        IF locked IS NULL AND round = 0 THEN
          EXECUTE 'SELECT array_agg(endpoint_id), max(looked) FROM (' || ${quoted(claimWaitForFirst)} || ') c'
            INTO locked, looked USING p_now, p_per_endpoint, held, scan, p_lock, p_limit - cardinality(claimed);
        END IF;
        EXIT WHEN locked IS NULL;
        held := held || locked;
        EXECUTE 'WITH taken AS (' || ${quoted(claimWithinLimits)} || ') SELECT coalesce(array_agg(id), ''{}'') FROM taken'
          INTO taken_now USING p_now, p_owner, p_lease_expires_at, p_limit - cardinality(claimed), p_per_endpoint, locked;
        claimed := claimed || taken_now;
        -- Fewer due rows than looked for: nothing further down the queue.
        EXIT WHEN looked < scan;
      END LOOP;
      RETURN QUERY
        SELECT row_to_json(d),
          (SELECT row_to_json(m) FROM ${s}.messages m WHERE m.id = d.message_id AND m.tenant = d.tenant),
          (SELECT e.record FROM ${s}.endpoints e WHERE e.id = d.endpoint_id AND e.tenant = d.tenant)
        FROM ${s}.deliveries d WHERE d.id = ANY (claimed);
    END
    $fn$;
    `;
}

/** `text` with each `$n` replaced by `names[n - 1]`: a statement's parameters as PL/pgSQL variables. */
function bind(text: string, names: string[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => `(${names[Number(n) - 1] as string})`);
}

/**
 * The per-endpoint-limited claim as one server-side call (one round trip instead of five): `claimCandidates`, its
 * endpoint-by-endpoint form and `claimWithinLimits` below, as static SQL, parsed once per
 * session and planned once (generic plans: left to the plan cache, PL/pgSQL planned them on every call, which was more
 * than half of a claim's server time). A VOLATILE function takes a fresh snapshot for every statement, so each still
 * sees every commit made before the locks taken ahead of it. Each round returns the deliveries it leased with their
 * messages and endpoints straight from the UPDATE. Committed by the caller's implicit transaction, without waiting
 * for the WAL flush (see claimDue). Sequential and bitmap scans are off inside it: on a table whose statistics lag
 * (new, or filled faster than autovacuum analyses it) the planner otherwise reads every due row and sorts them to
 * find the first hundred, instead of walking `deliveries_due` in order.
 *
 * Rounds walk at most the first `v_scan` due deliveries; a full walk with nothing to lock (the front of the queue
 * all held by endpoints at their limit) switches to looking endpoint by endpoint, so a deep backlog behind one
 * stalled endpoint no longer costs every claim a walk through it.
 *
 * Installed by migration 4 and again, as it is now, by migrations 8 and 10 (`CREATE OR REPLACE`): a schema created
 * from scratch gets the current function at 4 and replaces it with itself at 8 and 10; an older schema gets it at the
 * first of those it has not run.
 */
function claimFunction(s: string): string {
  const sql = statements(s);
  const wanted = 'p_limit - v_claimed';
  const walkArgs = ['p_now', 'p_per_endpoint', 'v_held', 'v_scan', 'p_lock', wanted];
  const byEndpointArgs = ['p_now', 'p_per_endpoint', 'v_held', 'p_lock', wanted];
  return `
    CREATE OR REPLACE FUNCTION ${s}.claim_due(p_now bigint, p_owner text, p_lease_expires_at bigint, p_limit int, p_per_endpoint int, p_lock text)
    RETURNS TABLE (delivery json, message json, endpoint json) LANGUAGE plpgsql VOLATILE
    SET enable_seqscan = off SET enable_bitmapscan = off SET plan_cache_mode = force_generic_plan AS $fn$
    #variable_conflict use_column
    DECLARE
      v_held text[] := '{}';
      v_claimed int := 0;
      v_locked text[];
      v_first text;
      v_looked int := 0;
      v_scan int := greatest(100, p_limit * 4);
      v_by_endpoint boolean := false;
      v_taken int;
    BEGIN
      PERFORM set_config('synchronous_commit', 'off', true);
      FOR round IN 0..7 LOOP
        EXIT WHEN v_claimed >= p_limit;
        v_locked := '{}';
        IF NOT v_by_endpoint THEN
          SELECT looked, locked, first_owner INTO v_looked, v_locked, v_first FROM (${bind(sql.claimCandidates, walkArgs)}) c;
          -- Every candidate busy (held by another claimer): wait for the earliest one's lock, a short queue instead
          -- of an empty claim. Safe from deadlock: the transaction holds no other lock yet.
          IF cardinality(v_locked) = 0 AND round = 0 AND v_first IS NOT NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext(p_lock), hashtext(v_first));
            v_locked := ARRAY[v_first];
          END IF;
          -- A full walk with nothing to lock: whatever is due further down belongs to endpoints the walk never
          -- reached. Look endpoint by endpoint from here on, rather than walk further.
          v_by_endpoint := cardinality(v_locked) = 0 AND v_looked >= v_scan;
        END IF;
        IF v_by_endpoint AND cardinality(v_locked) = 0 THEN
          SELECT locked, first_owner INTO v_locked, v_first FROM (${bind(sql.claimCandidatesByEndpoint, byEndpointArgs)}) c;
          IF cardinality(v_locked) = 0 AND round = 0 AND v_first IS NOT NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext(p_lock), hashtext(v_first));
            v_locked := ARRAY[v_first];
          END IF;
        END IF;
        EXIT WHEN cardinality(v_locked) = 0;
        v_held := v_held || v_locked;
        RETURN QUERY
          WITH taken AS (${bind(sql.claimWithinLimits, ['p_now', 'p_owner', 'p_lease_expires_at', wanted, 'p_per_endpoint', 'v_locked'])})
          SELECT row_to_json(taken),
            (SELECT row_to_json(m) FROM ${s}.messages m WHERE m.id = taken.message_id AND m.tenant = taken.tenant),
            (SELECT e.record FROM ${s}.endpoints e WHERE e.id = taken.endpoint_id AND e.tenant = taken.tenant)
          FROM taken;
        GET DIAGNOSTICS v_taken = ROW_COUNT;
        v_claimed := v_claimed + v_taken;
        -- A walk that came up short has seen every due delivery: nothing further down the queue.
        EXIT WHEN NOT v_by_endpoint AND v_looked < v_scan;
      END LOOP;
    END
    $fn$;
    `;
}

/**
 * Migration 7: the claim function's statements keep one generic plan per session. Left to the plan cache, PL/pgSQL
 * planned them afresh on every call (a custom plan for each set of parameter values, since the generic plan's
 * estimate never looked cheaper); planning was more than half of a claim's server time. The generic plans still walk
 * the indexes (sequential and bitmap scans are off in the function), which the query-plan tests check.
 */
function genericClaimPlans(s: string): string {
  return `ALTER FUNCTION ${s}.claim_due(bigint, text, bigint, int, int, text) SET plan_cache_mode = force_generic_plan;`;
}

/**
 * Migration 9: a claim that, when it comes back short, also answers `next_due_at()` as of just after it, in the same
 * call: the claimed rows, then one row with only `next_due` set (NULL when nothing is pending). A worker that learns
 * nothing more is claimable skips the claim after each finished send and the separate next-due read; at low rates
 * that halves its round trips per delivery.
 */
function claimNextFunction(s: string): string {
  return `
    CREATE FUNCTION ${s}.claim_due_next(p_now bigint, p_owner text, p_lease_expires_at bigint, p_limit int, p_per_endpoint int, p_lock text)
    RETURNS TABLE (delivery json, message json, endpoint json, next_due bigint) LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_claimed int;
    BEGIN
      RETURN QUERY SELECT c.delivery, c.message, c.endpoint, NULL::bigint
        FROM ${s}.claim_due(p_now, p_owner, p_lease_expires_at, p_limit, p_per_endpoint, p_lock) c;
      GET DIAGNOSTICS v_claimed = ROW_COUNT;
      IF v_claimed < p_limit THEN
        RETURN QUERY SELECT NULL::json, NULL::json, NULL::json, ${s}.next_due_at();
      END IF;
    END
    $fn$;
    `;
}

/**
 * Migration 12: a worker's batch of finished sends and its next claim in one call and one transaction. The finishes
 * run first, so the leases they free count as free to the claim that follows, which takes them back before another
 * worker can race it for them (that race left the loser with an empty claim). Returns one row with `finished` (the
 * deliveries whose lease still held), then the claim's rows as `claim_due_next` returns them.
 */
function finishThenClaimFunction(s: string): string {
  return `
    CREATE FUNCTION ${s}.finish_then_claim(p_ids text[], p_tenants text[], p_endpoints text[], p_messages text[],
      p_deliveries text[], p_started bigint[], p_records json[], p_statuses text[], p_next bigint[], p_errors text[],
      p_finished bigint[], p_owners text[], p_now bigint, p_owner text, p_lease_expires_at bigint, p_limit int,
      p_per_endpoint int, p_lock text)
    RETURNS TABLE (delivery json, message json, endpoint json, next_due bigint, finished text[]) LANGUAGE plpgsql VOLATILE AS $fn$
    BEGIN
      RETURN QUERY SELECT NULL::json, NULL::json, NULL::json, NULL::bigint, ${s}.finish_attempts(p_ids, p_tenants, p_endpoints,
        p_messages, p_deliveries, p_started, p_records, p_statuses, p_next, p_errors, p_finished, p_owners);
      RETURN QUERY SELECT c.delivery, c.message, c.endpoint, c.next_due, NULL::text[]
        FROM ${s}.claim_due_next(p_now, p_owner, p_lease_expires_at, p_limit, p_per_endpoint, p_lock) c;
    END
    $fn$;
    `;
}

/**
 * The next-due read as a server-side function (migration 5), for the same reason as the claim: planned once per
 * session, with sequential and bitmap scans off. On a table without statistics the planner otherwise answered it by
 * reading every pending delivery (a bitmap over the pending partial indexes) instead of walking `deliveries_due` to
 * its first unleased row.
 */
function nextDueFunction(s: string): string {
  return `
    CREATE FUNCTION ${s}.next_due_at() RETURNS bigint LANGUAGE plpgsql STABLE
    SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
    BEGIN
      RETURN (${statements(s).nextDueAt});
    END
    $fn$;
    `;
}

/**
 * The batched finish as a server-side function (migration 6): the only plan left to it looks each finished delivery
 * up by key. As a plain statement, on a table without statistics, the planner read every pending or every leased
 * delivery per batch (a bitmap over a partial index it took for a few rows, then a hash join), or scanned the table
 * for larger batches. Sequential and bitmap scans and hash and merge joins are off inside it, and the statement's
 * tests match no partial index. Its plan is generic (one per session): left to choose, the plan cache kept planning
 * it afresh on every call, which cost as much as the statement itself.
 */
function finishFunction(s: string): string {
  const args = ['p_ids', 'p_tenants', 'p_endpoints', 'p_messages', 'p_deliveries', 'p_started', 'p_records', 'p_statuses',
    'p_next', 'p_errors', 'p_finished', 'p_owners'];
  return `
    CREATE FUNCTION ${s}.finish_attempts(p_ids text[], p_tenants text[], p_endpoints text[], p_messages text[], p_deliveries text[],
      p_started bigint[], p_records json[], p_statuses text[], p_next bigint[], p_errors text[], p_finished bigint[], p_owners text[])
    RETURNS text[] LANGUAGE plpgsql VOLATILE
    SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off
    SET plan_cache_mode = force_generic_plan AS $fn$
    #variable_conflict use_column
    DECLARE
      v_ids text[];
    BEGIN
      -- Committed by the caller's implicit transaction without waiting for the WAL flush (see finishAttemptsCall).
      PERFORM set_config('synchronous_commit', 'off', true);
      ${bind(statements(s).finishAttempts, args).replace(/SELECT ARRAY\(SELECT id FROM finished\) AS ids$/, 'SELECT ARRAY(SELECT id FROM finished) INTO v_ids')};
      RETURN v_ids;
    END
    $fn$;
    `;
}

/**
 * Migration 13: a worker's batch of finished sends and a refill of the room they free, in one call: after the
 * finishes, the claim looks only at the finished deliveries' endpoints (try-locking each, skipping one another claimer
 * holds) and takes their next due deliveries within the per-endpoint limit. No walk of the due queue and no look
 * endpoint by endpoint: a worker held back by the limits keeps its share of them for the price of one statement.
 * Returns rows as `finish_then_claim` does, without the next-due row.
 */
function finishThenRefillFunction(s: string): string {
  const sql = statements(s);
  return `
    CREATE FUNCTION ${s}.finish_then_refill(p_ids text[], p_tenants text[], p_endpoints text[], p_messages text[],
      p_deliveries text[], p_started bigint[], p_records json[], p_statuses text[], p_next bigint[], p_errors text[],
      p_finished bigint[], p_owners text[], p_now bigint, p_owner text, p_lease_expires_at bigint, p_limit int,
      p_per_endpoint int, p_lock text)
    RETURNS TABLE (delivery json, message json, endpoint json, next_due bigint, finished text[]) LANGUAGE plpgsql VOLATILE
    SET enable_seqscan = off SET enable_bitmapscan = off SET plan_cache_mode = force_generic_plan AS $fn$
    #variable_conflict use_column
    DECLARE
      v_locked text[];
    BEGIN
      RETURN QUERY SELECT NULL::json, NULL::json, NULL::json, NULL::bigint, ${s}.finish_attempts(p_ids, p_tenants, p_endpoints,
        p_messages, p_deliveries, p_started, p_records, p_statuses, p_next, p_errors, p_finished, p_owners);
      -- In a fixed order, as every claimer takes several: try-locks never wait, so this order only keeps it tidy.
      v_locked := ARRAY(SELECT x.e FROM (SELECT DISTINCT u.e FROM unnest(p_endpoints) AS u(e) ORDER BY u.e) x
        WHERE pg_try_advisory_xact_lock(hashtext(p_lock), hashtext(x.e)));
      RETURN QUERY
        WITH taken AS (${bind(sql.claimWithinLimits, ['p_now', 'p_owner', 'p_lease_expires_at', 'p_limit', 'p_per_endpoint', 'v_locked'])})
        SELECT row_to_json(taken),
          (SELECT row_to_json(m) FROM ${s}.messages m WHERE m.id = taken.message_id AND m.tenant = taken.tenant),
          (SELECT e.record FROM ${s}.endpoints e WHERE e.id = taken.endpoint_id AND e.tenant = taken.tenant),
          NULL::bigint, NULL::text[]
        FROM taken;
    END
    $fn$;
    `;
}

export function migrations(s: string): string[] {
  return [
    `
    CREATE TABLE ${s}.endpoints (
      id text COLLATE "C" PRIMARY KEY,
      tenant text NOT NULL,
      active boolean NOT NULL,
      created_at bigint NOT NULL,
      record json NOT NULL
    );
    CREATE INDEX endpoints_by_tenant ON ${s}.endpoints (tenant, created_at DESC, id DESC);

    CREATE TABLE ${s}.messages (
      id text COLLATE "C" PRIMARY KEY,
      tenant text NOT NULL,
      type text NOT NULL,
      idempotency_key text,
      created_at bigint NOT NULL,
      data json NOT NULL
    );
    CREATE INDEX messages_by_idempotency_key ON ${s}.messages (tenant, idempotency_key, created_at) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX messages_by_created ON ${s}.messages (created_at, id);

    CREATE TABLE ${s}.deliveries (
      id text COLLATE "C" PRIMARY KEY,
      tenant text NOT NULL,
      message_id text COLLATE "C" NOT NULL,
      endpoint_id text COLLATE "C" NOT NULL,
      status text NOT NULL,
      attempt_count integer NOT NULL,
      next_attempt_at bigint NOT NULL,
      lease_owner text,
      lease_expires_at bigint,
      last_error text,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL
    );
    CREATE INDEX deliveries_due ON ${s}.deliveries (next_attempt_at, id) WHERE status = 'pending';
    CREATE INDEX deliveries_due_by_endpoint ON ${s}.deliveries (endpoint_id, next_attempt_at, id) WHERE status = 'pending';
    CREATE INDEX deliveries_leased ON ${s}.deliveries (endpoint_id, lease_expires_at) WHERE status = 'pending' AND lease_owner IS NOT NULL;
    CREATE INDEX deliveries_by_message ON ${s}.deliveries (message_id, created_at, id);
    CREATE INDEX deliveries_unfinished_by_endpoint ON ${s}.deliveries (endpoint_id) WHERE status IN ('pending', 'awaiting_callback');
    CREATE INDEX deliveries_unfinished_by_message ON ${s}.deliveries (message_id) WHERE status IN ('pending', 'awaiting_callback');

    CREATE TABLE ${s}.attempts (
      id text COLLATE "C" PRIMARY KEY,
      tenant text NOT NULL,
      endpoint_id text COLLATE "C" NOT NULL,
      message_id text COLLATE "C",
      delivery_id text COLLATE "C",
      started_at bigint NOT NULL,
      record json NOT NULL
    );
    CREATE INDEX attempts_by_tenant ON ${s}.attempts (tenant, started_at DESC, id DESC);
    CREATE INDEX attempts_by_endpoint ON ${s}.attempts (tenant, endpoint_id, started_at DESC, id DESC);
    CREATE INDEX attempts_by_message ON ${s}.attempts (message_id, started_at DESC, id DESC);
    CREATE INDEX attempts_by_delivery ON ${s}.attempts (delivery_id, started_at DESC, id DESC);
    CREATE INDEX attempts_by_started ON ${s}.attempts (started_at);

    CREATE TABLE ${s}.callbacks (
      token_hash text PRIMARY KEY,
      tenant text NOT NULL,
      delivery_id text NOT NULL,
      message_id text COLLATE "C" NOT NULL,
      endpoint_id text NOT NULL,
      expires_at bigint NOT NULL,
      answered_at bigint,
      answer json
    );
    CREATE INDEX callbacks_by_message ON ${s}.callbacks (message_id);

    CREATE TABLE ${s}.sources (
      id text COLLATE "C" PRIMARY KEY,
      tenant text NOT NULL,
      created_at bigint NOT NULL,
      record json NOT NULL
    );
    CREATE INDEX sources_by_tenant ON ${s}.sources (tenant, created_at DESC, id DESC);

    CREATE TABLE ${s}.seen_ids (
      key text PRIMARY KEY,
      expires_at bigint NOT NULL
    );
    CREATE INDEX seen_ids_by_expiry ON ${s}.seen_ids (expires_at);
    `,
    `
    -- callback expiry: find each awaiting delivery's callback, and walk awaiting deliveries oldest first
    -- COLLATE "C", as deliveries.id: the join below compares in that collation, which a default-collation index cannot serve.
    CREATE INDEX callbacks_by_delivery ON ${s}.callbacks ((delivery_id COLLATE "C"));
    CREATE INDEX deliveries_awaiting_callback ON ${s}.deliveries (updated_at, id) WHERE status = 'awaiting_callback';
    `,
    claimFunctionV3(s),
    claimFunction(s),
    nextDueFunction(s),
    finishFunction(s),
    genericClaimPlans(s),
    // 8: the claim walks a bounded stretch of the due queue, then goes endpoint by endpoint (see claimFunction).
    claimFunction(s),
    claimNextFunction(s),
    // 10: an endpoint gives at most as many rows as the claim still wants, not its whole per-endpoint room: with a
    // high perEndpointLimit and a backlog, each claim locked (a heap write per row) thousands of rows to use a few.
    // And a claim whose candidates were all busy waits for the first one named by the walk it just made, instead of
    // walking again to find it; when there was none (everything due at its limit), it no longer walks twice for nothing.
    claimFunction(s),
    // 11: two indexes fewer for every publish and claim to write. Purge finds a message's unfinished deliveries through
    // deliveries_by_message; deleting an endpoint finds its pending ones through deliveries_due_by_endpoint and its
    // awaiting ones through a partial index of awaiting deliveries alone, which only a 202 writes to.
    `
    DROP INDEX ${s}.deliveries_unfinished_by_endpoint;
    DROP INDEX ${s}.deliveries_unfinished_by_message;
    CREATE INDEX IF NOT EXISTS deliveries_awaiting_by_endpoint ON ${s}.deliveries (endpoint_id) WHERE status = 'awaiting_callback';
    `,
    finishThenClaimFunction(s),
    finishThenRefillFunction(s),
  ];
}

/** The statements, with `s` the quoted schema name. Parameter lists are documented where they are not obvious. */
export function statements(s: string) {
  return {
    /** $1 now, $2 owner, $3 lease expiry, $4 limit. One statement: SKIP LOCKED lets concurrent claimers pass each other. */
    claimDue: `
      UPDATE ${s}.deliveries d SET lease_owner = $2, lease_expires_at = $3, updated_at = $1
      FROM (
        SELECT id FROM ${s}.deliveries WHERE ${DUE}
        ORDER BY next_attempt_at, id LIMIT $4
        FOR UPDATE SKIP LOCKED
      ) picked
      WHERE d.id = picked.id
      RETURNING d.*`,

    /**
     * $1 now, $2 perEndpointLimit, $3 endpoints already held, $4 rows to walk, $5 lock namespace, $6 endpoints wanted.
     * Among the endpoints owning the first $4 due deliveries (less those at their limit or held), try-locks each
     * endpoint's advisory lock in due order until $6 are held: a claimer for one delivery holds one endpoint, not every
     * endpoint in sight, and an endpoint locked by another claimer is passed over. The filter sits outside the ordered
     * sub-select (volatile, so never pushed down), so the LIMIT stops the locking. One row: `looked`, the due rows
     * walked (fewer than $4: nothing further down the queue); `locked`, the endpoints now held; `first_owner`, the
     * earliest-due candidate whether locked or not (NULL when there was none: everything due is at its limit or held).
     * When every candidate was busy, the claim waits for its lock rather than come back empty.
     */
    claimCandidates: `${OWNERS_WALKED(s)}
      SELECT (SELECT count(*)::int FROM walked) AS looked, ARRAY(
        SELECT endpoint_id FROM (SELECT * FROM owners ORDER BY first_due, endpoint_id) ordered
        WHERE pg_try_advisory_xact_lock(hashtext($5), hashtext(endpoint_id))
        LIMIT $6
      ) AS locked, (SELECT endpoint_id FROM owners ORDER BY first_due, endpoint_id LIMIT 1) AS first_owner`,

    /**
     * `claimCandidates` endpoint by endpoint, for when a full walk found nothing to lock (the first due deliveries all
     * belong to endpoints at their limit or already held): $1 now, $2 perEndpointLimit, $3 endpoints already held,
     * $4 lock namespace, $5 endpoints wanted. One row: `locked` and `first_owner`, as in `claimCandidates`.
     */
    claimCandidatesByEndpoint: `${OWNERS_BY_ENDPOINT(s)}
      SELECT ARRAY(
        SELECT endpoint_id FROM (SELECT * FROM owners ORDER BY first_due, endpoint_id) ordered
        WHERE pg_try_advisory_xact_lock(hashtext($4), hashtext(endpoint_id))
        LIMIT $5
      ) AS locked, (SELECT endpoint_id FROM owners ORDER BY first_due, endpoint_id LIMIT 1) AS first_owner`,

    /**
     * $1 now, $2 owner, $3 lease expiry, $4 remaining limit, $5 perEndpointLimit, $6 endpoints whose lock we hold.
     * Live leases are counted in this statement's snapshot, taken after the locks: every earlier claimer of these
     * endpoints has committed, so the count is exact and the limit holds across processes.
     */
    claimWithinLimits: `
      WITH live AS (
        SELECT endpoint_id, count(*)::int AS n FROM ${s}.deliveries
        WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > $1 AND endpoint_id = ANY ($6::text[])
        GROUP BY endpoint_id
      ), picked AS (
        SELECT c.id, c.next_attempt_at
        FROM unnest($6::text[]) AS e(endpoint_id)
        LEFT JOIN live ON live.endpoint_id = e.endpoint_id
        CROSS JOIN LATERAL (
          SELECT d.id, d.next_attempt_at FROM ${s}.deliveries d
          WHERE d.endpoint_id = e.endpoint_id AND d.status = 'pending' AND d.next_attempt_at <= $1
            AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= $1)
          ORDER BY d.next_attempt_at, d.id
          LIMIT greatest(0, least($4::int, $5::int - coalesce(live.n, 0)))
          FOR UPDATE SKIP LOCKED
        ) c
      ), chosen AS (
        SELECT id FROM picked ORDER BY next_attempt_at, id LIMIT $4
      )
      UPDATE ${s}.deliveries d SET lease_owner = $2, lease_expires_at = $3, updated_at = $1
      FROM chosen WHERE d.id = chosen.id
      RETURNING d.*`,

    /** $1..$6 the message, $7..$18 the deliveries as arrays: one statement, so one round trip and atomic. */
    createMessage: `
      WITH message AS (
        INSERT INTO ${s}.messages (id, tenant, type, idempotency_key, created_at, data) VALUES ($1, $2, $3, $4, $5, $6)
      )
      INSERT INTO ${s}.deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at,
        lease_owner, lease_expires_at, last_error, created_at, updated_at)
      SELECT * FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::bigint[],
        $14::text[], $15::bigint[], $16::text[], $17::bigint[], $18::bigint[])`,

    /**
     * $1 attempt id, $2 tenant, $3 endpoint, $4 message, $5 delivery, $6 started at, $7 record, $8 status, $9 next attempt
     * at, $10 last error, $11 finished at, $12 owner. One statement: the attempt is recorded whether or not the lease
     * still holds, atomically with the outcome.
     */
    finishAttempt: `
      WITH recorded AS (
        INSERT INTO ${s}.attempts (id, tenant, endpoint_id, message_id, delivery_id, started_at, record)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING
      ), finished AS (
        UPDATE ${s}.deliveries SET status = $8, attempt_count = attempt_count + 1,
          next_attempt_at = CASE WHEN $8 = 'pending' AND $9::bigint IS NOT NULL THEN $9::bigint ELSE next_attempt_at END,
          last_error = $10, lease_owner = NULL, lease_expires_at = NULL, updated_at = $11
        WHERE id = $5 AND lease_owner = $12 AND status = 'pending'
        RETURNING 1
      )
      SELECT count(*)::int AS n FROM finished`,

    /**
     * The same as `finishAttempt` for many finishes at once, each parameter an array (no delivery or attempt twice);
     * run inside `finish_attempts` (migration 6). Returns the ids of the deliveries whose lease still held.
     */
    finishAttempts: `
      WITH input AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::json[],
          $8::text[], $9::bigint[], $10::text[], $11::bigint[], $12::text[])
          AS i(id, tenant, endpoint_id, message_id, delivery_id, started_at, record, status, next_attempt_at, last_error, finished_at, owner)
      ), recorded AS (
        INSERT INTO ${s}.attempts (id, tenant, endpoint_id, message_id, delivery_id, started_at, record)
        SELECT id, tenant, endpoint_id, message_id, delivery_id, started_at, record FROM input ON CONFLICT (id) DO NOTHING
      ), finished AS (
        UPDATE ${s}.deliveries d SET status = i.status, attempt_count = d.attempt_count + 1,
          next_attempt_at = CASE WHEN i.status = 'pending' AND i.next_attempt_at IS NOT NULL THEN i.next_attempt_at ELSE d.next_attempt_at END,
          last_error = i.last_error, lease_owner = NULL, lease_expires_at = NULL, updated_at = i.finished_at
        -- Spelled so that no partial index matches (the same tests: status is NOT NULL, and so is i.owner): the only
        -- index left to find a delivery by is its key.
        FROM input i WHERE d.id = i.delivery_id AND i.owner IS NOT NULL AND d.lease_owner IS NOT DISTINCT FROM i.owner
          AND (d.status = 'pending') IS TRUE
        RETURNING d.id
      )
      SELECT ARRAY(SELECT id FROM finished) AS ids`,

    /**
     * `finishAttempts` in one call. Commits without waiting for fsync: a finish lost in a database crash leaves its
     * delivery leased, so it is sent again when the lease lapses (a duplicate, never a lost delivery), and the lost
     * attempt is recorded anew then. $7, the attempt records, is one text of JSON texts joined by U+001E (see
     * `jsonList`).
     */
    finishAttemptsCall: `SELECT ${HELD('f.ids')} AS held
      FROM ${s}.finish_attempts($1, $2, $3, $4, $5, $6, ${JSON_LIST('$7')}, $8, $9, $10, $11, $12) AS f(ids)`,

    /** $1 now, $2 owner, $3 lease expiry, $4 limit, $5 perEndpointLimit, $6 lock namespace: the claim in one call. */
    claimDueLimited: `SELECT * FROM ${s}.claim_due($1, $2, $3, $4, $5, $6)`,
    /** As `claimDueLimited`, then, when short, one row with only `next_due` set (migration 9). */
    claimDueNext: `SELECT * FROM ${s}.claim_due_next($1, $2, $3, $4, $5, $6)`,
    /** `finishAttemptsCall`'s twelve parameters, then `claimDueNext`'s six as $13 to $18 (migration 12). */
    finishThenClaim: `SELECT r.delivery, r.message, r.endpoint, r.next_due, CASE WHEN r.finished IS NOT NULL THEN ${HELD('r.finished')} END AS held
      FROM ${s}.finish_then_claim($1, $2, $3, $4, $5, $6, ${JSON_LIST('$7')}, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
        WITH ORDINALITY AS r(delivery, message, endpoint, next_due, finished, n)
      ORDER BY r.n`,

    /** As `finishThenClaim`, calling `finish_then_refill` (migration 13): a claim for the finished endpoints only. */
    finishThenRefill: `SELECT r.delivery, r.message, r.endpoint, r.next_due, CASE WHEN r.finished IS NOT NULL THEN ${HELD('r.finished')} END AS held
      FROM ${s}.finish_then_refill($1, $2, $3, $4, $5, $6, ${JSON_LIST('$7')}, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
        WITH ORDINALITY AS r(delivery, message, endpoint, next_due, finished, n)
      ORDER BY r.n`,

    /** $1 message ids, $2 endpoint ids: what the claimed deliveries' sends need, read in the claim's transaction. */
    claimContext: `
      SELECT (SELECT json_agg(json_build_object('id', m.id, 'tenant', m.tenant, 'type', m.type, 'idempotency_key', m.idempotency_key,
                'created_at', m.created_at, 'data', m.data)) FROM ${s}.messages m WHERE m.id = ANY ($1::text[])) AS messages,
             (SELECT json_agg(e.record) FROM ${s}.endpoints e WHERE e.id = ANY ($2::text[])) AS endpoints`,

    /**
     * $1..$5 the messages (id, tenant, type, created at, data; no idempotency keys), $6..$17 their deliveries, as
     * arrays; the data as one text (see `jsonList`).
     */
    createMessages: `
      WITH messages AS (
        INSERT INTO ${s}.messages (id, tenant, type, created_at, data)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], ${JSON_LIST('$5')})
      )
      INSERT INTO ${s}.deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at,
        lease_owner, lease_expires_at, last_error, created_at, updated_at)
      SELECT * FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int[], $12::bigint[],
        $13::text[], $14::bigint[], $15::text[], $16::bigint[], $17::bigint[])`,

    /** $1..$12 the deliveries as arrays. */
    insertDeliveries: `
      INSERT INTO ${s}.deliveries (id, tenant, message_id, endpoint_id, status, attempt_count, next_attempt_at,
        lease_owner, lease_expires_at, last_error, created_at, updated_at)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[],
        $8::text[], $9::bigint[], $10::text[], $11::bigint[], $12::bigint[])`,

    /** Run inside `next_due_at` (migration 5). */
    nextDueAt: `
      SELECT least(
        (SELECT next_attempt_at FROM ${s}.deliveries WHERE status = 'pending' AND lease_owner IS NULL ORDER BY next_attempt_at LIMIT 1),
        (SELECT min(lease_expires_at) FROM ${s}.deliveries WHERE status = 'pending' AND lease_owner IS NOT NULL)
      ) AS at`,

    nextDueAtCall: `SELECT ${s}.next_due_at() AS at`,

    /** Only the filters given appear in the SQL, so the planner picks the index that matches them. */
    listAttempts(query: {
      tenant: string; endpointId?: string; messageId?: string; deliveryId?: string; since?: number; until?: number;
      cursor?: { at: number; id: string } | undefined; limit: number;
    }): { text: string; values: unknown[] } {
      const values: unknown[] = [query.tenant];
      const where = ['tenant = $1'];
      const add = (condition: (n: string) => string, value: unknown) => {
        values.push(value);
        where.push(condition(`$${values.length}`));
      };
      if (query.endpointId !== undefined) add((n) => `endpoint_id = ${n}`, query.endpointId);
      if (query.messageId !== undefined) add((n) => `message_id = ${n}`, query.messageId);
      if (query.deliveryId !== undefined) add((n) => `delivery_id = ${n}`, query.deliveryId);
      if (query.since !== undefined) add((n) => `started_at >= ${n}`, query.since);
      if (query.until !== undefined) add((n) => `started_at < ${n}`, query.until);
      if (query.cursor !== undefined) {
        add((n) => `started_at <= ${n}`, query.cursor.at);
        add((n) => `(started_at < $${values.length - 1} OR id < ${n})`, query.cursor.id);
      }
      values.push(query.limit);
      return {
        text: `SELECT record FROM ${s}.attempts WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT $${values.length}`,
        values,
      };
    },

    /**
     * $1 endpoint, $2 tenant, $3 now (NULL keeps updated_at): deletes the endpoint and cancels its unfinished
     * deliveries. One row: `n`, 1 when the endpoint existed.
     */
    deleteEndpoint: `
      WITH gone AS (DELETE FROM ${s}.endpoints WHERE id = $1 AND tenant = $2 RETURNING id),
      -- Two updates, each matching one partial index: pending deliveries (deliveries_due_by_endpoint) and awaiting
      -- ones (deliveries_awaiting_by_endpoint). No index covers both statuses.
      cancelled_pending AS (
        UPDATE ${s}.deliveries SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
          updated_at = coalesce($3::bigint, updated_at)
        WHERE endpoint_id IN (SELECT id FROM gone) AND status = 'pending'
      ), cancelled_awaiting AS (
        UPDATE ${s}.deliveries SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
          updated_at = coalesce($3::bigint, updated_at)
        WHERE endpoint_id IN (SELECT id FROM gone) AND status = 'awaiting_callback'
      )
      SELECT count(*)::int AS n FROM gone`,

    /** $1 before, $2 limit. Deleting by ctid from a locked, bounded sub-select: a TID scan, never a join over the table. */
    purgeAttempts: `
      DELETE FROM ${s}.attempts WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM ${s}.attempts WHERE started_at < $1 ORDER BY started_at LIMIT $2 FOR UPDATE SKIP LOCKED
      ))`,

    /** $1 before, $2 limit: finished messages with their deliveries and callbacks, counted together. */
    purgeMessages: `
      WITH doomed AS (
        SELECT m.id FROM ${s}.messages m
        WHERE m.created_at < $1 AND NOT EXISTS (
          SELECT 1 FROM ${s}.deliveries d WHERE d.message_id = m.id AND d.status IN ('pending', 'awaiting_callback')
        )
        ORDER BY m.created_at, m.id LIMIT $2
        FOR UPDATE SKIP LOCKED
      ), ids AS (
        -- An array, not a join: each delete below is an index lookup per id, never a hash join over the table.
        SELECT ARRAY(SELECT id FROM doomed) AS ids
      ), gone_callbacks AS (
        DELETE FROM ${s}.callbacks WHERE message_id = ANY ((SELECT ids FROM ids)::text[]) RETURNING 1
      ), gone_deliveries AS (
        DELETE FROM ${s}.deliveries WHERE message_id = ANY ((SELECT ids FROM ids)::text[]) RETURNING 1
      ), gone_messages AS (
        DELETE FROM ${s}.messages WHERE id = ANY ((SELECT ids FROM ids)::text[]) RETURNING 1
      )
      SELECT (SELECT count(*) FROM gone_callbacks) + (SELECT count(*) FROM gone_deliveries)
        + (SELECT count(*) FROM gone_messages) AS n`,

    /**
     * $1 now, $2 before, $3 limit, $4 reason. Awaiting deliveries whose callback lapsed unanswered (or that never got
     * one), oldest first; `was` is the `updated_at` before the change, to return them in that order.
     */
    expireAwaitingCallbacks: `
      WITH lapsed AS (
        -- LATERAL: one index lookup per awaiting delivery, never a hash over every callback.
        SELECT d.id, d.updated_at AS was FROM ${s}.deliveries d
        LEFT JOIN LATERAL (
          SELECT c.answered_at, c.expires_at FROM ${s}.callbacks c WHERE c.delivery_id COLLATE "C" = d.id LIMIT 1
        ) c ON true
        WHERE d.status = 'awaiting_callback' AND CASE
          WHEN c.expires_at IS NULL THEN d.updated_at < $2
          ELSE c.answered_at IS NULL AND c.expires_at <= $1 END
        ORDER BY d.updated_at, d.id LIMIT $3
        FOR UPDATE OF d SKIP LOCKED
      )
      UPDATE ${s}.deliveries d SET status = 'exhausted', last_error = $4, lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
      FROM lapsed WHERE d.id = lapsed.id
      RETURNING d.*, lapsed.was`,

    /** $1 now, $2 limit. */
    purgeSeenIds: `
      DELETE FROM ${s}.seen_ids WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM ${s}.seen_ids WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
      ))`,
  };
}

export type Statements = ReturnType<typeof statements>;
