import { HooklineError } from '@hookline/errors';
import type { HookRequest, HookResponse } from '../contract.js';

/** What a route handler gets: the request, its decoded path parameters and its query. */
export interface RouteContext {
  request: HookRequest;
  params: Record<string, string>;
  query: URLSearchParams;
}

/** A route handler; `Scope` is what the caller adds per request (the admin API's tenant). */
export type RouteHandler<Scope = undefined> = (context: RouteContext, scope: Scope) => Promise<HookResponse>;

interface Route<Scope> {
  method: string;
  segments: string[];
  handler: RouteHandler<Scope>;
}

export type RouteMatch<Scope = undefined> =
  | { kind: 'found'; handler: RouteHandler<Scope>; context: RouteContext }
  | { kind: 'not_found'; path: string }
  | { kind: 'method_not_allowed'; allow: string[] };

/**
 * A small router over {@link HookRequest}. Paths are relative to wherever the app mounted hookline (the adapter
 * strips its prefix), so `/in/:sourceId` works the same under `/webhooks` or at the root.
 */
export class Router<Scope = undefined> {
  readonly #routes: Route<Scope>[] = [];

  add(method: string, pattern: string, handler: RouteHandler<Scope>): this {
    this.#routes.push({ method, segments: splitPath(pattern), handler });
    return this;
  }

  match(request: HookRequest): RouteMatch<Scope> {
    const { path, query } = parseTarget(request.url);
    const segments = splitPath(path);
    const allow = new Set<string>();
    const method = request.method.toUpperCase();
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, segments);
      if (params === undefined) continue;
      if (route.method === method) return { kind: 'found', handler: route.handler, context: { request, params, query } };
      allow.add(route.method);
    }
    if (allow.size === 0) return { kind: 'not_found', path };
    return { kind: 'method_not_allowed', allow: [...allow] };
  }
}

/** The error for a route match that found no handler, with the `Allow` header a 405 must carry. */
export function routeError(match: Exclude<RouteMatch<unknown>, { kind: 'found' }>): { error: HooklineError; headers: Record<string, string> } {
  if (match.kind === 'not_found') {
    return { error: new HooklineError('not_found', 'No such route.', { details: { path: match.path } }), headers: {} };
  }
  const allow = match.allow.join(', ');
  return {
    error: new HooklineError('method_not_allowed', `This route accepts ${allow}.`, { details: { allow: match.allow } }),
    headers: { allow },
  };
}

/** Splits a request target into its path and query; a full URL is accepted too. */
export function parseTarget(target: string): { path: string; query: URLSearchParams } {
  let url: URL;
  try {
    url = new URL(target, 'http://hookline.invalid');
  } catch {
    return { path: target, query: new URLSearchParams() };
  }
  return { path: url.pathname, query: url.searchParams };
}

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index += 1) {
    const expected = pattern[index]!;
    const segment = actual[index]!;
    if (expected.startsWith(':')) {
      const value = decodeSegment(segment);
      if (value === undefined || value === '') return undefined;
      params[expected.slice(1)] = value;
    } else if (expected !== segment) {
      return undefined;
    }
  }
  return params;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
