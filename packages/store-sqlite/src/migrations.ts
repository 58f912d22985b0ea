/** Schema migrations, applied in order on open; `PRAGMA user_version` records how many ran. Append only. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE endpoints (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX endpoints_by_tenant ON endpoints (tenant, created_at DESC, id DESC);

  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    idempotency_key TEXT,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX messages_by_idempotency_key ON messages (tenant, idempotency_key, created_at) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX messages_by_created ON messages (created_at, id);

  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    message_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt_count INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  -- claim: due pending deliveries in due order
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
  -- perEndpointLimit and nextDueAt: live leases per endpoint
  CREATE INDEX deliveries_leased ON deliveries (endpoint_id, lease_expires_at) WHERE status = 'pending' AND lease_owner IS NOT NULL;
  CREATE INDEX deliveries_by_message ON deliveries (message_id, created_at, id);
  -- deleteEndpoint and purge: unfinished deliveries only
  CREATE INDEX deliveries_unfinished_by_endpoint ON deliveries (endpoint_id) WHERE status IN ('pending', 'awaiting_callback');
  CREATE INDEX deliveries_unfinished_by_message ON deliveries (message_id) WHERE status IN ('pending', 'awaiting_callback');

  CREATE TABLE attempts (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    message_id TEXT,
    delivery_id TEXT,
    started_at INTEGER NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX attempts_by_tenant ON attempts (tenant, started_at DESC, id DESC);
  CREATE INDEX attempts_by_endpoint ON attempts (tenant, endpoint_id, started_at DESC, id DESC);
  CREATE INDEX attempts_by_message ON attempts (message_id, started_at DESC, id DESC);
  CREATE INDEX attempts_by_delivery ON attempts (delivery_id, started_at DESC, id DESC);
  CREATE INDEX attempts_by_started ON attempts (started_at);

  CREATE TABLE callbacks (
    token_hash TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    answered_at INTEGER,
    record TEXT NOT NULL
  );
  CREATE INDEX callbacks_by_message ON callbacks (message_id);

  CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX sources_by_tenant ON sources (tenant, created_at DESC, id DESC);

  CREATE TABLE seen_ids (
    key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX seen_ids_by_expiry ON seen_ids (expires_at);
  `,
  `
  -- callback expiry: find each awaiting delivery's callback, and walk awaiting deliveries oldest first
  ALTER TABLE callbacks ADD COLUMN delivery_id TEXT;
  UPDATE callbacks SET delivery_id = json_extract(record, '$.deliveryId');
  CREATE INDEX callbacks_by_delivery ON callbacks (delivery_id);
  CREATE INDEX deliveries_awaiting_callback ON deliveries (updated_at, id) WHERE status = 'awaiting_callback';
  `,
  `
  -- Every finish inserts into each history index: make them cheaper to write (issue 5).
  -- Ascending: a new attempt lands at the right edge of its range. The descending versions put it at the left edge,
  -- which split pages more often (0.4 fewer WAL pages per finished delivery, measured). Newest-first listings walk
  -- these backwards, still without a sort.
  DROP INDEX attempts_by_tenant;
  DROP INDEX attempts_by_endpoint;
  DROP INDEX attempts_by_message;
  DROP INDEX attempts_by_delivery;
  CREATE INDEX attempts_by_tenant ON attempts (tenant, started_at, id);
  CREATE INDEX attempts_by_endpoint ON attempts (tenant, endpoint_id, started_at, id);
  CREATE INDEX attempts_by_message ON attempts (message_id, started_at, id);
  CREATE INDEX attempts_by_delivery ON attempts (delivery_id, started_at, id);
  -- Bodies as sent and received, not JSON-escaped inside the record (rows from before keep them in the record).
  ALTER TABLE attempts ADD COLUMN request_body TEXT;
  ALTER TABLE attempts ADD COLUMN response_body TEXT;
  -- Purge asks whether a message has unfinished deliveries through deliveries_by_message (a message has a few
  -- deliveries); this partial index only cost each finish a page write.
  DROP INDEX deliveries_unfinished_by_message;
  `,
  `
  -- Unfinished deliveries per endpoint, now in due order: a claim that meets an endpoint at its limit with a deep due
  -- backlog goes endpoint by endpoint instead of walking past that backlog (it still serves cancelling an endpoint's
  -- deliveries, through its first column).
  DROP INDEX deliveries_unfinished_by_endpoint;
  CREATE INDEX deliveries_unfinished_by_endpoint ON deliveries (endpoint_id, next_attempt_at, id) WHERE status IN ('pending', 'awaiting_callback');
  `,
];
