import { fail, isHooklineError } from '@hookline/errors';
import { jsonpath, type JSONValue } from 'json-p3';

/** A JSONPath (RFC 9535) parsed once, ready to run against many values. */
export interface CompiledJsonPath {
  /** The path as written. */
  readonly path: string;
  /** True for a singular query (only names and indexes): it selects at most one node. */
  readonly singular: boolean;
  /** The values of the nodes the path selects, in document order; empty when it selects nothing. */
  query(value: unknown): unknown[];
}

type Step = string | number;

/** Names and indexes of a singular query, or undefined when the path can select several nodes. */
function singularSteps(query: jsonpath.JSONPathQuery): Step[] | undefined {
  if (!query.singularQuery()) return undefined;
  const steps: Step[] = [];
  for (const segment of query.segments) {
    const selector = segment.selectors[0];
    if (segment.selectors.length !== 1) return undefined;
    if (selector instanceof jsonpath.selectors.NameSelector) steps.push(selector.name);
    else if (selector instanceof jsonpath.selectors.IndexSelector) steps.push(selector.index);
    else return undefined;
  }
  return steps;
}

/** RFC 9535 semantics for names and indexes: names select only object members, indexes only array items. */
function walk(value: unknown, steps: readonly Step[]): unknown[] {
  let current = value;
  for (const step of steps) {
    if (typeof step === 'string') {
      if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, step)) {
        return [];
      }
      current = (current as Record<string, unknown>)[step];
    } else {
      if (!Array.isArray(current)) return [];
      const index = step < 0 ? current.length + step : step;
      if (index < 0 || index >= current.length) return [];
      current = current[index];
    }
  }
  return [current];
}

function queryFailed(path: string, error: unknown): never {
  if (isHooklineError(error)) throw error;
  throw fail('invalid_payload', `the JSONPath ${path} could not be evaluated on this value`, {
    path,
    reason: error instanceof Error ? error.message : String(error),
  });
}

/**
 * Parses an RFC 9535 JSONPath once. Invalid paths fail with `invalid_jsonpath` (details `path`, `reason`).
 * Singular queries (`$.event.type`, `$['a'][0]`) run as a direct walk; every other path runs on json-p3.
 *
 * @example
 * ```ts
 * const path = compileJsonPath('$.items[?@.price < 10].name');
 * path.query({ items: [{ name: 'pen', price: 2 }, { name: 'desk', price: 90 }] }); // ['pen']
 * ```
 */
export function compileJsonPath(path: string): CompiledJsonPath {
  if (typeof path !== 'string') throw fail('invalid_jsonpath', 'a JSONPath must be a string', { path: String(path) });
  let compiled: jsonpath.JSONPathQuery;
  try {
    compiled = jsonpath.compile(path);
  } catch (error) {
    throw fail('invalid_jsonpath', `invalid JSONPath ${JSON.stringify(path)}: ${(error as Error).message}`, {
      path,
      reason: (error as Error).message,
    });
  }
  const steps = singularSteps(compiled);
  if (steps) {
    return { path, singular: true, query: (value) => walk(value, steps) };
  }
  return {
    path,
    singular: false,
    query(value) {
      try {
        const nodes = compiled.query(value as JSONValue).nodes;
        const values = new Array<unknown>(nodes.length);
        for (let i = 0; i < nodes.length; i++) values[i] = nodes[i]!.value;
        return values;
      } catch (error) {
        return queryFailed(path, error);
      }
    },
  };
}

/**
 * Runs an RFC 9535 JSONPath against a value and returns the selected values (compiles each time: for repeated use,
 * {@link compileJsonPath}).
 *
 * @example
 * ```ts
 * queryJsonPath('$..id', { a: { id: 1 }, b: [{ id: 2 }] }); // [1, 2]
 * ```
 */
export function queryJsonPath(path: string, value: unknown): unknown[] {
  return compileJsonPath(path).query(value);
}
