// Provider presets: verify ops/s against each provider's official Node library and against raw node:crypto on the
// same bytes, in one run. Build first: npx turbo run build --filter=@hookline/verifier...
import {
  createHmac, createSecretKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, timingSafeEqual,
} from 'node:crypto';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { EventWebhook } from '@sendgrid/eventwebhook';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import twilioLib from 'twilio';
import {
  github, meta, pagerduty, sendgrid, shopify, slack, standardWebhooks, stripe, twilio, x, zendesk,
} from '@hookline/verifier';
import { opsPerSecond, report } from './lib/measure.mjs';

const BODY = JSON.stringify({
  id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy', object: 'event', type: 'invoice.paid',
  data: { object: { id: 'in_1', note: 'x'.repeat(800) } },
}).slice(0, 1024).padEnd(1024, ' ');
const BODY_BYTES = new TextEncoder().encode(BODY);
const SECRET = 'bench-secret-0123456789abcdef';
// Providers' timestamps must be fresh for the official libraries, which read the real clock.
const NOW = Math.floor(Date.now() / 1000);
const KEY = createSecretKey(Buffer.from(SECRET));

const hex = (...parts) => parts.reduce((mac, part) => mac.update(part), createHmac('sha256', SECRET)).digest('hex');
const b64 = (...parts) => parts.reduce((mac, part) => mac.update(part), createHmac('sha256', SECRET)).digest('base64');

/**
 * What a careful hand-written check costs: decode the header's signature, one HMAC with a cached key, length check,
 * timingSafeEqual. `decode` turns the header value into bytes, as any verifier must on every request.
 */
function rawHmac(algorithm, parts, header, decode) {
  return async () => {
    const mac = createHmac(algorithm, KEY);
    for (const part of parts) mac.update(part);
    const expected = mac.digest();
    const signature = decode(header);
    if (!(signature.length === expected.length && timingSafeEqual(signature, expected))) throw new Error('mismatch');
  };
}
const fromHexAfter = (prefix) => (value) => Buffer.from(value.slice(prefix.length), 'hex');
const fromBase64After = (prefix) => (value) => Buffer.from(value.slice(prefix.length), 'base64');

async function mustPass(label, fn) {
  try {
    const result = await fn();
    if (result === false) throw new Error('returned false');
  } catch (error) {
    throw new Error(`${label} refused the benchmark request: ${error.message}`);
  }
}

const HOOKLINE = 'hookline';
const RAW = 'node:crypto HMAC + timingSafeEqual';
const ROUNDS = Number(process.env.ROUNDS ?? 15);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Measures the rows in alternating short rounds, so a neighbour's load on this shared machine hits every row alike;
 * each ratio is the median of the per-round ratios. ROUNDS=41 in the environment for steadier figures.
 */
async function measureTogether(rows) {
  const rates = rows.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order too, so the garbage one row leaves behind does not always land on the next.
    const order = round % 2 === 0 ? rows.map((_, i) => i) : rows.map((_, i) => rows.length - 1 - i);
    for (const i of order) {
      const row = rows[i];
      const warmup = round === 0 ? (row.warmup ?? 300) : Math.min(row.warmup ?? 20, 20);
      rates[i].push(await opsPerSecond(row.fn, { rounds: 1, minMs: 50, warmup }));
    }
  }
  return {
    values: rows.map((row, i) => ({ name: row.name, value: median(rates[i]) })),
    ratio: (i, j) => median(rates[i].map((rate, round) => rate / rates[j][round])),
  };
}

function verdict(label, ratio, atLeast) {
  console.log(`${label}: ${ratio.toFixed(2)}x (target >= ${atLeast}x: ${ratio >= atLeast ? 'PASS' : 'MISS'})`);
}

/** One table per preset: hookline, raw node:crypto, and the official library where there is one. */
async function compare(title, { ours, raw, rawName = RAW, official, officialName, officialWarmup }) {
  const rows = [{ name: HOOKLINE, fn: ours }, { name: rawName, fn: raw }];
  if (official !== undefined) rows.push({ name: officialName, fn: official, warmup: officialWarmup });
  const { values, ratio } = await measureTogether(rows);
  report(title, values);
  verdict(`${HOOKLINE} / ${rawName}`, ratio(0, 1), 0.8);
  if (official !== undefined) verdict(`${HOOKLINE} / ${officialName}`, ratio(0, 2), 0.95);
}

const post = (headers) => ({ method: 'POST', url: '/in/source', headers: { 'content-type': 'application/json', ...headers }, body: BODY_BYTES });

// ---- GitHub -------------------------------------------------------------------------------------------------------
{
  const signature = `sha256=${hex(BODY)}`;
  const request = post({ 'x-hub-signature-256': signature, 'x-github-delivery': 'd-1', 'x-github-event': 'push' });
  const verifier = github({ secret: SECRET });
  const ours = () => verifier.verify(request);
  const official = () => octokitVerify(SECRET, BODY, signature);
  await mustPass('hookline github', ours);
  await mustPass('@octokit/webhooks-methods', official);
  await compare('GitHub verify, 1 KiB', {
    ours, official, officialName: '@octokit/webhooks-methods verify',
    raw: rawHmac('sha256', [BODY_BYTES], signature, fromHexAfter('sha256=')),
  });
}

// ---- Stripe -------------------------------------------------------------------------------------------------------
{
  const secret = 'whsec_bench_0123456789';
  const v1 = createHmac('sha256', secret).update(`${NOW}.`).update(BODY).digest('hex');
  const header = `t=${NOW},v1=${v1}`;
  const request = post({ 'stripe-signature': header });
  const verifier = stripe({ secret });
  const client = new Stripe('sk_test_bench');
  const ours = () => verifier.verify(request);
  const official = async () => client.webhooks.constructEvent(BODY, header, secret);
  const key = createSecretKey(Buffer.from(secret));
  const raw = async () => {
    const mac = createHmac('sha256', key).update(`${NOW}.`).update(BODY_BYTES).digest();
    const given = Buffer.from(header.slice(header.indexOf('v1=') + 3), 'hex');
    if (!(given.length === mac.length && timingSafeEqual(given, mac))) throw new Error('mismatch');
  };
  await mustPass('hookline stripe', ours);
  await mustPass('stripe.webhooks.constructEvent', official);
  await compare('Stripe verify, 1 KiB', { ours, raw, official, officialName: 'stripe.webhooks.constructEvent' });
  // constructEvent also parses the JSON; ours parses only when the payload is read. Both costs, side by side:
  const withPayload = async () => (await verifier.verify(request)).payload;
  const { ratio } = await measureTogether([{ name: 'with payload', fn: withPayload }, { name: 'constructEvent', fn: official }]);
  verdict('hookline stripe + reading the payload / stripe.webhooks.constructEvent', ratio(0, 1), 0.95);
}

// ---- Twilio -------------------------------------------------------------------------------------------------------
{
  const fields = {
    AccountSid: 'AC0123456789abcdef0123456789abcdef', ApiVersion: '2010-04-01', Body: 'hello '.repeat(100).trim(),
    From: '+14158675309', MessageSid: 'SM0123456789abcdef0123456789abcdef', NumMedia: '0', To: '+18005551212',
  };
  const form = new URLSearchParams(fields).toString();
  const url = 'https://hooks.example.com/in/sms?source=twilio';
  const signature = twilioLib.getExpectedTwilioSignature(SECRET, url, fields);
  const request = {
    method: 'POST', url: '/in/sms?source=twilio',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body: form,
  };
  const verifier = twilio({ secret: SECRET, publicUrl: 'https://hooks.example.com' });
  const ours = () => verifier.verify(request);
  // twilio.validateRequest needs the fields parsed from the raw body, as express.urlencoded would; hookline parses too.
  const official = async () => twilioLib.validateRequest(SECRET, signature, url, Object.fromEntries(new URLSearchParams(form)));
  const raw = async () => {
    const params = Object.fromEntries(new URLSearchParams(form));
    const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], url);
    const mac = createHmac('sha1', KEY).update(data).digest();
    const given = Buffer.from(signature, 'base64');
    if (!(given.length === mac.length && timingSafeEqual(given, mac))) throw new Error('mismatch');
  };
  await mustPass('hookline twilio', ours);
  await mustPass('twilio.validateRequest', official);
  await compare('Twilio verify, form of 7 fields (parsing included for all)', { ours, raw, official, officialName: 'twilio.validateRequest' });
}

// ---- SendGrid (ECDSA P-256) ---------------------------------------------------------------------------------------
{
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const body = `[${BODY}]\r\n`;
  const bodyBytes = new TextEncoder().encode(body);
  const signature = cryptoSign('sha256', Buffer.from(`${NOW}${body}`), pair.privateKey).toString('base64');
  const request = {
    method: 'POST', url: '/in/sendgrid',
    headers: { 'x-twilio-email-event-webhook-timestamp': String(NOW), 'x-twilio-email-event-webhook-signature': signature },
    body: bodyBytes,
  };
  const verifier = sendgrid({ publicKey });
  const eventWebhook = new EventWebhook();
  const ecdsaKey = eventWebhook.convertPublicKeyToECDSA(publicKey);
  const ours = () => verifier.verify(request);
  const official = async () => eventWebhook.verifySignature(ecdsaKey, body, signature, String(NOW));
  const raw = async () => {
    const signed = Buffer.concat([Buffer.from(String(NOW)), bodyBytes]);
    if (!cryptoVerify('sha256', signed, pair.publicKey, Buffer.from(signature, 'base64'))) throw new Error('mismatch');
  };
  await mustPass('hookline sendgrid', ours);
  await mustPass('@sendgrid/eventwebhook', official);
  await compare('SendGrid verify (ECDSA P-256), 1 KiB', {
    ours, raw, rawName: 'node:crypto ECDSA verify', official, officialName: '@sendgrid/eventwebhook verifySignature', officialWarmup: 10,
  });
}

// ---- Standard Webhooks (the foundation verifier, through the same table) ------------------------------------------
{
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const reference = new Webhook(secret);
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const signature = reference.sign(id, new Date(NOW * 1000), BODY);
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(NOW), 'webhook-signature': signature };
  const request = post(headers);
  const verifier = standardWebhooks({ secret });
  const ours = () => verifier.verify(request);
  const official = async () => reference.verify(BODY, headers);
  const key = createSecretKey(Buffer.from(secret.slice(6), 'base64'));
  const raw = async () => {
    const mac = createHmac('sha256', key).update(`${id}.${NOW}.`).update(BODY_BYTES).digest();
    const given = Buffer.from(signature.slice(3), 'base64');
    if (!(given.length === mac.length && timingSafeEqual(given, mac))) throw new Error('mismatch');
  };
  await mustPass('hookline standardWebhooks', ours);
  await mustPass('standardwebhooks', official);
  await compare('Standard Webhooks verify, 1 KiB', { ours, raw, official, officialName: 'standardwebhooks verify' });
}

// ---- Presets without an official Node verifier: against raw node:crypto only ---------------------------------------
const zendeskStamp = new Date(NOW * 1000).toISOString().replace('.000Z', 'Z');
const slackSignature = `v0=${hex(`v0:${NOW}:`, BODY)}`;
const zendeskSignature = b64(zendeskStamp, BODY);
const hmacOnly = [
  ['Slack', slack({ secret: SECRET }), { 'x-slack-request-timestamp': String(NOW), 'x-slack-signature': slackSignature },
    ['sha256', [`v0:${NOW}:`, BODY_BYTES], slackSignature, fromHexAfter('v0=')]],
  ['PagerDuty', pagerduty({ secret: SECRET }), { 'x-pagerduty-signature': `v1=${hex(BODY)}` },
    ['sha256', [BODY_BYTES], `v1=${hex(BODY)}`, fromHexAfter('v1=')]],
  ['Zendesk', zendesk({ secret: SECRET }), { 'x-zendesk-webhook-signature-timestamp': zendeskStamp, 'x-zendesk-webhook-signature': zendeskSignature },
    ['sha256', [zendeskStamp, BODY_BYTES], zendeskSignature, fromBase64After('')]],
  ['Shopify', shopify({ secret: SECRET }), { 'x-shopify-hmac-sha256': b64(BODY), 'x-shopify-webhook-id': 'w-1' },
    ['sha256', [BODY_BYTES], b64(BODY), fromBase64After('')]],
  ['X', x({ secret: SECRET }), { 'x-twitter-webhooks-signature': `sha256=${b64(BODY)}` },
    ['sha256', [BODY_BYTES], `sha256=${b64(BODY)}`, fromBase64After('sha256=')]],
  ['Meta', meta({ secret: SECRET }), { 'x-hub-signature-256': `sha256=${hex(BODY)}` },
    ['sha256', [BODY_BYTES], `sha256=${hex(BODY)}`, fromHexAfter('sha256=')]],
];
for (const [title, verifier, headers, [algorithm, parts, header, decode]] of hmacOnly) {
  const request = post(headers);
  const ours = () => verifier.verify(request);
  const raw = rawHmac(algorithm, parts, header, decode);
  await mustPass(`hookline ${title}`, ours);
  await mustPass(`raw ${title}`, raw);
  await compare(`${title} verify, 1 KiB`, { ours, raw });
}
