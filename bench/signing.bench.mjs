// Signing and verifying hookline's own schemes against raw node:crypto and the reference libraries, one run.
// Build first: npx turbo run build --filter=@hookline/signer --filter=@hookline/verifier
import { createHmac, createPublicKey, createSecretKey, sign as cryptoSign, verify as cryptoVerify, timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import { createJwtSigner, createStandardSigner, exportSigningKey, generateSigningKey } from '@hookline/signer';
import { jwt, standardWebhooks } from '@hookline/verifier';
import { opsPerSecond, report } from './lib/measure.mjs';

/**
 * Measures rows in alternating short rounds and keeps each row's median, so load from other processes on a shared
 * machine lands on every row alike instead of on whichever row ran during it.
 */
async function interleaved(rows, { rounds = 9, minMs = 150 } = {}) {
  const rates = rows.map(() => []);
  for (const row of rows) await opsPerSecond(row.fn, { rounds: 1, minMs: 50, warmup: 200 });
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < rows.length; i++) rates[i].push(await opsPerSecond(rows[i].fn, { rounds: 1, minMs, warmup: 0 }));
  }
  return rows.map((row, i) => {
    const sorted = rates[i].sort((a, b) => a - b);
    return { name: row.name, value: sorted[Math.floor(sorted.length / 2)] };
  });
}

const BODY = JSON.stringify({
  version: 'v1', webhookId: 'msg_2fCjnQxpBRyaQQgPO3rW6EWNdld', callbackUrl: 'https://hooks.example/callbacks/abc',
  event: { '@type': 'c1.webhooks.v1.PayloadProvisionStep' }, payload: { note: 'x'.repeat(700) },
}).slice(0, 1024).padEnd(1024, ' ');
const BODY_BYTES = new TextEncoder().encode(BODY);
const URL_ = 'https://receiver.example/in/c1';

// ---- Standard Webhooks verify, 1 KiB body -------------------------------------------------------------------------
{
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const headers = createStandardSigner({ secret }).sign({ id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', body: BODY_BYTES });
  const request = { method: 'POST', url: '/in/sw', headers: { ...headers, 'content-type': 'application/json' }, body: BODY_BYTES };
  const verifier = standardWebhooks({ secret });

  const rawKey = createSecretKey(Buffer.from(secret.slice(6), 'base64'));
  const rawVerify = async () => {
    const mac = createHmac('sha256', rawKey)
      .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.`).update(BODY_BYTES).digest();
    const given = Buffer.from(headers['webhook-signature'].slice(3), 'base64');
    if (!(given.length === mac.length && timingSafeEqual(given, mac))) throw new Error('mismatch');
  };
  const decoder = new TextDecoder();
  // Like for like: what a verifier returns (the parsed payload), which the bare HMAC row does not do.
  const rawVerifyAndParse = async () => {
    await rawVerify();
    return JSON.parse(decoder.decode(BODY_BYTES));
  };
  const reference = new Webhook(secret);

  await verifier.verify(request); // correctness before speed
  await rawVerify();
  reference.verify(BODY, headers);

  const rows = await interleaved([
    { name: 'node:crypto HMAC + timingSafeEqual', fn: rawVerify },
    { name: 'node:crypto HMAC + timingSafeEqual + JSON.parse', fn: rawVerifyAndParse },
    { name: 'standardwebhooks npm', fn: async () => reference.verify(BODY, headers) },
    { name: 'hookline standardWebhooks().verify', fn: () => verifier.verify(request) },
  ]);
  const ours = rows[3].value;
  report('Standard Webhooks verify, 1 KiB body', [
    ...rows,
    { name: 'hookline vs raw + JSON.parse', value: ours },
    { name: 'hookline vs standardwebhooks npm', value: ours },
  ], {
    targets: {
      'hookline standardWebhooks().verify': { against: 'node:crypto HMAC + timingSafeEqual', atLeast: 0.8 },
      'hookline vs raw + JSON.parse': { against: 'node:crypto HMAC + timingSafeEqual + JSON.parse', atLeast: 0.8 },
      'hookline vs standardwebhooks npm': { against: 'standardwebhooks npm', atLeast: 3 },
    },
  });
}

// ---- JWT sign and verify, ES256 and EdDSA -------------------------------------------------------------------------
for (const alg of ['ES256', 'EdDSA']) {
  const key = await generateSigningKey(alg);
  const signer = createJwtSigner({ issuer: 'acme.example', keys: [key] });
  const joseKey = await importJWK(exportSigningKey(key), alg);
  const nodeAlgorithm = alg === 'ES256' ? 'sha256' : null;
  const signOptions = alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : { key: key.privateKey };

  // The raw baseline signs a signing input of the same size as a real token, built once.
  const sample = (await signer.sign({ method: 'POST', url: URL_, body: BODY_BYTES })).authorization.slice(7);
  const signingInput = Buffer.from(sample.slice(0, sample.lastIndexOf('.')));
  const rawSign = async () => cryptoSign(nodeAlgorithm, signingInput, signOptions).toString('base64url');
  const joseSign = () => new SignJWT({ c1typ: 'wh', htm: 'POST', htu: URL_, htb_s256: 'x'.repeat(44) })
    .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' }).setIssuer('acme.example').setAudience('receiver.example')
    .setIssuedAt().setNotBefore('-60s').setExpirationTime('120s').setJti('j').sign(joseKey);

  report(`JWT sign ${alg}, 1 KiB body`, await interleaved([
    { name: 'node:crypto sign', fn: rawSign },
    { name: 'jose SignJWT', fn: joseSign },
    { name: 'hookline createJwtSigner().sign', fn: () => signer.sign({ method: 'POST', url: URL_, body: BODY_BYTES }) },
  ]), { targets: { 'hookline createJwtSigner().sign': { against: 'node:crypto sign', atLeast: 0.8 } } });

  // The dispatcher signs with offThread (libuv's threadpool) and many sends in flight: signatures per second with 16
  // at once, against raw crypto.sign's callback form (the same threadpool) at the same concurrency.
  const offThread = createJwtSigner({ issuer: 'acme.example', keys: [key], offThread: true });
  const rawSignAsync = () => new Promise((resolve, reject) => {
    cryptoSign(nodeAlgorithm, signingInput, signOptions, (error, signature) => (error ? reject(error) : resolve(signature.toString('base64url'))));
  });
  const sixteen = (fn) => () => Promise.all(Array.from({ length: 16 }, fn));
  report(`JWT sign ${alg} off the event loop, 16 at once (rates are batches of 16)`, await interleaved([
    { name: 'node:crypto sign (callback, threadpool)', fn: sixteen(rawSignAsync) },
    { name: 'hookline sign, offThread', fn: sixteen(() => offThread.sign({ method: 'POST', url: URL_, body: BODY_BYTES })) },
  ]), { targets: { 'hookline sign, offThread': { against: 'node:crypto sign (callback, threadpool)' } } });

  const jwks = signer.jwks();
  const verifier = jwt({ jwks, issuer: 'acme.example', publicUrl: URL_ });
  const localJwks = createLocalJWKSet(jwks);
  const publicKey = createPublicKey(key.privateKey);
  const token = (await signer.sign({ method: 'POST', url: URL_, body: BODY_BYTES })).authorization.slice(7);
  const request = { method: 'POST', url: '/in/c1', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: BODY_BYTES };
  const dot = token.lastIndexOf('.');
  const data = Buffer.from(token.slice(0, dot));
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const verifyOptions = alg === 'ES256' ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : { key: publicKey };
  const rawVerify = async () => {
    if (!cryptoVerify(nodeAlgorithm, data, verifyOptions, signature)) throw new Error('mismatch');
  };

  await verifier.verify(request);
  await jwtVerify(token, localJwks, { issuer: 'acme.example' });
  await rawVerify();

  report(`JWT verify ${alg}, 1 KiB body`, await interleaved([
    { name: 'node:crypto verify', fn: rawVerify },
    { name: 'jose jwtVerify', fn: () => jwtVerify(token, localJwks, { issuer: 'acme.example' }) },
    { name: 'hookline jwt().verify (all claims)', fn: () => verifier.verify(request) },
  ]), { targets: { 'hookline jwt().verify (all claims)': { against: 'jose jwtVerify', atLeast: 1 } } });
}
