import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as hookline from '../src/index.js';
import * as testing from '../src/testing.js';

// A change to the public surface must be deliberate: update these lists in the same commit, and the docs with them.
describe('public exports', () => {
  it('hookline exports exactly these runtime values', () => {
    expect(Object.keys(hookline).sort()).toEqual([
      'DEFAULT_RETRY_SCHEDULE',
      'HooklineError',
      'consoleLogger',
      'createDispatcher',
      'createHookline',
      'createSecretBox',
      'isHooklineError',
      'parseRetrySchedule',
      'secretHint',
      'silentLogger',
    ]);
  });

  it('hookline/testing exports exactly these helpers', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'TEST_SECRET_KEY',
      'createTestHookline',
      'githubRequest',
      'hookRequest',
      'metaChallengeRequest',
      'metaRequest',
      'slackChallengeRequest',
      'slackRequest',
      'standardWebhooksRequest',
      'stripeRequest',
      'xCrcRequest',
      'xCrcResponseToken',
      'xRequest',
    ]);
  });

  it('hookline/testing imports the built core that hookline uses instead of bundling its own copy', () => {
    // Runs on the build (turbo builds before testing): one copy of the core per format, whichever entry loads first.
    const built = (file: string) => readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8');
    const chunks = (code: string) => [...code.matchAll(/chunk-[A-Za-z0-9]+\.c?js/g)].map((m) => m[0]);
    for (const [index, testingEntry] of [['index.js', 'testing.js'], ['index.cjs', 'testing.cjs']] as const) {
      const core = chunks(built(index));
      expect(core.length).toBeGreaterThan(0);
      expect(chunks(built(testingEntry))).toEqual(expect.arrayContaining(core));
      expect(built(testingEntry).length).toBeLessThan(16 * 1024);
    }
  });

  it('createHookline returns every member of the Hookline contract', async () => {
    const hooks = testing.createTestHookline();
    const members = [
      'store', 'handle', 'handleAdmin', 'close', 'createEndpoint', 'getEndpoint', 'listEndpoints', 'updateEndpoint',
      'deleteEndpoint', 'publish', 'testEndpoint', 'redeliver', 'getMessage', 'listAttempts', 'handleCallback', 'onCallback',
      'jwks', 'eventTypes', 'on', 'start', 'stop', 'createSource', 'getSource', 'listSources', 'updateSource', 'deleteSource',
      'receive', 'waitFor',
    ];
    for (const member of members) expect(hooks, member).toHaveProperty(member);
    await hooks.close();
  });

  it('routes a lone listener on() to operational events and a selector on() to inbound webhooks', async () => {
    const hooks = testing.createTestHookline();
    const operational: string[] = [];
    const offOperational = hooks.on((event) => operational.push(event.type));
    const inbound: unknown[] = [];
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    const offInbound = hooks.on(source.id, (event) => {
      inbound.push(event.payload);
    });

    await hooks.handle(testing.githubRequest({ url: source.path, secret: 's', body: { ping: true } }));

    expect(inbound).toEqual([{ ping: true }]);
    expect(operational).toEqual([]);
    offOperational();
    offInbound();
    await hooks.close();
  });
});
