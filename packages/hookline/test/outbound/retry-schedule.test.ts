import { describe, expect, it } from 'vitest';
import { isHooklineError } from '@hookline/errors';
import { MemoryStore } from '@hookline/store';
import { DEFAULT_RETRY_SCHEDULE, createDispatcher, parseRetrySchedule } from '../../src/outbound/index.js';
import { SECRET_KEY } from './helpers.js';

describe('retry schedule configuration', () => {
  it('defaults to the Standard Webhooks schedule', () => {
    expect(DEFAULT_RETRY_SCHEDULE).toEqual([0, 5, 300, 1800, 7200, 18000, 36000, 36000]);
  });

  it('parses HOOKLINE_RETRY_SCHEDULE-style lists', () => {
    expect(parseRetrySchedule('0, 1,2.5')).toEqual([0, 1, 2.5]);
  });

  it.each(['', 'a,1', '1,,2', '-1', '1;2'])('refuses %j with invalid_config', (value) => {
    try {
      parseRetrySchedule(value);
      throw new Error('accepted');
    } catch (error) {
      expect(isHooklineError(error) && error.code).toBe('invalid_config');
    }
  });

  it('refuses bad dispatcher options with invalid_config, not a TypeError', () => {
    const bad = [{ retrySchedule: [] }, { retrySchedule: [-1] }, { concurrency: 0 }, { prefetch: -1 }, { prefetch: 1.5 }, { requestTimeoutMs: Number.NaN }, { secretKey: 'short' }];
    for (const options of bad) {
      try {
        createDispatcher({ store: new MemoryStore(), secretKey: SECRET_KEY, ...options });
        throw new Error(`accepted ${JSON.stringify(options)}`);
      } catch (error) {
        expect(isHooklineError(error) && error.code, JSON.stringify(options)).toBe('invalid_config');
      }
    }
  });
});
