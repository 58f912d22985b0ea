/**
 * Every failure hookline reports on purpose is a {@link HooklineError}: a stable `code` to switch on, an HTTP
 * `status` where one applies, and optional `details` safe to show to the caller (never a secret or a signature).
 *
 * @example
 * ```ts
 * try { await verifier.verify(request); }
 * catch (error) {
 *   if (isHooklineError(error)) return { status: error.status, body: error.toJSON() };
 *   throw error;
 * }
 * ```
 */

/** The stable error codes. Add new ones here; never rename or reuse one. */
export const ERROR_STATUS = {
  // request shape
  bad_request: 400,
  invalid_json: 400,
  invalid_payload: 400,
  payload_too_large: 413,
  raw_body_unavailable: 500,
  not_found: 404,
  method_not_allowed: 405,
  unauthorized: 401,
  forbidden: 403,
  conflict: 409,
  unsupported_media_type: 415,
  // verification (inbound and our own schemes)
  missing_header: 400,
  duplicate_header: 400,
  malformed_header: 400,
  signature_mismatch: 401,
  timestamp_invalid: 400,
  timestamp_out_of_window: 401,
  replayed: 409,
  token_invalid: 401,
  token_expired: 401,
  claim_mismatch: 401,
  key_not_found: 401,
  algorithm_not_allowed: 401,
  jwks_unavailable: 503,
  challenge_failed: 403,
  // templates, matching, schemas
  invalid_template: 400,
  template_output_not_json: 400,
  template_render_failed: 400,
  invalid_jsonpath: 400,
  // configuration
  invalid_endpoint: 400,
  invalid_source: 400,
  invalid_config: 500,
  invalid_key: 400,
  // delivery
  destination_not_allowed: 400,
  callback_not_found: 404,
  callback_expired: 404,
  callback_already_answered: 409,
  invalid_callback: 400,
  store_unavailable: 503,
  lease_lost: 409,
  wait_timeout: 408,
  internal: 500,
} as const satisfies Record<string, number>;

export type HooklineErrorCode = keyof typeof ERROR_STATUS;

export interface HooklineErrorOptions {
  /** HTTP status to answer with; defaults to the code's usual status. */
  status?: number;
  /** Structured, caller-safe detail: which field, which header, which position. Never secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error class of hookline. `code` is stable; `message` is for humans and may change. */
export class HooklineError extends Error {
  override readonly name = 'HooklineError';
  readonly code: HooklineErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: HooklineErrorCode, message: string, options: HooklineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.details = options.details;
  }

  /** The wire shape every hookline HTTP error uses: `{ "error": { "code", "message", "details"? } }`. */
  toJSON(): { error: { code: HooklineErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** True for a HooklineError from any copy of this package (checks the shape, not only the prototype). */
export function isHooklineError(value: unknown): value is HooklineError {
  return (
    value instanceof HooklineError ||
    (value instanceof Error &&
      value.name === 'HooklineError' &&
      typeof (value as { code?: unknown }).code === 'string' &&
      typeof (value as { status?: unknown }).status === 'number')
  );
}

/** Shorthand used across packages: `throw fail('missing_header', 'webhook-id is missing', { header: 'webhook-id' })`. */
export function fail(code: HooklineErrorCode, message: string, details?: Record<string, unknown>): HooklineError {
  return new HooklineError(code, message, details === undefined ? {} : { details });
}
