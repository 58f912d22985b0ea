// Adapters: requests per second for a route that verifies a Standard Webhooks signature (1 KiB body) against the same
// route without verification, per framework, in the same run. Target: verification costs at most 15% (>= 0.85x).
// autocannon drives each server on 127.0.0.1; the verified and plain servers alternate so drift hits both alike.
import 'reflect-metadata';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import autocannon from 'autocannon';
import express from 'express';
import Koa from 'koa';
import { Controller, HttpCode, Module, Post, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { standardWebhooks } from '@hookline/verifier';
import { verifyWebhook as expressVerify } from '@hookline/express';
import { verifyWebhook as koaVerify } from '@hookline/koa';
import { HooklineModule, VerifyWebhook } from '@hookline/nestjs';
import { report } from './lib/measure.mjs';

const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);
const ROUNDS = 4;
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const BODY = JSON.stringify({ type: 'invoice.paid', data: { pad: 'x'.repeat(1024 - 48) } });
const ID = 'msg_bench';
const TIMESTAMP = Math.floor(Date.now() / 1000);
const SIGNATURE = createHmac('sha256', Buffer.from(SECRET.slice('whsec_'.length), 'base64')).update(`${ID}.${TIMESTAMP}.${BODY}`).digest('base64');
const HEADERS = { 'content-type': 'application/json', 'webhook-id': ID, 'webhook-timestamp': String(TIMESTAMP), 'webhook-signature': `v1,${SIGNATURE}` };
const verifier = () => standardWebhooks({ secret: SECRET });

// The baseline is the same route as an app writes it without verification: it reads and parses the JSON event and
// answers the same JSON, so the difference is the verification (and the raw-byte handling it needs).
async function rawBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function expressApp(verified) {
  const app = express();
  const handler = (req, res) => res.json({ ok: true, id: req.webhook?.id ?? null });
  if (verified) app.post('/webhook', expressVerify(verifier()), handler);
  else app.post('/webhook', express.json(), handler);
  return listen(createServer(app));
}

function koaApp(verified) {
  const app = new Koa();
  const verify = koaVerify(verifier());
  app.use(async (ctx) => {
    const answer = async () => { ctx.body = { ok: true, id: ctx.state.webhook?.id ?? null }; };
    if (verified) await verify(ctx, answer);
    else { JSON.parse((await rawBody(ctx.req)).toString('utf8')); await answer(); }
  });
  return listen(createServer(app.callback()));
}

// Plain ESM has no decorator syntax: the decorators are applied as the compiler would.
function route(controller, method, decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(controller.prototype, method);
  Reflect.decorate(decorators, controller.prototype, method, descriptor);
  Req()(controller.prototype, method, 0);
  Reflect.decorate([Controller()], controller);
}

async function nestApp(verified) {
  class WebhookController {
    receive(req) { return { ok: true, id: req.webhook?.id ?? null }; }
  }
  route(WebhookController, 'receive', [Post('webhook'), HttpCode(200), ...(verified ? [VerifyWebhook('bench')] : [])]);
  class AppModule {}
  Reflect.decorate([Module({
    imports: [HooklineModule.forRoot({ hookline: { store: {}, close: async () => {} }, verifiers: { bench: verifier() } })],
    controllers: [WebhookController],
  })], AppModule);
  const app = await NestFactory.create(AppModule, { logger: false, rawBody: true });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer();
  return { url: `http://127.0.0.1:${server.address().port}/webhook`, close: () => app.close() };
}

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${server.address().port}/webhook`, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function requestsPerSecond(url, duration = DURATION_SECONDS) {
  const check = await fetch(url, { method: 'POST', headers: HEADERS, body: BODY });
  if (check.status !== 200) throw new Error(`${url} answered ${check.status}: ${await check.text()}`);
  const result = await autocannon({ url, method: 'POST', headers: HEADERS, body: BODY, connections: 32, pipelining: 1, duration });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.average;
}

async function measure(start) {
  const servers = { verified: await start(true), plain: await start(false) };
  const rates = { verified: [], plain: [] };
  try {
    // A short warm-up each, so neither side is measured while the JIT is still cold.
    for (const kind of ['plain', 'verified']) await requestsPerSecond(servers[kind].url, 1);
    // ABBA order: whatever drifts during the run (a neighbour's load) weighs on both sides alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of round % 2 === 0 ? ['plain', 'verified'] : ['verified', 'plain']) rates[kind].push(await requestsPerSecond(servers[kind].url));
    }
  } finally {
    await Promise.all([servers.verified.close(), servers.plain.close()]);
  }
  const median = (values) => { const sorted = [...values].sort((a, b) => a - b); return (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2; };
  return { verified: median(rates.verified), plain: median(rates.plain) };
}

for (const [name, start] of [['express', expressApp], ['koa', koaApp], ['nestjs', nestApp]]) {
  const { verified, plain } = await measure(start);
  report(`adapters: ${name}, POST 1 KiB, Standard Webhooks verification vs none (autocannon, 32 connections)`, [
    { name: `${name} without verification`, value: plain },
    { name: `${name} verifyWebhook(standardWebhooks)`, value: verified },
  ], { unit: 'req/s', targets: { [`${name} verifyWebhook(standardWebhooks)`]: { against: `${name} without verification`, atLeast: 0.85 } } });
}
