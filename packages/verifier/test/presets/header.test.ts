import { describe, expect, it } from 'vitest';
import { header } from '../../src/index.js';
import { outcome, verifiedEvent } from './helpers.js';

const request = (headers: Record<string, string | string[]>) => ({ method: 'POST', url: '/in/h', headers, body: '{"ok":true}' });

describe('header preset', () => {
  it('passes when the header holds the configured value, and hands over the payload', async () => {
    const event = await verifiedEvent(header({ name: 'X-Api-Key', secret: 'k-1' }).verify(request({ 'x-api-key': 'k-1' })));
    expect(event.payload).toEqual({ ok: true });
  });

  it('accepts each configured value while a key is rotated', async () => {
    const verifier = header({ name: 'x-api-key', secrets: ['k-new', 'k-old'] });
    expect((await verifier.verify(request({ 'x-api-key': 'k-old' }))).kind).toBe('event');
    expect((await verifier.verify(request({ 'x-api-key': 'k-new' }))).kind).toBe('event');
  });

  it.each([
    ['a wrong value', { 'x-api-key': 'k-2' }, 'unauthorized'],
    ['a value with the right prefix', { 'x-api-key': 'k-11' }, 'unauthorized'],
    ['no header', {}, 'missing_header'],
    ['the header twice', { 'x-api-key': ['k-1', 'k-1'] }, 'duplicate_header'],
  ])('refuses %s', async (_case, headers, code) => {
    expect(await outcome(header({ name: 'x-api-key', secret: 'k-1' }).verify(request(headers)))).toBe(code);
  });

  it('needs every configured header to match', async () => {
    const verifier = header({ headers: { authorization: 'Bearer t', 'x-tenant': ['a', 'b'] } });
    expect((await verifier.verify(request({ authorization: 'Bearer t', 'x-tenant': 'b' }))).kind).toBe('event');
    expect(await outcome(verifier.verify(request({ authorization: 'Bearer t', 'x-tenant': 'c' })))).toBe('unauthorized');
    expect(await outcome(verifier.verify(request({ 'x-tenant': 'a' })))).toBe('missing_header');
  });

  it.each([
    [{ secret: 'k' }, 'name'],
    [{ name: 'bad header', secret: 'k' }, 'name'],
    [{ name: 'x-api-key' }, 'secret'],
    [{ headers: { 'x-a': '' } }, 'headers.x-a'],
    [{ headers: {} }, 'headers'],
    [{}, 'headers'],
  ])('refuses the configuration %j: invalid_source naming %s', (config, field) => {
    expect(() => header(config)).toThrow(expect.objectContaining({ code: 'invalid_source', details: { field } }));
  });
});
