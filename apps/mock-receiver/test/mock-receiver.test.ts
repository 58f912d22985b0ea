import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createJwtSigner, generateSigningKey } from '@hookline/signer';
import { startMockReceiver, type MockReceiver, type ReceivedSummary } from '../src/index.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function mock(options: Parameters<typeof startMockReceiver>[0] = {}): Promise<MockReceiver> {
  const receiver = await startMockReceiver(options);
  running.push(receiver);
  return receiver;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

async function received(receiver: MockReceiver): Promise<ReceivedSummary> {
  return (await (await fetch(`${receiver.url}/received`)).json()) as ReceivedSummary;
}

/** A tiny HTTP server standing in for hookline's callback route or JWKS. */
async function stub(handler: (path: string, body: string) => { status: number; body: unknown }): Promise<{ url: string; requests: Array<{ path: string; body: string }>; close(): Promise<void> }> {
  const requests: Array<{ path: string; body: string }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ path: req.url ?? '/', body });
      const answer = handler(req.url ?? '/', body);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const closer = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  running.push(closer);
  return closer;
}

function until<T>(probe: () => T | undefined, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      const value = probe();
      if (value !== undefined) return resolve(value);
      if (Date.now() > deadline) return reject(new Error('condition not reached in time'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('mock receiver: recording and behaviour', () => {
  it('records every webhook with its method, path, body and webhook id and answers 200', async () => {
    const receiver = await mock();
    const answer = await post(`${receiver.url}/webhook`, { hello: 'world' }, { 'webhook-id': 'msg_1' });
    expect(answer).toEqual({ status: 200, json: { received: true, seq: 1 } });
    const summary = await received(receiver);
    expect(summary.accepted).toEqual(['msg_1']);
    expect(summary.duplicates).toBe(0);
    expect(summary.webhooks).toHaveLength(1);
    expect(summary.webhooks[0]).toMatchObject({
      seq: 1, method: 'POST', path: '/webhook', body: '{"hello":"world"}', json: { hello: 'world' }, webhookId: 'msg_1',
      verification: { scheme: 'none' }, duplicate: false, response: { status: 200 },
    });
  });

  it('takes the webhook id from the envelope when there is no webhook-id header', async () => {
    const receiver = await mock();
    await post(`${receiver.url}/hooks`, { version: 'v1', webhookId: 'msg_env', event: 'c1.webhooks.v1.PayloadTest', payload: {} });
    expect(receiver.received().accepted).toEqual(['msg_env']);
  });

  it('fails the next N webhooks with the status it was told over HTTP, then succeeds', async () => {
    const receiver = await mock();
    const set = await post(`${receiver.url}/behaviour`, { failTimes: 2, failStatus: 503 });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ failTimes: 2, failStatus: 503, answer: 'ok' });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await post(`${receiver.url}/webhook`, { i }, { 'webhook-id': 'msg_retry' })).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(receiver.received().accepted).toEqual(['msg_retry']);
    expect(receiver.received().duplicates).toBe(0);
  });

  it('counts a webhook id answered 2xx before as a duplicate and does not process it again', async () => {
    const receiver = await mock();
    await post(`${receiver.url}/webhook`, {}, { 'webhook-id': 'msg_dup' });
    const again = await post(`${receiver.url}/webhook`, {}, { 'webhook-id': 'msg_dup' });
    expect(again).toEqual({ status: 200, json: { received: true, duplicate: true } });
    const summary = receiver.received();
    expect(summary.accepted).toEqual(['msg_dup']);
    expect(summary.duplicates).toBe(1);
    expect(summary.webhooks.map((w) => w.duplicate)).toEqual([false, true]);
  });

  it('answers 410 when told the endpoint is gone', async () => {
    const receiver = await mock({ behaviour: { answer: 'gone' } });
    expect((await post(`${receiver.url}/webhook`, {}, { 'webhook-id': 'msg_gone' })).status).toBe(410);
    expect(receiver.received().accepted).toEqual([]);
  });

  it('waits the delay it was told before answering', async () => {
    const receiver = await mock();
    receiver.setBehaviour({ delayMs: 150 });
    const started = performance.now();
    await post(`${receiver.url}/webhook`, {}, { 'webhook-id': 'msg_slow' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('answers 202 and then POSTs the decision to the envelope callbackUrl', async () => {
    const hook = await stub(() => ({ status: 202, body: { status: 'accepted' } }));
    const receiver = await mock({ behaviour: { answer: 'accepted', callback: { decision: 'approve', delayMs: 20, comment: 'fine' } } });
    const answer = await post(`${receiver.url}/webhook`, { version: 'v1', webhookId: 'msg_cb', callbackUrl: `${hook.url}/callbacks/tok`, event: 'x', payload: {} });
    expect(answer.status).toBe(202);
    const callbacks = await until(() => (receiver.received().callbacks.length > 0 ? receiver.received().callbacks : undefined));
    expect(callbacks).toEqual([{ webhookId: 'msg_cb', url: `${hook.url}/callbacks/tok`, body: { version: 'v1', approve: { comment: 'fine' } }, status: 202, responseBody: '{"status":"accepted"}' }]);
    expect(hook.requests).toEqual([{ path: '/callbacks/tok', body: '{"version":"v1","approve":{"comment":"fine"}}' }]);
  });

  it('sends reassign with newStepUserIds', async () => {
    const hook = await stub(() => ({ status: 202, body: {} }));
    const receiver = await mock({ behaviour: { answer: 'accepted', callback: { decision: 'reassign', delayMs: 0, newStepUserIds: ['u1'] } } });
    await post(`${receiver.url}/webhook`, { webhookId: 'msg_re', callbackUrl: `${hook.url}/cb` });
    await until(() => (hook.requests.length > 0 ? true : undefined));
    expect(JSON.parse(hook.requests[0]!.body)).toEqual({ version: 'v1', reassign: { newStepUserIds: ['u1'] } });
  });

  it('refuses a bad behaviour with a coded 400 and keeps the old one', async () => {
    const receiver = await mock({ behaviour: { failTimes: 1 } });
    const answer = await post(`${receiver.url}/behaviour`, { failTimes: -1 });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: { code: 'bad_request', message: 'failTimes must be an integer from 0 to 1000000.', details: { field: 'failTimes' } } });
    expect((await post(`${receiver.url}/behaviour`, { answer: 'maybe' })).status).toBe(400);
    expect((await post(`${receiver.url}/behaviour`, 'not json')).json).toMatchObject({ error: { code: 'invalid_json' } });
    expect((await (await fetch(`${receiver.url}/behaviour`)).json())).toMatchObject({ failTimes: 1 });
  });

  it('forgets everything on POST /reset', async () => {
    const receiver = await mock();
    await post(`${receiver.url}/webhook`, {}, { 'webhook-id': 'a' });
    await post(`${receiver.url}/reset`, {});
    expect(receiver.received()).toEqual({ webhooks: [], accepted: [], duplicates: 0, callbacks: [] });
  });
});

describe('mock receiver: verification', () => {
  it('verifies Standard Webhooks signatures and answers 401 to a bad one', async () => {
    const key = randomBytes(24);
    const secret = `whsec_${key.toString('base64')}`;
    const receiver = await mock({ standardWebhooksSecret: secret });
    const body = '{"type":"x"}';
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', key).update(`msg_sw.${timestamp}.${body}`).digest('base64');
    const headers = { 'webhook-id': 'msg_sw', 'webhook-timestamp': timestamp };
    expect((await post(`${receiver.url}/webhook`, body, { ...headers, 'webhook-signature': `v1,${signature}` })).status).toBe(200);
    const bad = await post(`${receiver.url}/webhook`, body, { ...headers, 'webhook-id': 'msg_sw2', 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}` });
    expect(bad.status).toBe(401);
    const [good, refused] = receiver.received().webhooks;
    expect(good!.verification).toMatchObject({ scheme: 'standard-webhooks', verified: true });
    expect(refused!.verification).toMatchObject({ scheme: 'standard-webhooks', verified: false, error: { code: 'signature_mismatch' } });
    expect(refused!.headers['webhook-signature']).toBe('[redacted]');
    expect(receiver.received().accepted).toEqual(['msg_sw']);
  });

  it('verifies a JWT through the JWKS URL, and refuses one signed by another key', async () => {
    const key = await generateSigningKey();
    const signer = createJwtSigner({ issuer: 'https://sender.example', keys: [key] });
    const jwks = await stub(() => ({ status: 200, body: signer.jwks() }));
    const receiver = await mock({ jwksUrl: `${jwks.url}/auth/v1/jwks`, issuer: 'https://sender.example' });
    const body = '{"version":"v1","webhookId":"msg_jwt"}';
    const target = `${receiver.url}/webhook`;
    const good = await post(target, body, await signer.sign({ method: 'POST', url: target, body }));
    expect(good.status).toBe(200);

    const stranger = createJwtSigner({ issuer: 'https://sender.example', keys: [await generateSigningKey()] });
    const forged = await post(target, body.replace('msg_jwt', 'msg_forged'), await stranger.sign({ method: 'POST', url: target, body: body.replace('msg_jwt', 'msg_forged') }));
    expect(forged.status).toBe(401);

    const [ok, refused] = receiver.received().webhooks;
    expect(ok!.verification).toMatchObject({ scheme: 'jwt', verified: true, claims: { iss: 'https://sender.example', c1typ: 'wh', htm: 'POST', htu: target } });
    expect(ok!.headers.authorization).toBe('[redacted]');
    expect(refused!.verification).toMatchObject({ scheme: 'jwt', verified: false });
    expect(receiver.received().accepted).toEqual(['msg_jwt']);
  });
});
