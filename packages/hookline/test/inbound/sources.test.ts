import { describe, expect, it } from 'vitest';
import { githubRequest } from '../../src/testing.js';
import { json, receiverHookline } from '../http/support.js';

describe('inbound sources', () => {
  it('creates a source with an unguessable src_ id, its inbound path, state unverified and secrets shown as hints', async () => {
    const { hooks, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'Payments', platform: 'stripe', config: { secret: 'whsec_abcdefghijkl1234' } });
    expect(source.id).toMatch(/^src_[0-9A-Za-z]{24}$/);
    expect(source).toEqual({
      id: source.id,
      tenant: 'default',
      name: 'Payments',
      platform: 'stripe',
      config: { secret: 'whsec_…1234' },
      matches: {},
      state: 'unverified',
      createdAt: clock.ms,
      updatedAt: clock.ms,
      path: `/in/${source.id}`,
    });
  });

  it('gives every source a different id', async () => {
    const { hooks } = receiverHookline();
    const ids = new Set<string>();
    for (let index = 0; index < 50; index += 1) {
      ids.add((await hooks.createSource({ name: `s${index}`, platform: 'github', config: { secret: 's' } })).id);
    }
    expect(ids.size).toBe(50);
  });

  it('seals secrets at rest: the stored record never holds the plaintext secret or verify token', async () => {
    const { hooks, store } = receiverHookline();
    const source = await hooks.createSource({
      name: 'meta', platform: 'meta', config: { secrets: ['app-secret-one', 'app-secret-two'], verifyToken: 'verify-me-please' },
    });
    const record = await store.getSource(source.id);
    const stored = JSON.stringify(record);
    expect(stored).not.toContain('app-secret-one');
    expect(stored).not.toContain('app-secret-two');
    expect(stored).not.toContain('verify-me-please');
    expect((record!.config['secrets'] as string[])[0]).toMatch(/^v1\./);
    expect(source.config).toEqual({ secrets: ['…-one', '…-two'], verifyToken: '…ease' });
  });

  it('refuses a bad JSONPath in matches at save time with invalid_jsonpath', async () => {
    const { hooks } = receiverHookline();
    await expect(
      hooks.createSource({ name: 'x', platform: 'github', config: { secret: 's' }, matches: { '$.a[': 1 } }),
    ).rejects.toMatchObject({ code: 'invalid_jsonpath', status: 400 });
  });

  it('refuses a config its verifier cannot be built from with invalid_source naming the field', async () => {
    const { hooks } = receiverHookline();
    await expect(hooks.createSource({ name: 'x', platform: 'github', config: {} })).rejects.toMatchObject({
      code: 'invalid_source', status: 400, details: expect.objectContaining({ field: 'secret' }),
    });
  });

  it('refuses an unknown platform with invalid_source', async () => {
    const { hooks } = receiverHookline();
    await expect(
      hooks.createSource({ name: 'x', platform: 'myspace' as 'github', config: { secret: 's' } }),
    ).rejects.toMatchObject({ code: 'invalid_source' });
  });

  it('patches the name and matches without re-sending secrets, and keeps the verified state', async () => {
    const { hooks, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 'keep-me' } });
    await hooks.handle(githubRequest({ url: source.path, secret: 'keep-me', body: {} }));
    clock.ms += 1000;

    const patched = await hooks.updateSource(source.id, { name: 'renamed', matches: { '$.action': 'opened' } });

    expect(patched).toMatchObject({ name: 'renamed', matches: { '$.action': 'opened' }, state: 'verified', updatedAt: clock.ms });
    const response = await hooks.handle(githubRequest({ url: source.path, secret: 'keep-me', body: { action: 'opened' } }));
    expect(json(response)).toMatchObject({ status: 'accepted' });
  });

  it('merges a config patch over the stored secrets and puts the source back to unverified', async () => {
    const { hooks, clock } = receiverHookline();
    const source = await hooks.createSource({ name: 'pay', platform: 'stripe', config: { secret: 'whsec_old' } });
    await hooks.updateSource(source.id, { config: { toleranceSeconds: 600 } });
    const timestamp = Math.floor(clock.ms / 1000) - 500;
    const { stripeRequest } = await import('../../src/testing.js');

    const response = await hooks.handle(stripeRequest({ url: source.path, secret: 'whsec_old', body: { id: 'evt_1' }, timestamp }));

    expect(json(response)).toEqual({ status: 'accepted', id: 'evt_1' });
    const rotated = await hooks.updateSource(source.id, { config: { secret: 'whsec_new_secret_value' } });
    expect(rotated).toMatchObject({ state: 'unverified', config: { secret: 'whsec_…alue', toleranceSeconds: 600 } });
  });

  it('needs the new config when the platform changes', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    await expect(hooks.updateSource(source.id, { platform: 'slack' })).rejects.toMatchObject({ code: 'invalid_source' });
    const moved = await hooks.updateSource(source.id, { platform: 'slack', config: { secret: 'slack' } });
    expect(moved.platform).toBe('slack');
  });

  it('refuses a patch that breaks the config, and leaves the source as it was', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    await expect(hooks.updateSource(source.id, { config: { secret: null } as never })).rejects.toMatchObject({ code: 'invalid_source' });
    expect((await hooks.getSource(source.id)).config).toEqual({ secret: '…' });
  });

  it('scopes sources by tenant: another tenant gets not_found for get, patch and delete', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } }, 'acme');
    expect((await hooks.getSource(source.id, 'acme')).tenant).toBe('acme');
    await expect(hooks.getSource(source.id)).rejects.toMatchObject({ code: 'not_found', status: 404 });
    await expect(hooks.updateSource(source.id, { name: 'x' }, 'globex')).rejects.toMatchObject({ code: 'not_found' });
    await expect(hooks.deleteSource(source.id, 'globex')).rejects.toMatchObject({ code: 'not_found' });
    expect((await hooks.listSources({}, 'globex')).items).toEqual([]);
    expect((await hooks.listSources({}, 'acme')).items.map((item) => item.id)).toEqual([source.id]);
  });

  it('deletes a source: its URL then answers 404', async () => {
    const { hooks } = receiverHookline();
    const source = await hooks.createSource({ name: 'repo', platform: 'github', config: { secret: 's' } });
    await hooks.deleteSource(source.id);
    await expect(hooks.getSource(source.id)).rejects.toMatchObject({ code: 'not_found' });
    const response = await hooks.handle(githubRequest({ url: source.path, secret: 's', body: {} }));
    expect(response.status).toBe(404);
  });

  it('lists sources newest first in pages', async () => {
    const { hooks, clock } = receiverHookline();
    const ids: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      clock.ms += 1000;
      ids.push((await hooks.createSource({ name: `s${index}`, platform: 'github', config: { secret: 's' } })).id);
    }
    const first = await hooks.listSources({ limit: 2 });
    expect(first.items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    const second = await hooks.listSources({ limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((item) => item.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeUndefined();
  });
});

describe('inbound sources: input shape', () => {
  it('refuses a missing or empty name, a non-object config and non-object matches with coded errors', async () => {
    const { hooks } = receiverHookline();
    await expect(hooks.createSource({ platform: 'github', config: { secret: 's' } } as never)).rejects.toMatchObject({
      code: 'invalid_source', details: { field: 'name' },
    });
    await expect(hooks.createSource({ name: ' ', platform: 'github', config: { secret: 's' } })).rejects.toMatchObject({ code: 'invalid_source' });
    await expect(hooks.createSource({ name: 'x', platform: 'github', config: 'secret' } as never)).rejects.toMatchObject({
      code: 'invalid_source', details: { field: 'config' },
    });
    await expect(hooks.createSource({ name: 'x', platform: 'github', config: { secret: 's' }, matches: ['$.a'] } as never)).rejects.toMatchObject({
      code: 'invalid_jsonpath',
    });
    await expect(hooks.createSource(null as never)).rejects.toMatchObject({ code: 'invalid_source' });
  });

  it('refuses fields a source cannot have, on create and on patch, with the schema\'s problems', async () => {
    const { hooks } = receiverHookline();
    await expect(
      hooks.createSource({ name: 'x', platform: 'github', config: { secret: 's' }, state: 'verified' } as never),
    ).rejects.toMatchObject({ code: 'invalid_source', details: { schema: 'inbound-source', problems: [{ pointer: '/state', message: 'is not allowed' }] } });
    const source = await hooks.createSource({ name: 'x', platform: 'github', config: { secret: 's' } });
    await expect(hooks.updateSource(source.id, { state: 'verified' } as never)).rejects.toMatchObject({
      code: 'invalid_source', details: { schema: 'inbound-source-patch' },
    });
    expect((await hooks.getSource(source.id)).state).toBe('unverified');
  });
});
