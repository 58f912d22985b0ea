// Adapters: requests per second for a route that verifies a Standard Webhooks signature (1 KiB body) against the same
// route without verification, per framework, in the same run. Target: verification costs at most 15% (>= 0.85x).
// Each server runs in its own process and autocannon drives it from this one over 127.0.0.1. Two figures per server:
// the wall-clock rate, and requests per CPU-second of the server process. On a shared machine the wall-clock rate
// mostly measures the neighbours; the server's CPU per request is what the rate would be on a core of its own, so the
// target is judged on it. The verified and plain servers alternate (ABBA) so drift weighs on both alike.
import 'reflect-metadata';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { Controller, HttpCode, Module, Post, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { standardWebhooks } from '@hookline/verifier';
import { verifyWebhook as expressVerify } from '@hookline/express';
import { verifyWebhook as koaVerify } from '@hookline/koa';
import { HooklineModule, VerifyWebhook } from '@hookline/nestjs';
import { report } from './lib/measure.mjs';

const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ROUNDS = 6;
// Chosen once by the parent; the server processes inherit them through the environment.
process.env.BENCH_ADAPTERS_SECRET ??= `whsec_${randomBytes(24).toString('base64')}`;
process.env.BENCH_ADAPTERS_TIMESTAMP ??= String(Math.floor(Date.now() / 1000));
const SECRET = process.env.BENCH_ADAPTERS_SECRET;
const BODY = JSON.stringify({ type: 'invoice.paid', data: { pad: 'x'.repeat(1024 - 48) } });
const ID = 'msg_bench';
const TIMESTAMP = Number(process.env.BENCH_ADAPTERS_TIMESTAMP);
const SIGNATURE = createHmac('sha256', Buffer.from(SECRET.slice('whsec_'.length), 'base64')).update(`${ID}.${TIMESTAMP}.${BODY}`).digest('base64');
const HEADERS = { 'content-type': 'application/json', 'webhook-id': ID, 'webhook-timestamp': String(TIMESTAMP), 'webhook-signature': `v1,${SIGNATURE}` };
const verifier = () => standardWebhooks({ secret: SECRET });

// The baseline is the same route as an app writes it without verification: the app's usual body parser reads and
// parses the JSON event and the handler answers the same JSON, so the difference is the verification.
function expressApp(verified) {
  const app = express();
  const handler = (req, res) => res.json({ ok: true, id: req.webhook?.id ?? null });
  if (verified) app.post('/webhook', expressVerify(verifier()), handler);
  else app.post('/webhook', express.json(), handler);
  return listen(createServer(app));
}

function koaApp(verified) {
  const app = new Koa();
  app.use(bodyParser()); // as Koa apps have it; it keeps ctx.request.rawBody, which verifyWebhook uses
  const verify = koaVerify(verifier());
  app.use(async (ctx) => {
    const answer = async () => { ctx.body = { ok: true, id: ctx.state.webhook?.id ?? null }; };
    if (verified) await verify(ctx, answer);
    else await answer();
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

const FRAMEWORKS = { express: expressApp, koa: koaApp, nestjs: nestApp };

// ---- the server process: `node adapters.bench.mjs serve <framework> <plain|verified>`
if (process.argv[2] === 'serve') {
  const server = await FRAMEWORKS[process.argv[3]](process.argv[4] === 'verified');
  process.on('message', async (message) => {
    if (message === 'cpu') process.send({ cpu: process.cpuUsage() });
    if (message === 'close') { await server.close(); process.exit(0); }
  });
  process.send({ url: server.url });
} else {
  await main();
}

function startServerProcess(framework, kind) {
  const child = fork(fileURLToPath(import.meta.url), ['serve', framework, kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // One exit listener for the child's life, not one per message (they piled up past Node's listener warning).
  let failPending = () => {};
  child.once('exit', (code) => failPending(new Error(`${framework} ${kind} exited with ${code}`)));
  const next = () => new Promise((resolve, reject) => {
    failPending = reject;
    child.once('message', resolve);
  });
  return next().then(({ url }) => ({
    url,
    cpuSeconds: async () => { child.send('cpu'); const { cpu } = await next(); return (cpu.user + cpu.system) / 1e6; },
    close: () => { child.send('close'); return new Promise((resolve) => child.once('exit', resolve)); },
  }));
}

async function run(server, duration = DURATION_SECONDS) {
  const check = await fetch(server.url, { method: 'POST', headers: HEADERS, body: BODY });
  if (check.status !== 200) throw new Error(`${server.url} answered ${check.status}: ${await check.text()}`);
  const cpuBefore = await server.cpuSeconds();
  const result = await autocannon({ url: server.url, method: 'POST', headers: HEADERS, body: BODY, connections: 32, pipelining: 1, duration });
  const cpu = (await server.cpuSeconds()) - cpuBefore;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { wall: result.requests.average, perCpuSecond: result.requests.total / cpu };
}

async function measure(framework) {
  const servers = { plain: await startServerProcess(framework, 'plain'), verified: await startServerProcess(framework, 'verified') };
  const runs = { verified: [], plain: [] };
  try {
    // A short warm-up each, so neither side is measured while the JIT is still cold.
    for (const kind of ['plain', 'verified']) await run(servers[kind], 1);
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of round % 2 === 0 ? ['plain', 'verified'] : ['verified', 'plain']) runs[kind].push(await run(servers[kind]));
    }
  } finally {
    await Promise.all([servers.verified.close(), servers.plain.close()]);
  }
  const median = (values) => { const sorted = [...values].sort((a, b) => a - b); return (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2; };
  const figure = (kind, key) => median(runs[kind].map((r) => r[key]));
  return { wall: { plain: figure('plain', 'wall'), verified: figure('verified', 'wall') }, cpu: { plain: figure('plain', 'perCpuSecond'), verified: figure('verified', 'perCpuSecond') } };
}

async function main() {
  const only = process.env.BENCH_FRAMEWORKS?.split(',');
  for (const framework of Object.keys(FRAMEWORKS).filter((name) => !only || only.includes(name))) {
    const { wall, cpu } = await measure(framework);
    const plain = `${framework} without verification`;
    const verified = `${framework} verifyWebhook(standardWebhooks)`;
    const target = { [verified]: { against: plain, atLeast: 0.85 } };
    report(`adapters: ${framework}, POST 1 KiB, Standard Webhooks verification vs none, per server CPU-second (the target)`, [
      { name: plain, value: cpu.plain },
      { name: verified, value: cpu.verified },
    ], { unit: 'req/CPU-s', targets: target });
    report(`adapters: ${framework}, same runs, wall-clock (autocannon, 32 connections; shared machine, informative)`, [
      { name: plain, value: wall.plain },
      { name: verified, value: wall.verified },
    ], { unit: 'req/s', targets: { [verified]: { against: plain, atLeast: 0.85 } } });
  }
}
