// The helpers a body template may call. Each is pure, never throws on odd input, and only reads own properties,
// so a template cannot reach a prototype through a helper either.
import Handlebars from 'handlebars';
import { jsonText } from './json-text.js';

type Helper = (...args: unknown[]) => unknown;

/** Handlebars passes its options object last; helpers only want the template's arguments. */
function templateArguments(args: unknown[]): unknown[] {
  return args.slice(0, -1);
}

function ownProperty(value: unknown, key: unknown): unknown {
  if (value === null || typeof value !== 'object' || typeof key !== 'string') return undefined;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/** Handlebars' own notion of empty, used by `if`: so `and`/`or`/`not` agree with `{{#if}}`. */
function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}

/** Deep equality of JSON values: `1` is not `"1"`, key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every(
    (key) => Object.hasOwn(b, key) && jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return jsonText(value);
}

/** Epoch seconds (fractional allowed, e.g. Apono's `1696263265.851898`) to ISO 8601 with milliseconds. */
function isoDate(seconds: unknown): string | undefined {
  const number = typeof seconds === 'string' && seconds.trim() !== '' ? Number(seconds) : seconds;
  if (typeof number !== 'number' || !Number.isFinite(number)) return undefined;
  // Round to microseconds first so 1.001 * 1000 = 1000.9999… still lands on the millisecond written.
  const millis = Math.floor(Math.round(number * 1e6) / 1e3);
  const date = new Date(millis);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The helpers templates may call, by name. */
export const TEMPLATE_HELPERS: Readonly<Record<string, Helper>> = {
  json: (...args) => new Handlebars.SafeString(jsonText(templateArguments(args)[0])),
  pluck: (...args) => {
    const [list, key] = templateArguments(args);
    return Array.isArray(list) ? list.map((item) => ownProperty(item, key) ?? null) : [];
  },
  join: (...args) => {
    const [list, separator] = templateArguments(args);
    if (!Array.isArray(list)) return text(list);
    return list.map(text).join(typeof separator === 'string' ? separator : ', ');
  },
  default: (...args) => {
    const [value, fallback] = templateArguments(args);
    return value === undefined || value === null || value === '' ? fallback : value;
  },
  eq: (...args) => {
    const [a, b] = templateArguments(args);
    return jsonEqual(a, b);
  },
  ne: (...args) => {
    const [a, b] = templateArguments(args);
    return !jsonEqual(a, b);
  },
  and: (...args) => templateArguments(args).every(isTruthy),
  or: (...args) => templateArguments(args).some(isTruthy),
  not: (...args) => !isTruthy(templateArguments(args)[0]),
  length: (...args) => {
    const [value] = templateArguments(args);
    if (Array.isArray(value)) return value.length;
    if (typeof value === 'string') return [...value].length;
    if (value !== null && typeof value === 'object') return Object.keys(value).length;
    return 0;
  },
  lower: (...args) => text(templateArguments(args)[0]).toLowerCase(),
  upper: (...args) => text(templateArguments(args)[0]).toUpperCase(),
  isoDate: (...args) => isoDate(templateArguments(args)[0]),
};

/** Built-in Handlebars block helpers a template may open: `{{#each}}`, `{{#if}}`, `{{#unless}}`, `{{#with}}`. */
export const BLOCK_HELPERS: readonly string[] = ['each', 'if', 'unless', 'with'];
