import { fail } from '@hookline/errors';

export type CallbackDecision = 'approve' | 'deny' | 'reassign';

/** How the mock answers the next webhooks. Every field is optional; `{}` means "verify, record, answer 200". */
export interface Behaviour {
  /** Answer the next `failTimes` verified webhooks with `failStatus` (default 500), then succeed. */
  failTimes?: number;
  failStatus?: number;
  /** Wait this long before answering each webhook. */
  delayMs?: number;
  /** `ok` answers 200, `gone` answers 410 (hookline disables the endpoint), `accepted` answers 202 and calls back. */
  answer?: 'ok' | 'gone' | 'accepted';
  /** With `answer: 'accepted'`: what to POST to the envelope's `callbackUrl`, and after how long. */
  callback?: { decision?: CallbackDecision; delayMs?: number; comment?: string; newStepUserIds?: string[] };
}

/** The behaviour with every default filled in, as `GET /behaviour` shows it. */
export interface ResolvedBehaviour {
  failTimes: number;
  failStatus: number;
  delayMs: number;
  answer: 'ok' | 'gone' | 'accepted';
  callback: { decision: CallbackDecision; delayMs: number; comment?: string; newStepUserIds?: string[] };
}

const ANSWERS = new Set(['ok', 'gone', 'accepted']);
const DECISIONS = new Set(['approve', 'deny', 'reassign']);
const MAX_DELAY_MS = 120_000;

/** Checks a behaviour sent over HTTP (or passed in code) and fills the defaults; bad input is a `bad_request`. */
export function resolveBehaviour(input: unknown): ResolvedBehaviour {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw fail('bad_request', 'A behaviour is a JSON object.');
  }
  const value = input as Record<string, unknown>;
  const known = new Set(['failTimes', 'failStatus', 'delayMs', 'answer', 'callback']);
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw fail('bad_request', `Unknown behaviour field "${key}".`, { field: key });
  }
  const failTimes = integer(value.failTimes, 'failTimes', 0, 1_000_000, 0);
  const failStatus = integer(value.failStatus, 'failStatus', 100, 599, 500);
  const delayMs = integer(value.delayMs, 'delayMs', 0, MAX_DELAY_MS, 0);
  const answer = value.answer ?? 'ok';
  if (typeof answer !== 'string' || !ANSWERS.has(answer)) {
    throw fail('bad_request', 'answer must be "ok", "gone" or "accepted".', { field: 'answer' });
  }
  const callbackInput = value.callback ?? {};
  if (typeof callbackInput !== 'object' || callbackInput === null || Array.isArray(callbackInput)) {
    throw fail('bad_request', 'callback must be an object.', { field: 'callback' });
  }
  const callback = callbackInput as Record<string, unknown>;
  const decision = callback.decision ?? 'approve';
  if (typeof decision !== 'string' || !DECISIONS.has(decision)) {
    throw fail('bad_request', 'callback.decision must be "approve", "deny" or "reassign".', { field: 'callback.decision' });
  }
  if (callback.comment !== undefined && typeof callback.comment !== 'string') {
    throw fail('bad_request', 'callback.comment must be a string.', { field: 'callback.comment' });
  }
  const ids = callback.newStepUserIds;
  if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string'))) {
    throw fail('bad_request', 'callback.newStepUserIds must be an array of strings.', { field: 'callback.newStepUserIds' });
  }
  return {
    failTimes,
    failStatus,
    delayMs,
    answer: answer as ResolvedBehaviour['answer'],
    callback: {
      decision: decision as CallbackDecision,
      delayMs: integer(callback.delayMs, 'callback.delayMs', 0, MAX_DELAY_MS, 100),
      ...(callback.comment === undefined ? {} : { comment: callback.comment as string }),
      ...(ids === undefined ? {} : { newStepUserIds: ids as string[] }),
    },
  };
}

/** The ConductorOne callback body for a decision: `{"version":"v1","approve":{"comment":"..."}}`. */
export function callbackBody(callback: ResolvedBehaviour['callback']): Record<string, unknown> {
  const detail: Record<string, unknown> = {};
  if (callback.comment !== undefined) detail.comment = callback.comment;
  if (callback.decision === 'reassign') detail.newStepUserIds = callback.newStepUserIds ?? [];
  return { version: 'v1', [callback.decision]: detail };
}

function integer(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw fail('bad_request', `${field} must be an integer from ${min} to ${max}.`, { field });
  }
  return value;
}
