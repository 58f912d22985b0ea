import { HooklineError } from '@hookline/errors';

/** Standard Webhooks / Svix: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (seconds). */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

export interface RetryPolicy {
  /** Delay before each attempt, in seconds; the first is the initial try. */
  schedule: readonly number[];
  /** ±fraction applied to each delay (0.2 = ±20 %). */
  jitter: number;
  /** Returns a number in [0, 1). */
  random: () => number;
  /** The floor for 429 and timeouts, ms. */
  throttleFloorMs: number;
  /** The most a `Retry-After` may push a retry out, ms. */
  maxRetryAfterMs: number;
}

/** What the last try said about the next one. */
export interface RetryHint {
  /** 429 or a timeout: the receiver is overloaded, so wait at least `throttleFloorMs`. */
  throttled: boolean;
  /** A `Retry-After` header from the response, in ms from now, when it parsed. */
  retryAfterMs?: number | undefined;
}

/**
 * When the attempt after `attemptsMade` is due, or undefined when the schedule is exhausted.
 * `Retry-After` replaces the scheduled delay, clamped to [floor, maxRetryAfterMs]; throttling raises the floor to 60 s.
 */
export function nextAttemptAt(policy: RetryPolicy, attemptsMade: number, now: number, hint: RetryHint): number | undefined {
  const seconds = policy.schedule[attemptsMade];
  if (seconds === undefined) return undefined;
  const floor = hint.throttled ? policy.throttleFloorMs : 0;
  let delay: number;
  if (hint.retryAfterMs !== undefined) {
    delay = Math.min(Math.max(hint.retryAfterMs, floor), Math.max(policy.maxRetryAfterMs, floor));
  } else {
    const spread = 1 + policy.jitter * (policy.random() * 2 - 1);
    delay = Math.max(Math.round(seconds * 1000 * spread), floor);
  }
  return now + delay;
}

/** `Retry-After` as seconds or an HTTP date, in ms from `now`; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Parses `HOOKLINE_RETRY_SCHEDULE`-style input: comma-separated non-negative seconds. */
export function parseRetrySchedule(value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  const seconds = parts.map(Number);
  if (parts.length === 0 || seconds.some((s, i) => parts[i] === '' || !Number.isFinite(s) || s < 0)) {
    throw new HooklineError('invalid_config', 'A retry schedule is a comma-separated list of non-negative seconds.');
  }
  return seconds;
}
