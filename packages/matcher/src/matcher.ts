import { fail, isHooklineError } from '@hookline/errors';
import { jsonEqual } from './json-equal.js';
import { compileJsonPath, type CompiledJsonPath } from './jsonpath.js';

/**
 * How a selected value is compared with the expected one.
 * - `json` (default): JSON deep equality; when the path selects several nodes, any of them may equal.
 * - `conductor`: as Conductor does, the first selected value (the first item when it is an array) and the expected
 *   value compared as trimmed, case-insensitive strings.
 */
export type MatchMode = 'json' | 'conductor';

export interface CompileMatcherOptions {
  mode?: MatchMode;
}

/** One `path: expected` pair of a matches map. */
export interface MatchCondition {
  readonly path: string;
  readonly expected: unknown;
}

/** A compiled matches map: every condition must hold. */
export interface Matcher {
  readonly mode: MatchMode;
  /** The JSONPaths of the map, in its key order. */
  readonly paths: readonly string[];
  readonly conditions: readonly MatchCondition[];
  /** True when every condition holds on `value` (always true for an empty map). */
  test(value: unknown): boolean;
}

/** Conductor compares text: strings as they are, anything else as its JSON. */
function conductorText(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return text.trim().toLowerCase();
}

type Check = (value: unknown) => boolean;

function jsonCheck(path: CompiledJsonPath, expected: unknown): Check {
  const primitive = expected === null || typeof expected !== 'object';
  return (value) => {
    const selected = path.query(value);
    for (let i = 0; i < selected.length; i++) {
      const node = selected[i];
      if (node === expected || (!primitive && jsonEqual(node, expected))) return true;
    }
    return false;
  };
}

function conductorCheck(path: CompiledJsonPath, expected: unknown): Check {
  const want = conductorText(expected);
  return (value) => {
    const selected = path.query(value);
    if (selected.length === 0) return false;
    const first = Array.isArray(selected[0]) ? (selected[0] as unknown[])[0] : selected[0];
    return first !== undefined && conductorText(first) === want;
  };
}

/**
 * Compiles Conductor-style `matches`: every key is an RFC 9535 JSONPath and every condition must hold (AND).
 * An empty map matches everything; a path that selects nothing does not match. A bad path fails now, with
 * `invalid_jsonpath` naming the offending `key`.
 *
 * @example
 * ```ts
 * const matcher = compileMatcher({ "$['event']['type']": 'message', '$.event.text': 'hello' });
 * matcher.test({ event: { type: 'message', text: 'hello' } }); // true
 * matcher.test({ event: { type: 'message', text: 'bye' } });   // false
 * ```
 */
export function compileMatcher(matches: Record<string, unknown>, options: CompileMatcherOptions = {}): Matcher {
  const mode = options.mode ?? 'json';
  if (mode !== 'json' && mode !== 'conductor') {
    throw fail('invalid_config', `unknown match mode ${JSON.stringify(mode)}; use "json" or "conductor"`, { mode });
  }
  if (matches === null || typeof matches !== 'object' || Array.isArray(matches)) {
    throw fail('invalid_jsonpath', 'matches must be an object of JSONPath keys and expected values');
  }
  const conditions: MatchCondition[] = [];
  const checks: Check[] = [];
  for (const [key, expected] of Object.entries(matches)) {
    let path: CompiledJsonPath;
    try {
      path = compileJsonPath(key);
    } catch (error) {
      if (!isHooklineError(error)) throw error;
      throw fail('invalid_jsonpath', `matches key ${JSON.stringify(key)} is not a valid JSONPath`, {
        key,
        reason: error.details?.reason,
      });
    }
    if (expected === undefined) {
      throw fail('invalid_jsonpath', `matches key ${JSON.stringify(key)} has no expected value`, { key });
    }
    conditions.push(Object.freeze({ path: key, expected }));
    checks.push(mode === 'json' ? jsonCheck(path, expected) : conductorCheck(path, expected));
  }

  const count = checks.length;
  return Object.freeze({
    mode,
    paths: Object.freeze(conditions.map((condition) => condition.path)),
    conditions: Object.freeze(conditions),
    test(value: unknown): boolean {
      for (let i = 0; i < count; i++) if (!checks[i]!(value)) return false;
      return true;
    },
  });
}
