/**
 * Runs the BUILT reference server (`dist/cli.js`) as a real child process on 127.0.0.1 with a temporary data
 * directory, and talks to it over real HTTP.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

// A failed hook or a timed-out test must not leave a server running after the test worker exits.
const children = new Set<ChildProcessWithoutNullStreams>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export function tempDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'hookline-e2e-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Every stdout line that is a pino JSON record, parsed. */
  logs(): Array<Record<string, unknown>>;
  waitForLine(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
}

export interface SpawnOptions {
  dataDir: string;
  env?: Record<string, string>;
  args?: string[];
  /** Resolve once this stdout line appears (default: the pino "listening" record). */
  ready?: (line: string) => boolean;
}

/** Starts `node dist/cli.js` and resolves once it listens. */
export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx turbo run build --filter=@hookline/reference-server...)`);
  const child = spawn(process.execPath, [CLI, ...(options.args ?? [])], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      HOOKLINE_DATA_DIR: options.dataDir,
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLINE_DEV: '1',
      LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines: string[] = [];
  const waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();
  let stderr = '';
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      lines.push(line);
      for (const waiter of waiters) {
        if (waiter.test(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
      newline = buffered.indexOf('\n');
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLine = (test: (line: string) => boolean, timeoutMs = 10_000): Promise<string> => {
    const seen = lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: (line: string) => { clearTimeout(timer); resolve(line); } };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching line within ${timeoutMs} ms.\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then((code) => {
        if (!waiters.has(waiter)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}) first.\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
      });
    });
  };

  let ready: string;
  try {
    ready = await waitForLine(options.ready ?? ((line) => line.includes('"msg":"hookline reference server listening"')));
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const url = /https?:\/\/127\.0\.0\.1:\d+/.exec(ready)?.[0];
  if (url === undefined) throw new Error(`no URL in the ready line: ${ready}`);

  return {
    url,
    child,
    lines,
    logs: () => lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>),
    waitForLine,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    admin: (method, path, body) => request(method, `${url}${path}`, body, { authorization: `Bearer ${ADMIN_TOKEN}` }),
  };
}

export async function request(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
