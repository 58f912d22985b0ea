import { fail } from '@hookline/errors';

/** A set of event-type patterns: exact names, `*` for everything, and prefixes such as `c1.webhooks.v1.*`. */
export interface Trigger {
  readonly patterns: readonly string[];
  /** True when `type` matches any pattern. */
  test(type: string): boolean;
}

/** An event type: dot-separated words of letters, digits, `_` and `-` (and `*` as a pattern's last word). */
const PATTERN = /^(?:\*|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*(?:\.\*)?)$/;

/**
 * Compiles endpoint triggers. `*` matches every type, `c1.webhooks.v1.*` every type under that prefix (not the prefix
 * itself), anything else exactly. A malformed or empty list fails with `invalid_endpoint` (details `pattern`).
 *
 * @example
 * ```ts
 * const trigger = compileTrigger(['c1.webhooks.v1.*', 'AccessRequestGranted']);
 * trigger.test('c1.webhooks.v1.PayloadTest'); // true
 * trigger.test('AccessRequestCreated'); // false
 * ```
 */
export function compileTrigger(patterns: readonly string[]): Trigger {
  if (!Array.isArray(patterns) || patterns.length === 0) {
    throw fail('invalid_endpoint', 'triggers must be a non-empty array of event types or patterns');
  }
  let all = false;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    if (typeof pattern !== 'string' || !PATTERN.test(pattern)) {
      throw fail('invalid_endpoint', `trigger ${JSON.stringify(pattern)} is not an event type, "*" or "prefix.*"`, {
        pattern: typeof pattern === 'string' ? pattern : String(pattern),
      });
    }
    if (pattern === '*') all = true;
    else if (pattern.endsWith('.*')) prefixes.push(pattern.slice(0, -1)); // keep the dot: "c1." never matches "c10"
    else exact.add(pattern);
  }
  return Object.freeze({
    patterns: Object.freeze([...patterns]),
    test(type: string): boolean {
      if (all) return true;
      if (typeof type !== 'string') return false;
      if (exact.has(type)) return true;
      for (const prefix of prefixes) if (type.length > prefix.length && type.startsWith(prefix)) return true;
      return false;
    },
  });
}

/**
 * One-off form of {@link compileTrigger}: does `type` match any of `patterns`?
 *
 * @example
 * ```ts
 * matchesTrigger(['*'], 'permit.create_user');                 // true
 * matchesTrigger(['c1.webhooks.v1.*'], 'c1.webhooks.v1');      // false
 * ```
 */
export function matchesTrigger(patterns: readonly string[], type: string): boolean {
  return compileTrigger(patterns).test(type);
}
