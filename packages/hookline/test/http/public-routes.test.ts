import { describe, expect, it } from 'vitest';
import { hookRequest } from '../../src/testing.js';
import { json, receiverHookline } from './support.js';

describe('public routes', () => {
  it('serves the JWKS at /auth/v1/jwks and /.well-known/jwks.json with a short public cache', async () => {
    const { hooks } = receiverHookline();
    for (const path of ['/auth/v1/jwks', '/.well-known/jwks.json']) {
      const response = await hooks.handle(hookRequest('GET', path));
      expect(response.status).toBe(200);
      expect(response.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' });
      expect(json(response)).toEqual({ keys: [{ kty: 'OKP', crv: 'Ed25519', kid: 'k1', x: 'AAAA' }] });
    }
  });

  it('answers a valid callback 202 with the decision', async () => {
    const { hooks } = receiverHookline();
    const response = await hooks.handle(hookRequest('POST', '/callbacks/tok_good', { body: { version: 'v1', approve: { comment: 'ok' } } }));
    expect(response.status).toBe(202);
    expect(json(response)).toEqual({ status: 'accepted', decision: 'approve' });
  });

  it('passes the dispatcher\'s coded callback error through with its status', async () => {
    const { hooks } = receiverHookline();
    const response = await hooks.handle(hookRequest('POST', '/callbacks/tok_unknown', { body: { version: 'v1', deny: {} } }));
    expect(response.status).toBe(404);
    expect(json(response)).toEqual({ error: { code: 'callback_not_found', message: 'No callback with this token.' } });
  });

  it('answers an unknown route 404 not_found with the path in details', async () => {
    const { hooks } = receiverHookline();
    const response = await hooks.handle(hookRequest('GET', '/nope?x=1'));
    expect(response.status).toBe(404);
    expect(json(response)).toEqual({ error: { code: 'not_found', message: 'No such route.', details: { path: '/nope' } } });
  });

  it('does not serve the admin API from the public handler', async () => {
    const { hooks } = receiverHookline();
    const response = await hooks.handle(hookRequest('GET', '/admin/endpoints'));
    expect(response.status).toBe(404);
  });

  it('answers a wrong method 405 method_not_allowed with an Allow header', async () => {
    const { hooks } = receiverHookline();
    const jwks = await hooks.handle(hookRequest('POST', '/auth/v1/jwks', { body: {} }));
    expect(jwks.status).toBe(405);
    expect(jwks.headers['allow']).toBe('GET');
    expect(json(jwks)).toEqual({ error: { code: 'method_not_allowed', message: 'This route accepts GET.', details: { allow: ['GET'] } } });

    const inbound = await hooks.handle(hookRequest('PUT', '/in/src_x'));
    expect(inbound.status).toBe(405);
    expect(inbound.headers['allow']).toBe('GET, POST');
  });

  it('accepts a trailing slash and a lowercase method', async () => {
    const { hooks } = receiverHookline();
    const response = await hooks.handle(hookRequest('get', '/auth/v1/jwks/'));
    expect(response.status).toBe(200);
  });

  it('refuses a callback body over the request limit with 413', async () => {
    const { hooks } = receiverHookline();
    const response = await hooks.handle(hookRequest('POST', '/callbacks/tok_good', { body: 'x'.repeat(1024 * 1024 + 1) }));
    expect(response.status).toBe(413);
    expect((json(response) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('answers 500 internal without leaking the cause when the dispatcher throws something unexpected', async () => {
    const logged: unknown[] = [];
    const logger = { error: (fields: Record<string, unknown>) => logged.push(fields['err']), warn() {}, info() {} };
    const { fakeDispatcher } = await import('./fake-dispatcher.js');
    const { hooks } = receiverHookline({
      logger,
      dispatcher: fakeDispatcher({
        jwks: async () => {
          throw new Error('database password is hunter2');
        },
      }),
    });

    const response = await hooks.handle(hookRequest('GET', '/auth/v1/jwks'));

    expect(response.status).toBe(500);
    expect(json(response)).toEqual({
      error: { code: 'internal', message: 'Something went wrong on our side; the request was not processed.' },
    });
    expect(String(response.body)).not.toContain('hunter2');
    expect((logged[0] as Error).message).toBe('database password is hunter2');
  });
});

describe('routing details', () => {
  it('decodes percent-encoded path parameters', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    const { githubRequest } = await import('../../src/testing.js');
    const encoded = `/in/${encodeURIComponent(source.id).replace('_', '%5F')}`;
    const response = await hooks.handle(githubRequest({ url: encoded, secret: 's', body: {} }));
    expect(response.status).toBe(200);
  });

  it('answers a malformed percent-encoding in a parameter 404, not a crash', async () => {
    const { hooks } = receiverHookline();
    const response = await hooks.handle(hookRequest('POST', '/in/%E0%A4%A', { body: {} }));
    expect(response.status).toBe(404);
    expect((json(response) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('routes an absolute request URL by its path', async () => {
    const { hooks } = receiverHookline();
    const response = await hooks.handle(hookRequest('GET', 'https://app.example/.well-known/jwks.json?x=1'));
    expect(response.status).toBe(200);
  });

  it('does not match a route with extra segments', async () => {
    const { hooks } = receiverHookline();
    expect((await hooks.handle(hookRequest('POST', '/in/src_a/extra', { body: {} }))).status).toBe(404);
    expect((await hooks.handle(hookRequest('POST', '/in/', { body: {} }))).status).toBe(404);
  });
});
