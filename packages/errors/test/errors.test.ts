import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, HooklineError, fail, isHooklineError } from '@hookline/errors';

describe('HooklineError', () => {
  it('carries a stable code and the status of that code', () => {
    const error = new HooklineError('signature_mismatch', 'no signature matched');
    expect(error.code).toBe('signature_mismatch');
    expect(error.status).toBe(401);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('HooklineError');
  });

  it('serialises to the wire shape, with details only when given', () => {
    expect(fail('missing_header', 'webhook-id is missing', { header: 'webhook-id' }).toJSON()).toEqual({
      error: { code: 'missing_header', message: 'webhook-id is missing', details: { header: 'webhook-id' } },
    });
    expect(new HooklineError('not_found', 'nope').toJSON()).toEqual({ error: { code: 'not_found', message: 'nope' } });
  });

  it('lets a caller override the status', () => {
    expect(new HooklineError('invalid_payload', 'x', { status: 422 }).status).toBe(422);
  });

  it('recognises errors by shape across package copies', () => {
    const foreign = Object.assign(new Error('x'), { name: 'HooklineError', code: 'replayed', status: 409 });
    expect(isHooklineError(foreign)).toBe(true);
    expect(isHooklineError(new Error('x'))).toBe(false);
    expect(isHooklineError('x')).toBe(false);
  });

  it('maps every code to a 4xx or 5xx status', () => {
    for (const status of Object.values(ERROR_STATUS)) expect(status >= 400 && status < 600).toBe(true);
  });
});
