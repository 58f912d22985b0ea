import { Agent, type Dispatcher } from 'undici';
import { isHooklineError } from '@hookline/errors';
import { checkUrl, guardedLookup, type ResolvedPolicy } from './destination.js';

/** What one HTTP try produced: a response (any status), or an error code when none came back. */
export interface TransportResult {
  status?: number;
  headers: Record<string, string>;
  /** The response body, at most `maxResponseBytes`. */
  body: string;
  truncated: boolean;
  error?: { code: 'destination_not_allowed' | 'timeout' | 'connection_failed' | 'aborted'; message: string };
  durationMs: number;
}

export interface TransportRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  signal?: AbortSignal;
}

export interface Transport {
  send(request: TransportRequest): Promise<TransportResult>;
  close(): Promise<void>;
}

export interface TransportOptions {
  policy: ResolvedPolicy;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Sockets kept per origin. */
  maxSockets?: number;
}

/**
 * undici's keep-alive connection pools (one per origin) with the guarded resolver. Redirects are never followed (the
 * dispatcher API does not follow them), so a 3xx comes back as a response like any other. Requests are driven through
 * `dispatch` with a handler: no stream or promise per response, which is most of what a send costs.
 */
export function createTransport(options: TransportOptions): Transport {
  const lookup = guardedLookup(options.policy);
  const newAgent = () => new Agent({
    connections: options.maxSockets ?? 64,
    // Every connection goes through the guarded lookup, so the address actually connected to is checked.
    connect: { lookup, timeout: Math.min(options.timeoutMs, 10_000) } as Agent.Options['connect'],
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  let agent = newAgent();

  // Endpoints repeat: each URL is checked and split once (bounded, so a stream of distinct URLs cannot grow it). The
  // policy check is a pure function of the URL; the address check runs on every new connection.
  const targets = new Map<string, Target | { refused: string }>();
  function targetOf(raw: string): Target | { refused: string } {
    let target = targets.get(raw);
    if (target !== undefined) return target;
    try {
      const url = checkUrl(raw, options.policy);
      // Endpoints refuse them on input; an origin would silently drop them here, so refuse rather than send without.
      target = url.username === '' && url.password === '' ? toTarget(url) : { refused: 'The endpoint URL may not carry credentials.' };
    } catch (error) {
      target = { refused: isHooklineError(error) ? error.message : 'Destination refused.' };
    }
    if (targets.size >= TARGET_CACHE_SIZE) targets.clear();
    targets.set(raw, target);
    return target;
  }

  function send(request: TransportRequest): Promise<TransportResult> {
    const target = targetOf(request.url);
    if ('refused' in target) return Promise.resolve(failure('destination_not_allowed', target.refused, 0));
    return new Promise<TransportResult>((resolve) => {
      new Exchange(agent, target, request, options, resolve).start();
    });
  }

  return {
    send,
    // Closes the pooled connections; a later send (a restarted dispatcher) opens new ones.
    async close() {
      const closing = agent;
      agent = newAgent();
      await closing.close().catch(() => closing.destroy());
    },
  };
}

/** One request and its response, as an undici dispatch handler; settles exactly once. */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #started = performance.now();
  readonly #request: TransportRequest;
  readonly #options: TransportOptions;
  readonly #resolve: (result: TransportResult) => void;
  readonly #agent: Agent;
  readonly #target: Target;
  #controller: Dispatcher.DispatchController | undefined;
  /** Why the exchange was cut short before undici handed over its controller (it is aborted on arrival). */
  #abortReason: Error | undefined;
  #settled = false;
  #timer: NodeJS.Timeout | undefined;
  #status = 0;
  #headers: Record<string, string> = {};
  #chunks: Buffer[] = [];
  #kept = 0;

  constructor(agent: Agent, target: Target, request: TransportRequest, options: TransportOptions, resolve: (result: TransportResult) => void) {
    this.#agent = agent;
    this.#target = target;
    this.#request = request;
    this.#options = options;
    this.#resolve = resolve;
  }

  start(): void {
    const signal = this.#request.signal;
    if (signal?.aborted) return this.#onAbort();
    signal?.addEventListener('abort', this.#onAbort);
    // One deadline for connect, headers and body: a receiver that trickles bytes still times out.
    this.#timer = setTimeout(this.#onTimeout, this.#options.timeoutMs);
    this.#agent.dispatch({
      origin: this.#target.origin,
      path: this.#target.path,
      method: this.#request.method as Dispatcher.HttpMethod,
      headers: this.#request.headers,
      body: this.#request.body,
    }, this);
  }

  #elapsed(): number {
    return Math.round(performance.now() - this.#started);
  }

  #finish(result: TransportResult): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#request.signal?.removeEventListener('abort', this.#onAbort);
    this.#resolve(result);
  }

  /** Settles with `result` and drops the connection (what is left of the response is not wanted). */
  #cut(result: TransportResult, reason: Error): void {
    this.#finish(result);
    if (this.#controller === undefined) this.#abortReason = reason;
    else if (!this.#controller.aborted) this.#controller.abort(reason);
  }

  readonly #onTimeout = (): void => {
    this.#cut(failure('timeout', `No complete response within ${this.#options.timeoutMs} ms.`, this.#elapsed()), new Error('timeout'));
  };

  readonly #onAbort = (): void => {
    this.#cut(failure('aborted', 'The send was aborted (the worker is stopping).', this.#elapsed()), new Error('aborted'));
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason !== undefined) controller.abort(this.#abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = statusCode;
    this.#headers = flattenHeaders(headers);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    const room = this.#options.maxResponseBytes - this.#kept;
    if (chunk.length > room) {
      // Nothing more will be kept: stop reading instead of draining a huge body.
      this.#chunks.push(chunk.subarray(0, room));
      this.#kept += room;
      this.#cut(this.#response(true), new Error('response body over the history limit'));
      return;
    }
    this.#chunks.push(chunk);
    this.#kept += chunk.length;
  }

  onResponseEnd(): void {
    this.#finish(this.#response(false));
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#settled) return;
    if (isHooklineError(error) && error.code === 'destination_not_allowed') {
      this.#finish(failure('destination_not_allowed', error.message, this.#elapsed()));
    } else if (this.#status !== 0) {
      this.#finish(failure('connection_failed', 'The response was cut short.', this.#elapsed()));
    } else {
      this.#finish(failure('connection_failed', describe(error), this.#elapsed()));
    }
  }

  #response(truncated: boolean): TransportResult {
    const chunks = this.#chunks;
    const body = chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    return { status: this.#status, headers: this.#headers, body, truncated, durationMs: this.#elapsed() };
  }
}

const TARGET_CACHE_SIZE = 256;

/** A checked destination, split once: its origin (the connection pool) and the path sent. */
interface Target {
  origin: string;
  path: string;
}

function toTarget(url: URL): Target {
  return { origin: url.origin, path: `${url.pathname}${url.search}` };
}

function failure(code: NonNullable<TransportResult['error']>['code'], message: string, durationMs: number): TransportResult {
  return { headers: {}, body: '', truncated: false, error: { code, message }, durationMs };
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}` : error.message;
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
