import { fail } from '@hookline/errors';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { SCHEMAS } from './registry.js';
import type { SchemaName, SchemaTypes } from './types.js';

/** One reason a value does not match its schema: where (a JSON Pointer into the value) and what. */
export interface SchemaProblem {
  pointer: string;
  message: string;
}

/** At most this many problems are reported: enough to fix a form, not a wall of text for a hostile payload. */
const MAX_PROBLEMS = 20;

function createAjv(): Ajv2020 {
  // allErrors: report every problem at once, as a form would. discriminator: only the chosen auth type's errors.
  const ajv = new Ajv2020({ allErrors: true, strict: true, discriminator: true, verbose: true, allowUnionTypes: true, strictRequired: false });
  (addFormats as unknown as (instance: Ajv2020, formats: string[]) => void)(ajv, ['uri', 'date-time', 'email']);
  ajv.addVocabulary(['x-problem']); // our own message for a combinator that fails as a whole
  return ajv;
}

let ajv: Ajv2020 | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

/** Compiles each schema on first use, once per process. */
function validatorFor(name: SchemaName): ValidateFunction {
  let validator = compiled.get(name);
  if (validator === undefined) {
    ajv ??= createAjv();
    validator = ajv.compile(SCHEMAS[name] as object);
    compiled.set(name, validator);
  }
  return validator;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Keywords whose failure a schema may explain in its own words with `x-problem`. */
const EXPLAINED = new Set(['pattern', 'format', 'oneOf', 'anyOf', 'not']);

function messageOf(error: ErrorObject): string {
  // A failed `not` is explained by the negated schema; any other keyword by the schema holding it.
  const explaining = error.keyword === 'not' ? error.schema : error.parentSchema;
  const custom = (explaining as Record<string, unknown> | undefined)?.['x-problem'];
  if (typeof custom === 'string' && EXPLAINED.has(error.keyword)) return custom;
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not allowed';
    case 'const':
      return `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
    case 'enum':
      return `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/** Where a problem is: the missing or extra property itself, or the property whose name is wrong. */
function pointerOf(error: ErrorObject): string {
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const key = params.missingProperty ?? params.additionalProperty ?? error.propertyName;
  return key === undefined ? error.instancePath : `${error.instancePath}/${escapePointer(key)}`;
}

/** Ajv reports a failed oneOf/anyOf and each branch's errors; keep the combinator's own error only. */
function problemsOf(errors: readonly ErrorObject[]): SchemaProblem[] {
  const combinators = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  // A value of the wrong type fails every combinator too; its type is the one problem worth saying.
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const kept = errors.filter(
    (e) =>
      !(combinators.includes(e) && wrongType.has(e.instancePath)) &&
      e.keyword !== 'propertyNames' && // its inner errors say what is wrong with the name
      e.keyword !== 'if' && // its `then` error says what is missing
      !combinators.some((c) => c !== e && e.schemaPath.startsWith(`${c.schemaPath}/`)),
  );
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const error of kept) {
    const problem = { pointer: pointerOf(error), message: messageOf(error) };
    const key = `${problem.pointer}\n${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
    if (problems.length === MAX_PROBLEMS) break;
  }
  return problems;
}

/**
 * Validates `value` against the schema registered as `name` and returns it typed, or fails with `invalid_payload`
 * whose `details.problems` lists each problem as `{ pointer, message }` (`pointer` is a JSON Pointer into the value).
 *
 * @example
 * ```ts
 * const answer = validate('callback', { version: 'v1', approve: { comment: 'ok' } });
 * answer.approve?.comment; // 'ok'
 * validate('callback', { version: 'v1' });
 * // throws invalid_payload: details.problems = [{ pointer: '', message: 'must have exactly one of approve, deny or reassign' }]
 * ```
 */
export function validate<N extends SchemaName>(schemaName: N, value: unknown): SchemaTypes[N] {
  if (!Object.hasOwn(SCHEMAS, schemaName)) {
    throw fail('invalid_config', `unknown schema ${JSON.stringify(schemaName)}`, { schema: String(schemaName) });
  }
  const validator = validatorFor(schemaName);
  if (validator(value)) return value as SchemaTypes[N];
  const problems = problemsOf(validator.errors ?? []);
  const first = problems[0];
  const where = first && first.pointer !== '' ? ` at ${first.pointer}` : '';
  throw fail(
    'invalid_payload',
    `does not match the ${schemaName} schema: ${first ? `${first.message}${where}` : 'invalid'}` +
      (problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''),
    { schema: schemaName, problems },
  );
}

/**
 * The same check as {@link validate}, as a result instead of an exception.
 *
 * @example
 * ```ts
 * const result = check('endpoint', { name: 'x', url: 'https://a.example', triggers: [] });
 * if (!result.valid) console.log(result.problems); // [{ pointer: '/triggers', message: 'must NOT have fewer than 1 items' }]
 * ```
 */
export function check<N extends SchemaName>(
  schemaName: N,
  value: unknown,
): { valid: true; value: SchemaTypes[N] } | { valid: false; problems: SchemaProblem[] } {
  try {
    return { valid: true, value: validate(schemaName, value) };
  } catch (error) {
    const problems = (error as { code?: string; details?: { problems?: SchemaProblem[] } }).details?.problems;
    if ((error as { code?: string }).code === 'invalid_payload' && problems) return { valid: false, problems };
    throw error;
  }
}
