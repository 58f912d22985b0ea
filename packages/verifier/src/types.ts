/** What every verifier reads: a plain request with the exact bytes that arrived. */
export interface WebhookRequest {
  method: string;
  /** The request target as received (`/in/abc?x=1`) or absolute. Presets that sign the URL use their configured public URL. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body bytes. A string is taken as its UTF-8 bytes. A parsed object is refused (`raw_body_unavailable`). */
  body: Uint8Array | string;
}

/**
 * A request that verified: its payload, and what the provider says about it.
 *
 * `payload`, `id` and `unverified` may be computed when first read (parsing costs more than the HMAC), so read them
 * by name. A spread (`{ ...event }`) or `structuredClone` may not carry them; `JSON.stringify` does.
 */
export interface VerifiedEvent {
  kind: 'event';
  /** The body parsed as JSON when it is JSON, as form fields when it is a form, else the UTF-8 text. */
  payload: unknown;
  /** The exact bytes that were verified. */
  rawBody: Uint8Array;
  /** The provider's delivery id, used to drop replays (`X-GitHub-Delivery`, `webhook-id`, `jti`, Stripe event id, ...). */
  id?: string;
  /** When the sender signed it (unix seconds), where the scheme has a timestamp. */
  timestamp?: number;
  /** Metadata the provider sends but does not sign (`X-GitHub-Event`, shop domain): informative, not trusted. */
  unverified?: Record<string, string>;
  /** Verified claims or attributes, e.g. the JWT claims. */
  claims?: Record<string, unknown>;
}

/** A handshake the provider expects answered (Slack url_verification, Meta hub.challenge, X CRC). */
export interface ChallengeResponse {
  kind: 'challenge';
  response: { status: number; headers: Record<string, string>; body: string };
}

export type VerificationResult = VerifiedEvent | ChallengeResponse;

/** A verifier either returns a result or throws a HooklineError whose code says why. */
export interface Verifier {
  /** Short name for logs and docs: `github`, `stripe`, `standard-webhooks`, ... */
  readonly name: string;
  /** Largest body this verifier accepts, in bytes; callers refuse bigger bodies before buffering them. */
  readonly maxBodyBytes: number;
  verify(request: WebhookRequest): Promise<VerificationResult>;
}

/**
 * Remembers delivery ids to drop replays. `add` returns true the first time a key is seen and false while it is
 * remembered. The delivery stores implement this same method, so a store can be passed directly.
 */
export interface SeenIdStore {
  addSeenId(key: string, expiresAt: number): Promise<boolean>;
}

/** Options most presets share. */
export interface CommonVerifierOptions {
  /** Largest accepted body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Seconds a signed timestamp may differ from now (default 300). */
  toleranceSeconds?: number;
  /** Where delivery ids are remembered to drop replays; without it, replays are caught only by the time window. */
  seenIds?: SeenIdStore;
  /** Current time in milliseconds; injectable for tests. */
  now?: () => number;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_TOLERANCE_SECONDS = 300;
