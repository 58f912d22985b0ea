import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../src/contract.js';
import {
  githubRequest, hookRequest, metaChallengeRequest, metaRequest, slackChallengeRequest, slackRequest, standardWebhooksRequest,
  stripeRequest, xCrcRequest, xCrcResponseToken, xRequest,
} from '../../src/testing.js';
import { json, receiverHookline, text } from '../http/support.js';

interface Vector {
  provider: string;
  secret?: string;
  body?: string;
  now?: number;
  headers?: Record<string, string>;
  valid?: boolean;
  query?: Record<string, string>;
  verifyToken?: string;
  challengeBody?: string;
  challengeResponse?: unknown;
}
const vectors = (JSON.parse(readFileSync(new URL('../../../../../shared/vectors/providers.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors;
const vector = (provider: string, index = 0): Vector => vectors.filter((v) => v.provider === provider)[index]!;

const encode = (value: string): Uint8Array => new TextEncoder().encode(value);

describe('receive: GitHub', () => {
  it('accepts the documented GitHub known-answer request and hands the payload to a handler', async () => {
    const v = vector('github');
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: v.secret! } });
    const seen: InboundEvent[] = [];
    hooks.on(source.id, (event) => {
      seen.push(event);
    });

    const response = await hooks.handle({
      method: 'POST',
      url: `/in/${source.id}`,
      headers: { ...v.headers, 'x-github-delivery': 'd-1', 'x-github-event': 'ping' },
      body: encode(v.body!),
    });

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json(response)).toEqual({ status: 'accepted', id: 'd-1' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ sourceId: source.id, tenant: 'default', platform: 'github', payload: 'Hello, World!', id: 'd-1' });
    expect(new TextDecoder().decode(seen[0]!.rawBody)).toBe('Hello, World!');
  });

  it('refuses the GitHub vector signed with the wrong secret with 401 signature_mismatch and hands nothing over', async () => {
    const v = vector('github', 2);
    expect(v.valid).toBe(false);
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: v.secret! } });
    let handled = 0;
    hooks.on(source.id, () => {
      handled += 1;
    });

    const response = await hooks.handle({ method: 'POST', url: source.path, headers: { ...v.headers }, body: encode(v.body!) });

    expect(response.status).toBe(401);
    expect((json(response) as { error: { code: string } }).error.code).toBe('signature_mismatch');
    expect(handled).toBe(0);
  });

  it('answers 400 missing_header when the signature header is absent', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's3cret' } });
    const response = await hooks.handle(hookRequest('POST', source.path, { body: { action: 'opened' } }));
    expect(response.status).toBe(400);
    expect(json(response)).toEqual({
      error: { code: 'missing_header', message: expect.any(String), details: { header: 'x-hub-signature-256' } },
    });
  });

  it('answers 400 malformed_header for a signature that is not sha256=<hex>', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's3cret' } });
    const request = githubRequest({ url: source.path, secret: 's3cret', body: { a: 1 }, headers: { 'x-hub-signature-256': 'sha256=zz' } });
    const response = await hooks.handle(request);
    expect(response.status).toBe(400);
    expect((json(response) as { error: { code: string } }).error.code).toBe('malformed_header');
  });

  it('moves a source from unverified to verified on its first verified request, not on a refused one', async () => {
    const { hooks, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's3cret' } });
    expect(source.state).toBe('unverified');

    await hooks.handle(githubRequest({ url: source.path, secret: 'wrong', body: { a: 1 } }));
    expect((await hooks.getSource(source.id)).state).toBe('unverified');

    clock.ms += 5_000;
    await hooks.handle(githubRequest({ url: source.path, secret: 's3cret', body: { a: 1 } }));
    const after = await hooks.getSource(source.id);
    expect(after.state).toBe('verified');
    expect(after.verifiedAt).toBe(clock.ms);
  });
});

describe('receive: marking a source verified', () => {
  it('never overwrites an admin edit that lands between the verified request and its mark', async () => {
    const { hooks, store, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 'old-secret' } });
    // The admin rotates the secret just as the request signed with the old one is being marked verified.
    const updateSource = store.updateSource.bind(store);
    let raced = false;
    store.updateSource = async (record, ifUpdatedAt) => {
      if (!raced && record.state === 'verified') {
        raced = true;
        clock.ms += 1_000;
        await hooks.updateSource(source.id, { config: { secret: 'new-secret' } });
      }
      return updateSource(record, ifUpdatedAt);
    };
    const response = await hooks.handle(githubRequest({ url: source.path, secret: 'old-secret', body: { a: 1 } }));
    expect(response.status).toBe(200);
    expect(raced).toBe(true);
    // The rotation stands: the old secret no longer verifies, the new one does, and the source awaits proof again.
    expect((await hooks.getSource(source.id)).state).toBe('unverified');
    expect((await hooks.handle(githubRequest({ url: source.path, secret: 'old-secret', body: { a: 2 } }))).status).toBe(401);
    expect((await hooks.handle(githubRequest({ url: source.path, secret: 'new-secret', body: { a: 3 } }))).status).toBe(200);
    expect((await hooks.getSource(source.id)).state).toBe('verified');
  });
});

describe('receive: replays', () => {
  it('answers a repeated delivery id 200 duplicate and hands it over only once', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's3cret' } });
    let handled = 0;
    hooks.on(source.id, () => {
      handled += 1;
    });
    const request = githubRequest({ url: source.path, secret: 's3cret', body: { a: 1 }, deliveryId: 'same-id' });

    const first = await hooks.handle(request);
    const second = await hooks.handle(request);

    expect(first.status).toBe(200);
    expect(json(first)).toEqual({ status: 'accepted', id: 'same-id' });
    expect(second.status).toBe(200);
    expect(json(second)).toEqual({ status: 'duplicate', id: 'same-id' });
    expect(handled).toBe(1);
  });

  it('remembers delivery ids in the store, so a second hookline on the same store drops the replay too', async () => {
    const { hooks, store, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's3cret' } });
    const request = githubRequest({ url: source.path, secret: 's3cret', body: { a: 1 }, deliveryId: 'cross-process' });
    await hooks.handle(request);

    const { composeHookline } = await import('../../src/http/hookline.js');
    const { createSecretBox } = await import('../../src/secrets.js');
    const { fakeDispatcher } = await import('../http/fake-dispatcher.js');
    const { silentLogger } = await import('../../src/http/logger.js');
    const other = composeHookline({ dispatcher: fakeDispatcher(), store, secretBox: createSecretBox('0'.repeat(64)), logger: silentLogger, now: () => clock.ms });

    expect(json(await other.handle(request))).toEqual({ status: 'duplicate', id: 'cross-process' });
  });

  it('scopes delivery ids by source: one Stripe event reaching two sources is accepted by both', async () => {
    const { hooks, clock } = receiverHookline();
    const a = await hooks.createSource({ name: 'a', platform: 'stripe', config: { secret: 'whsec_a' } });
    const b = await hooks.createSource({ name: 'b', platform: 'stripe', config: { secret: 'whsec_b' } });
    const body = { id: 'evt_1', object: 'event', type: 'charge.succeeded' };
    const timestamp = Math.floor(clock.ms / 1000);

    const first = await hooks.handle(stripeRequest({ url: a.path, secret: 'whsec_a', body, timestamp }));
    const second = await hooks.handle(stripeRequest({ url: b.path, secret: 'whsec_b', body, timestamp }));

    expect(json(first)).toEqual({ status: 'accepted', id: 'evt_1' });
    expect(json(second)).toEqual({ status: 'accepted', id: 'evt_1' });
  });

  it('drops a Stripe retry of an accepted event even when it is freshly signed minutes later', async () => {
    const { hooks, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'pay', platform: 'stripe', config: { secret: 'whsec_x' } });
    const body = { id: 'evt_retry', object: 'event' };
    await hooks.handle(stripeRequest({ url: source.path, secret: 'whsec_x', body, timestamp: Math.floor(clock.ms / 1000) }));

    clock.ms += 60 * 60 * 1000;
    const retry = await hooks.handle(stripeRequest({ url: source.path, secret: 'whsec_x', body, timestamp: Math.floor(clock.ms / 1000) }));

    expect(json(retry)).toEqual({ status: 'duplicate', id: 'evt_retry' });
  });

  it('refuses a request whose signed timestamp is outside the window with 401 timestamp_out_of_window', async () => {
    const { hooks, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'pay', platform: 'stripe', config: { secret: 'whsec_x' } });
    const stale = Math.floor(clock.ms / 1000) - 600;
    const response = await hooks.handle(stripeRequest({ url: source.path, secret: 'whsec_x', body: { id: 'evt_old' }, timestamp: stale }));
    expect(response.status).toBe(401);
    expect((json(response) as { error: { code: string } }).error.code).toBe('timestamp_out_of_window');
  });
});

describe('receive: Stripe and Standard Webhooks', () => {
  it('accepts the Stripe known-answer vector at its time', async () => {
    const v = vector('stripe');
    const { hooks } = receiverHookline({ nowSeconds: v.now! });
    const source = await hooks.createSource({ name: 'pay', platform: 'stripe', config: { secret: v.secret! } });
    const response = await hooks.handle({ method: 'POST', url: source.path, headers: { ...v.headers }, body: encode(v.body!) });
    expect(response.status).toBe(200);
    expect(json(response)).toEqual({ status: 'accepted', id: 'evt_test_webhook' });
  });

  it('accepts the Standard Webhooks known-answer vector and reports its webhook-id', async () => {
    const v = vector('standard-webhooks');
    const { hooks } = receiverHookline({ nowSeconds: v.now! });
    const source = await hooks.createSource({ name: 'svix', platform: 'standard-webhooks', config: { secret: v.secret! } });
    const response = await hooks.handle({ method: 'POST', url: source.path, headers: { ...v.headers }, body: encode(v.body!) });
    expect(json(response)).toEqual({ status: 'accepted', id: 'msg_p5jXN8AQM9LWM0D4loKWxJek' });
  });

  it('accepts a request signed by the testing helper for Standard Webhooks', async () => {
    const { hooks, clock } = receiverHookline();
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const source = await hooks.createSource({ name: 'svix', platform: 'standard-webhooks', config: { secret } });
    const request = standardWebhooksRequest({ url: source.path, secret, body: { a: 1 }, id: 'msg_1', timestamp: Math.floor(clock.ms / 1000) });
    expect(json(await hooks.handle(request))).toEqual({ status: 'accepted', id: 'msg_1' });
  });
});

describe('receive: challenges', () => {
  it('answers Slack url_verification with the challenge only after its signature checks, and marks the source verified', async () => {
    const { hooks, clock } = receiverHookline();
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    const source = await hooks.createSource({ name: 'slack', platform: 'slack', config: { secret } });
    const timestamp = Math.floor(clock.ms / 1000);

    const forged = await hooks.handle(slackChallengeRequest({ url: source.path, secret: 'not-the-secret', challenge: 'c-123', timestamp }));
    expect(forged.status).toBe(401);
    expect((await hooks.getSource(source.id)).state).toBe('unverified');

    const response = await hooks.handle(slackChallengeRequest({ url: source.path, secret, challenge: 'c-123', timestamp }));
    expect(response.status).toBe(200);
    expect(json(response)).toEqual({ challenge: 'c-123' });
    expect((await hooks.getSource(source.id)).state).toBe('verified');
  });

  it('hands a signed Slack event over with its event_id as the delivery id', async () => {
    const { hooks, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'slack', platform: 'slack', config: { secret: 'slack-secret' } });
    const waiting = hooks.waitFor({ sourceId: source.id, matches: { '$.event.type': 'message' } });
    const body = { type: 'event_callback', event_id: 'Ev1', event: { type: 'message', text: 'hello' } };

    const response = await hooks.handle(slackRequest({ url: source.path, secret: 'slack-secret', body, timestamp: Math.floor(clock.ms / 1000) }));

    expect(json(response)).toEqual({ status: 'accepted', id: 'Ev1' });
    expect((await waiting).payload).toEqual(body);
  });

  it('refuses the Slack documentation vector ten minutes late (stale) with 401', async () => {
    const v = vector('slack', 1);
    const { hooks } = receiverHookline({ nowSeconds: v.now! });
    const source = await hooks.createSource({ name: 'slack', platform: 'slack', config: { secret: v.secret! } });
    const response = await hooks.handle({
      method: 'POST', url: source.path, headers: { ...v.headers, 'content-type': 'application/x-www-form-urlencoded' }, body: encode(v.body!),
    });
    expect(response.status).toBe(401);
    expect((json(response) as { error: { code: string } }).error.code).toBe('timestamp_out_of_window');
  });

  it('answers the Meta hub.challenge as text when hub.verify_token matches, and marks the source verified', async () => {
    const v = vector('meta');
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'meta', platform: 'meta', config: { secret: 'app-secret', verifyToken: v.verifyToken! } });
    const response = await hooks.handle(metaChallengeRequest({ url: source.path, verifyToken: v.verifyToken!, challenge: v.query!['hub.challenge']! }));
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(text(response)).toBe(v.challengeResponse);
    expect((await hooks.getSource(source.id)).state).toBe('verified');
  });

  it('refuses a Meta challenge with the wrong verify token (403 challenge_failed) and stays unverified', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'meta', platform: 'meta', config: { secret: 'app-secret', verifyToken: 'right' } });
    const response = await hooks.handle(metaChallengeRequest({ url: source.path, verifyToken: 'wrong', challenge: '42' }));
    expect(response.status).toBe(403);
    expect((json(response) as { error: { code: string } }).error.code).toBe('challenge_failed');
    expect((await hooks.getSource(source.id)).state).toBe('unverified');
  });

  it('accepts a Meta event signed with the app secret', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'meta', platform: 'meta', config: { secret: 'app-secret', verifyToken: 't' } });
    const response = await hooks.handle(metaRequest({ url: source.path, secret: 'app-secret', body: { object: 'page', entry: [] } }));
    expect(json(response)).toEqual({ status: 'accepted' });
  });

  it('answers the X CRC known-answer vector but leaves the source unverified (a CRC proves nothing about the caller)', async () => {
    const v = vector('x');
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'x', platform: 'x', config: { secret: v.secret! } });
    const response = await hooks.handle(xCrcRequest({ url: source.path, crcToken: v.query!['crc_token']! }));
    expect(response.status).toBe(200);
    expect(json(response)).toEqual(v.challengeResponse);
    expect(xCrcResponseToken(v.secret!, v.query!['crc_token']!)).toBe((v.challengeResponse as { response_token: string }).response_token);
    expect((await hooks.getSource(source.id)).state).toBe('unverified');

    await hooks.handle(xRequest({ url: source.path, secret: v.secret!, body: { for_user_id: '1' } }));
    expect((await hooks.getSource(source.id)).state).toBe('verified');
  });
});

describe('receive: matches, size and shape', () => {
  it('answers 200 ignored/unmatched and hands nothing over when the source matches do not hold', async () => {
    const { hooks, clock } = receiverHookline();
    const source = await hooks.createSource({
      name: 'slack', platform: 'slack', config: { secret: 'k' }, matches: { "$['event']['type']": 'message' },
    });
    let handled = 0;
    hooks.on(source.id, () => {
      handled += 1;
    });
    const timestamp = Math.floor(clock.ms / 1000);

    const other = await hooks.handle(slackRequest({ url: source.path, secret: 'k', timestamp, body: { event_id: 'E1', event: { type: 'reaction_added' } } }));
    const wanted = await hooks.handle(slackRequest({ url: source.path, secret: 'k', timestamp, body: { event_id: 'E2', event: { type: 'message' } } }));

    expect(other.status).toBe(200);
    expect(json(other)).toEqual({ status: 'ignored', reason: 'unmatched', id: 'E1' });
    expect(json(wanted)).toEqual({ status: 'accepted', id: 'E2' });
    expect(handled).toBe(1);
  });

  it('refuses a body over maxInboundBodyBytes with 413 payload_too_large before looking the source up', async () => {
    const { hooks } = receiverHookline({ maxInboundBodyBytes: 16 });
    const response = await hooks.handle(hookRequest('POST', '/in/src_doesnotexist', { body: 'x'.repeat(17) }));
    expect(response.status).toBe(413);
    expect(json(response)).toEqual({ error: { code: 'payload_too_large', message: expect.any(String), details: { limitBytes: 16 } } });
  });

  it('refuses a declared Content-Length over the limit even when the adapter stopped reading early', async () => {
    const { hooks } = receiverHookline({ maxInboundBodyBytes: 1024 });
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    const response = await hooks.handle({ method: 'POST', url: source.path, headers: { 'content-length': '4096' }, body: new Uint8Array(0) });
    expect(response.status).toBe(413);
  });

  it('answers 404 not_found for an unknown source id', async () => {
    const { hooks } = receiverHookline();
    const response = await hooks.handle(githubRequest({ url: '/in/src_unknown', secret: 's', body: {} }));
    expect(response.status).toBe(404);
    expect((json(response) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('refuses a signed body declared as JSON that does not parse with 400 invalid_json, and accepts the corrected retry', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    const seen: unknown[] = [];
    hooks.on(source.id, (event) => void seen.push(event.payload));
    const broken = await hooks.handle(githubRequest({ url: source.path, secret: 's', body: '{"unterminated', deliveryId: 'm-1' }));
    expect(broken.status).toBe(400);
    expect((json(broken) as { error: { code: string } }).error.code).toBe('invalid_json');
    expect(seen).toEqual([]);
    // The id was not remembered for the refused body, so the sender's fixed retry goes through.
    const fixed = await hooks.handle(githubRequest({ url: source.path, secret: 's', body: '{"fixed":true}', deliveryId: 'm-1' }));
    expect(json(fixed)).toEqual({ status: 'accepted', id: 'm-1' });
    expect(seen).toEqual([{ fixed: true }]);
  });

  it('hands a signed body that is not declared as JSON over as text', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    const waiting = hooks.waitFor(source.id, { timeoutMs: 1000 });
    const request = githubRequest({ url: source.path, secret: 's', body: 'plain words', deliveryId: 'm-2', headers: { 'content-type': 'text/plain' } });
    expect(json(await hooks.handle(request))).toEqual({ status: 'accepted', id: 'm-2' });
    expect((await waiting).payload).toBe('plain words');
  });

  it('answers 200 even when a handler throws, and still runs the other handlers', async () => {
    const errors: unknown[] = [];
    const logger = { error: (fields: Record<string, unknown>) => errors.push(fields['err']), warn() {}, info() {} };
    const { hooks } = receiverHookline({ logger });
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    let second = 0;
    hooks.on(source.id, () => {
      throw new Error('app bug');
    });
    hooks.on(source.id, async () => {
      second += 1;
    });

    const response = await hooks.handle(githubRequest({ url: source.path, secret: 's', body: {} }));

    expect(response.status).toBe(200);
    expect(second).toBe(1);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('app bug');
  });
});

describe('receive: logs', () => {
  it('never writes the full source id (the URL capability), a secret or a body to a log line', async () => {
    const lines: unknown[] = [];
    const record = (fields: Record<string, unknown>, message: string) => {
      lines.push({ ...fields, err: fields['err'] instanceof Error ? fields['err'].message : fields['err'], message });
    };
    const { hooks } = receiverHookline({ logger: { error: record, warn: record, info: record } });
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 'super-secret-value' } });
    hooks.on(source.id, () => {
      throw new Error('handler failed');
    });

    await hooks.handle(githubRequest({ url: source.path, secret: 'wrong-secret', body: { card: '4242424242424242' } }));
    await hooks.handle(githubRequest({ url: source.path, secret: 'super-secret-value', body: { card: '4242424242424242' } }));

    const logged = JSON.stringify(lines);
    expect(lines.length).toBe(2);
    expect(logged).toContain(`${source.id.slice(0, 4)}…${source.id.slice(-4)}`);
    for (const secret of [source.id, 'super-secret-value', 'wrong-secret', '4242424242424242']) expect(logged).not.toContain(secret);
  });
});

describe('receive: Twilio', () => {
  const form = { CallSid: 'CA1234567890ABCDE', From: '+14158675309', To: '+18005551212' };
  const twilioSignature = (authToken: string, url: string) => {
    const params = Object.keys(form).sort().map((key) => key + form[key as keyof typeof form]).join('');
    return createHmac('sha1', authToken).update(url + params).digest('base64');
  };
  const formRequest = (path: string, signature: string) =>
    hookRequest('POST', path, {
      body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    });

  it('verifies against publicUrl + the source path when the source sets no publicUrl of its own', async () => {
    const { hooks } = receiverHookline({ publicUrl: 'https://app.example/hooks/' });
    const source = await hooks.createSource({ name: 'sms', platform: 'twilio', config: { secret: 'twilio-auth-token' } });
    const signature = twilioSignature('twilio-auth-token', `https://app.example/hooks/in/${source.id}`);

    const response = await hooks.handle(formRequest(source.path, signature));

    expect(response.status).toBe(200);
    expect(json(response)).toEqual({ status: 'accepted' });
  });

  it('refuses a Twilio source without publicUrl when hookline has none either (invalid_source at save time)', async () => {
    const { hooks } = receiverHookline();
    await expect(hooks.createSource({ name: 'sms', platform: 'twilio', config: { secret: 't' } })).rejects.toMatchObject({
      code: 'invalid_source', details: expect.objectContaining({ field: 'publicUrl' }),
    });
  });
});

describe('receive: server-side failures', () => {
  it('answers a source sealed under another secret key 500 internal, telling the sender nothing about the configuration', async () => {
    const { hooks, store } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    const logged: string[] = [];
    const { composeHookline } = await import('../../src/http/hookline.js');
    const { createSecretBox } = await import('../../src/secrets.js');
    const { fakeDispatcher } = await import('../http/fake-dispatcher.js');
    const rekeyed = composeHookline({
      dispatcher: fakeDispatcher(),
      store,
      secretBox: createSecretBox('1'.repeat(64)),
      logger: { error: (fields) => logged.push(String(fields['code'])), warn() {}, info() {} },
    });

    const response = await rekeyed.handle(githubRequest({ url: source.path, secret: 's', body: {} }));

    expect(response.status).toBe(500);
    expect(json(response)).toEqual({ error: { code: 'internal', message: 'Something went wrong on our side; the request was not processed.' } });
    expect(logged).toEqual(['invalid_config']);
  });
});
