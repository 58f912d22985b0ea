import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolvePolicy } from '../../src/outbound/destination.js';
import { createTransport, type Transport } from '../../src/outbound/transport.js';

// The transport on its own, against real servers on 127.0.0.1: what a send returns in each way a receiver can behave.
const development = resolvePolicy({ allowHttp: true, allowPrivateNetworks: true });
const body = Buffer.from('{"hello":"world"}');

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; seen: () => number }> {
  let seen = 0;
  const server = createServer((req, res) => {
    seen += 1;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?x=1`, seen: () => seen };
}

function transport(overrides: { timeoutMs?: number; maxResponseBytes?: number } = {}): Transport {
  const created = createTransport({ policy: development, timeoutMs: overrides.timeoutMs ?? 5_000, maxResponseBytes: overrides.maxResponseBytes ?? 64 * 1024 });
  cleanup.push(() => created.close());
  return created;
}

const post = (url: string, extra: { signal?: AbortSignal } = {}) => ({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, ...extra });

describe('transport', () => {
  it('sends method, path, query, headers and body, and returns status, flattened headers and body', async () => {
    let received: { method?: string; url?: string; type?: string; length?: string; body: string } = { body: '' };
    const { url } = await serve((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        received = { method: req.method, url: req.url, type: req.headers['content-type'], length: req.headers['content-length'], body: text };
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(201, { 'x-answer': '42' }).end('created');
      });
    });
    const result = await transport().send(post(url));
    expect(received).toEqual({ method: 'POST', url: '/hook?x=1', type: 'application/json', length: String(body.length), body: body.toString() });
    expect(result).toMatchObject({ status: 201, body: 'created', truncated: false });
    expect(result.headers['x-answer']).toBe('42');
    expect(result.headers['set-cookie']).toBe('a=1, b=2');
    expect(result.error).toBeUndefined();
  });

  it('returns a redirect as a response and does not follow it', async () => {
    const target = await serve((_req, res) => res.writeHead(200).end());
    const { url } = await serve((_req, res) => res.writeHead(302, { location: target.url }).end());
    const result = await transport().send(post(url));
    expect(result.status).toBe(302);
    expect(target.seen()).toBe(0);
  });

  it('keeps at most maxResponseBytes of a huge body, marks it truncated and stops reading', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'y'.repeat(16 * 1024);
      // Far more than is kept; the transport must settle without waiting for all of it.
      for (let i = 0; i < 64; i++) res.write(chunk);
      res.end();
    });
    const result = await transport({ maxResponseBytes: 1000 }).send(post(url));
    expect(result).toMatchObject({ status: 200, truncated: true });
    expect(result.body).toBe('y'.repeat(1000));
  });

  it('reports a response cut off mid-body as connection_failed', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const result = await transport().send(post(url));
    expect(result.error).toEqual({ code: 'connection_failed', message: 'The response was cut short.' });
  });

  it('times out a receiver that trickles its answer, within one deadline for the whole exchange', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200);
      const drip = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(drip));
    });
    const started = Date.now();
    const result = await transport({ timeoutMs: 300 }).send(post(url));
    expect(result.error?.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('reports a refused connection as connection_failed with the system code', async () => {
    const { url } = await serve(() => {});
    const closed = url.replace(/:\d+\//, ':1/');
    const result = await transport().send(post(closed));
    expect(result.error?.code).toBe('connection_failed');
    expect(result.error?.message).toMatch(/ECONNREFUSED/);
  });

  it('stops a send when its signal aborts, before or during the exchange', async () => {
    const { url, seen } = await serve(() => {
      /* never answers */
    });
    const sender = transport();
    const before = new AbortController();
    before.abort();
    expect((await sender.send(post(url, { signal: before.signal }))).error?.code).toBe('aborted');
    const during = new AbortController();
    const pending = sender.send(post(url, { signal: during.signal }));
    while (seen() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    during.abort();
    expect((await pending).error?.code).toBe('aborted');
  });

  it('refuses a URL carrying credentials rather than sending without them', async () => {
    const { url } = await serve((_req, res) => res.writeHead(200).end());
    const result = await transport().send(post(url.replace('http://', 'http://user:pass@')));
    expect(result.error?.code).toBe('destination_not_allowed');
  });

  it('opens new connections after close(), so a restarted dispatcher sends again', async () => {
    const { url } = await serve((_req, res) => res.writeHead(204).end());
    const sender = transport();
    expect((await sender.send(post(url))).status).toBe(204);
    await sender.close();
    expect((await sender.send(post(url))).status).toBe(204);
  });

  it('verifies TLS certificates: a self-signed receiver is a connection failure and never sees the request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookline-tls-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    let seen = 0;
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => {
      seen += 1;
      res.writeHead(200).end();
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const result = await transport().send(post(`https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`));
    expect(result.error?.code).toBe('connection_failed');
    expect(result.error?.message).toMatch(/self[- ]signed|certificate/i);
    expect(seen).toBe(0);
  });
});
