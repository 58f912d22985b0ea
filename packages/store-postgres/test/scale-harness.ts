import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Bundles the worker script from the workspace sources, so child processes never run a stale dist/. */
export async function bundleWorker(outDir: string): Promise<string> {
  const outfile = join(outDir, 'scale-worker.cjs');
  const alias: Record<string, string> = { hookline: join(root, 'packages/hookline/src/index.ts') };
  for (const name of readdirSync(join(root, 'packages'))) {
    if (name !== 'hookline') alias[`@hookline/${name}`] = join(root, `packages/${name}/src/index.ts`);
  }
  await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/scale-worker.mjs', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['pg', 'pg-native', 'better-sqlite3'],
    alias,
    nodePaths: [join(root, 'node_modules')],
    logLevel: 'silent',
  });
  return outfile;
}

export interface ProcessConfig {
  connectionString: string;
  schema: string;
  secretKey: string;
  receiverUrl: string;
  endpoints: string[];
  messages?: number;
  workerIndex?: number;
  leaseMs?: number;
  perEndpointConcurrency?: number;
  concurrency?: number;
  pollIntervalMs?: number;
  /** Publish one message at a time with this pause between them, instead of 16 at once. */
  publishIntervalMs?: number;
  /** Workers print a `claim` line for each claim they make. */
  reportClaims?: boolean;
}

export function newSecretKey(): string {
  return randomBytes(32).toString('hex');
}

export type Child = ChildProcessByStdio<null, Readable, Readable>;

export function spawnProcess(worker: string, mode: 'setup' | 'publish' | 'worker', config: ProcessConfig): { child: Child; lines: string[]; stderr: string[] } {
  const child = spawn(process.execPath, [worker, mode, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => stderr.push(chunk));
  return { child, lines, stderr };
}

export async function runToEnd(worker: string, mode: 'setup' | 'publish', config: ProcessConfig): Promise<string[]> {
  const { child, lines, stderr } = spawnProcess(worker, mode, config);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${mode} exited with ${code}: ${stderr.join('')}`);
  return lines;
}

export async function waitForLine(lines: string[], line: string, timeoutMs = 20_000): Promise<void> {
  await until(() => lines.includes(line), timeoutMs, `"${line}"`);
}

/** Waits for something another process does (a delivery, a line of output), failing after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A receiver on 127.0.0.1 that deduplicates by message id and remembers which worker sent what. */
export class CountingReceiver {
  readonly arrivals = new Map<string, number>();
  readonly byWorker = new Map<string, number>();
  readonly inFlight = new Map<string, number>();
  readonly maxInFlight = new Map<string, number>();
  /** Distinct message ids per path. */
  readonly byPath = new Map<string, Set<string>>();
  delayMs: Record<string, number> = {};
  #server: Server | undefined;

  get distinct(): number {
    return this.arrivals.size;
  }

  get duplicates(): number {
    let extra = 0;
    for (const count of this.arrivals.values()) extra += count - 1;
    return extra;
  }

  async listen(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server === undefined ? resolve() : this.#server.close(() => resolve())));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    const current = (this.inFlight.get(path) ?? 0) + 1;
    this.inFlight.set(path, current);
    this.maxInFlight.set(path, Math.max(this.maxInFlight.get(path) ?? 0, current));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const header = req.headers['webhook-id'];
    const id = typeof header === 'string' ? header : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { webhookId: string }).webhookId;
    const delay = this.delayMs[path] ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    this.arrivals.set(id, (this.arrivals.get(id) ?? 0) + 1);
    if (!this.byPath.has(path)) this.byPath.set(path, new Set());
    this.byPath.get(path)!.add(id);
    const worker = String(req.headers['user-agent']);
    this.byWorker.set(worker, (this.byWorker.get(worker) ?? 0) + 1);
    this.inFlight.set(path, (this.inFlight.get(path) ?? 1) - 1);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  }
}
