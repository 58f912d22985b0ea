/**
 * The shapes shared by the send side (src/outbound), the receive side (src/inbound) and the HTTP core (src/http).
 * Adapters and apps use only these and `createHookline`.
 */
import type {
  AttemptQuery, AttemptRecord, DeliveryRecord, DeliveryStore, EndpointRecord, HttpMethod, InboundPlatform,
  InboundSourceRecord, JsonValue, MessageRecord, Page, PageQuery,
} from '@hookline/store';
import type { EndpointAuth } from '@hookline/schemas';

/** The plain request every adapter builds: exact body bytes, headers as Node gives them. */
export interface HookRequest {
  method: string;
  /** Path and query relative to where hookline is mounted, e.g. `/in/src_abc?x=1`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export interface HookResponse {
  status: number;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

// ---------------------------------------------------------------- send side

/**
 * How an endpoint's requests are signed, as an admin writes it: the type `@hookline/schemas` validates.
 * Secrets are write-only; a `standard-webhooks` secret is generated when absent and returned once.
 */
export type EndpointAuthInput = EndpointAuth;

/** An endpoint as the admin API shows it: secrets replaced by a hint such as `whsec_…k3Qz`. */
export type Endpoint = Omit<EndpointRecord, 'auth'> & { auth: { type: EndpointAuthInput['type']; hint?: string; [key: string]: unknown } };

export interface EndpointInput {
  name: string;
  description?: string;
  url: string;
  method?: HttpMethod;
  headers?: Record<string, string>;
  auth?: EndpointAuthInput;
  triggers: string[];
  filter?: Record<string, JsonValue>;
  bodyTemplate?: string;
  active?: boolean;
}

export interface PublishInput {
  type: string;
  data: JsonValue;
  tenant?: string;
  idempotencyKey?: string;
}

export interface PublishResult {
  messageId: string;
  /** Deliveries created (0 when no active endpoint subscribes). */
  deliveries: number;
  /** True when the idempotency key had been used in the last 24 h and the first message is returned. */
  duplicate: boolean;
}

/** A ConductorOne-style asynchronous answer, validated, handed to the app. */
export interface CallbackAnswer {
  tenant: string;
  messageId: string;
  endpointId: string;
  deliveryId: string;
  decision: 'approve' | 'deny' | 'reassign';
  comment?: string;
  newStepUserIds?: string[];
  body: JsonValue;
}

/** Operational events the app can subscribe to. */
export type OperationalEvent =
  | { type: 'delivery.succeeded'; delivery: DeliveryRecord; attempt: AttemptRecord }
  | { type: 'delivery.failed'; delivery: DeliveryRecord; attempt: AttemptRecord; nextAttemptAt: number }
  | { type: 'delivery.exhausted'; delivery: DeliveryRecord; attempt: AttemptRecord }
  | { type: 'delivery.awaiting_callback'; delivery: DeliveryRecord; attempt: AttemptRecord }
  /** No answer arrived on the callback URL before it expired: the delivery is now `exhausted` (reason in `lastError`). */
  | { type: 'delivery.callback_expired'; delivery: DeliveryRecord }
  | { type: 'endpoint.disabled'; endpoint: Endpoint; reason: 'gone' | 'failing' }
  | { type: 'callback.received'; answer: CallbackAnswer }
  | { type: 'worker.error'; error: unknown };

export interface Dispatcher {
  createEndpoint(input: EndpointInput, tenant?: string): Promise<{ endpoint: Endpoint; /** shown once */ secret?: string }>;
  getEndpoint(id: string, tenant?: string): Promise<Endpoint>;
  listEndpoints(page?: PageQuery, tenant?: string): Promise<Page<Endpoint>>;
  updateEndpoint(id: string, patch: Partial<EndpointInput>, tenant?: string): Promise<Endpoint>;
  deleteEndpoint(id: string, tenant?: string): Promise<void>;

  publish(input: PublishInput): Promise<PublishResult>;
  /** Sends `c1.webhooks.v1.PayloadTest` now, active or not, and returns the full request and response. */
  testEndpoint(id: string, tenant?: string): Promise<AttemptRecord>;
  /** Delivers a message again to one endpoint, or to every endpoint it went to. */
  redeliver(messageId: string, options?: { endpointId?: string; tenant?: string }): Promise<{ deliveries: number }>;
  getMessage(id: string, tenant?: string): Promise<{ message: MessageRecord; deliveries: DeliveryRecord[] }>;
  listAttempts(query: Omit<AttemptQuery, 'tenant'> & { tenant?: string }): Promise<Page<AttemptRecord>>;

  /** Validates and records an answer on a callback URL; resolves to the status to answer (202) or throws a HooklineError. */
  handleCallback(token: string, body: Uint8Array): Promise<CallbackAnswer>;
  onCallback(handler: (answer: CallbackAnswer) => void | Promise<void>): () => void;

  /** The public signing keys (JWKS) receivers verify our JWTs with. */
  jwks(): Promise<{ keys: Record<string, unknown>[] }>;
  /** The event catalog: name, description, JSON Schema and an example per event type. */
  eventTypes(): Array<{ type: string; description: string; schema: Record<string, unknown>; example: unknown }>;

  on(listener: (event: OperationalEvent) => void): () => void;
  /** Starts the workers (idempotent). */
  start(): void;
  /** Stops claiming, finishes or releases in-flight work. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- receive side

export interface InboundSourceInput {
  name: string;
  platform: InboundPlatform;
  /** The preset's options and secrets (e.g. `{ secrets: ['...'] }`); secrets are write-only. */
  config: Record<string, unknown>;
  matches?: Record<string, JsonValue>;
}

/** A source as the admin API shows it: secrets replaced by hints, plus its inbound URL path. */
export type InboundSource = Omit<InboundSourceRecord, 'config'> & { config: Record<string, unknown>; path: string };

/** A verified, de-duplicated, matched inbound webhook as handlers and waiters receive it. */
export interface InboundEvent {
  sourceId: string;
  tenant: string;
  platform: InboundPlatform;
  payload: unknown;
  rawBody: Uint8Array;
  id?: string | undefined;
  timestamp?: number | undefined;
  unverified?: Record<string, string> | undefined;
  receivedAt: number;
}

export type InboundSelector = string | { sourceId?: string; matches?: Record<string, JsonValue> };

export interface Receiver {
  createSource(input: InboundSourceInput, tenant?: string): Promise<InboundSource>;
  getSource(id: string, tenant?: string): Promise<InboundSource>;
  listSources(page?: PageQuery, tenant?: string): Promise<Page<InboundSource>>;
  updateSource(id: string, patch: Partial<InboundSourceInput>, tenant?: string): Promise<InboundSource>;
  deleteSource(id: string, tenant?: string): Promise<void>;

  /** The whole pipeline for `GET|POST /in/:sourceId`: size, verify, challenge, replay, match, hand over, answer. */
  receive(sourceId: string, request: HookRequest): Promise<HookResponse>;
  /** Runs for each matching event (a source id, or matches and/or a source id). */
  on(selector: InboundSelector, handler: (event: InboundEvent) => void | Promise<void>): () => void;
  /** Resolves with the first matching event; rejects on timeout or abort. */
  waitFor(selector: InboundSelector, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<InboundEvent>;
}

/** Both sides in one object. `on` takes either an operational-event listener (send side) or a selector and handler (receive side). */
export interface Hookline extends Omit<Dispatcher, 'on'>, Omit<Receiver, 'on'> {
  readonly store: DeliveryStore;
  on(listener: (event: OperationalEvent) => void): () => void;
  on(selector: InboundSelector, handler: (event: InboundEvent) => void | Promise<void>): () => void;
  /** Public routes: JWKS, callbacks, inbound. */
  handle(request: HookRequest): Promise<HookResponse>;
  /** Admin routes (`/admin/...`), for an app to mount behind its own authentication, scoped to one tenant. */
  handleAdmin(request: HookRequest, context?: { tenant?: string }): Promise<HookResponse>;
  close(): Promise<void>;
}
