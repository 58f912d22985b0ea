import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
  close(): void;
}

export interface TransportOptions {
  policy: ResolvedPolicy;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Sockets kept per origin. */
  maxSockets?: number;
}

/**
 * node:http(s) with keep-alive agents and the guarded resolver. Redirects are never followed (node:http does not
 * follow them), so a 3xx comes back as a response like any other.
 */
export function createTransport(options: TransportOptions): Transport {
  const lookup = guardedLookup(options.policy);
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64, lookup } as const;
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);

  function send(request: TransportRequest): Promise<TransportResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = checkUrl(request.url, options.policy);
    } catch (error) {
      return Promise.resolve(failure('destination_not_allowed', isHooklineError(error) ? error.message : 'Destination refused.', 0));
    }
    return new Promise<TransportResult>((resolve) => {
      let settled = false;
      const finish = (result: TransportResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const isHttps = url.protocol === 'https:';
      const req = (isHttps ? httpsRequest : httpRequest)(url, {
        method: request.method,
        headers: { ...request.headers, 'content-length': String(request.body.byteLength) },
        agent: isHttps ? httpsAgent : httpAgent,
        lookup,
      });
      // One deadline for connect, headers and body: a receiver that trickles bytes still times out.
      const timer = setTimeout(() => {
        finish(failure('timeout', `No complete response within ${options.timeoutMs} ms.`, elapsed()));
        req.destroy();
      }, options.timeoutMs);
      const onAbort = () => {
        finish(failure('aborted', 'The send was aborted (the worker is stopping).', elapsed()));
        req.destroy();
      };
      if (request.signal?.aborted) return onAbort();
      request.signal?.addEventListener('abort', onAbort, { once: true });

      req.on('error', (error: Error) => {
        if (isHooklineError(error) && error.code === 'destination_not_allowed') {
          finish(failure('destination_not_allowed', error.message, elapsed()));
        } else {
          finish(failure('connection_failed', describe(error), elapsed()));
        }
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        let truncated = false;
        res.on('data', (chunk: Buffer) => {
          if (truncated) return;
          const room = options.maxResponseBytes - kept;
          if (chunk.length > room) {
            chunks.push(chunk.subarray(0, room));
            kept += room;
            truncated = true;
            // Nothing more will be kept: stop reading instead of draining a huge body.
            done();
            req.destroy();
            return;
          }
          chunks.push(chunk);
          kept += chunk.length;
        });
        const done = () =>
          finish({
            status: res.statusCode ?? 0,
            headers: flattenHeaders(res.headers),
            body: Buffer.concat(chunks).toString('utf8'),
            truncated,
            durationMs: elapsed(),
          });
        res.on('end', done);
        res.on('error', (error) => finish(failure('connection_failed', describe(error), elapsed())));
        res.on('aborted', () => finish(failure('connection_failed', 'The response was cut short.', elapsed())));
      });
      req.end(request.body);
    });
  }

  return {
    send,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function failure(code: NonNullable<TransportResult['error']>['code'], message: string, durationMs: number): TransportResult {
  return { headers: {}, body: '', truncated: false, error: { code, message }, durationMs };
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}` : error.message;
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
