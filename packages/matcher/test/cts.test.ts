import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isHooklineError } from '@hookline/errors';
import { jsonEqual, queryJsonPath } from '@hookline/matcher';

interface CtsCase {
  name: string;
  selector: string;
  document?: unknown;
  result?: unknown[];
  results?: unknown[][];
  invalid_selector?: boolean;
}

const suite = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/jsonpath-cts/cts.json', import.meta.url), 'utf8'),
) as { tests: CtsCase[] };

const invalid = suite.tests.filter((test) => test.invalid_selector);
const valid = suite.tests.filter((test) => !test.invalid_selector);

describe('RFC 9535 compliance test suite', () => {
  it('holds every case of the suite', () => {
    expect(suite.tests).toHaveLength(703);
    expect(invalid.length + valid.length).toBe(703);
  });

  it.each(valid.map((test) => [test.name, test] as const))('selects as specified: %s', (_name, test) => {
    const selected = queryJsonPath(test.selector, test.document);
    const expected = test.result !== undefined ? [test.result] : test.results!;
    expect(expected.some((result) => jsonEqual(selected, result))).toBe(true);
  });

  it.each(invalid.map((test) => [test.name, test] as const))('refuses as invalid_jsonpath: %s', (_name, test) => {
    let code: string | undefined;
    try {
      queryJsonPath(test.selector, {});
    } catch (error) {
      code = isHooklineError(error) ? error.code : 'not a HooklineError';
    }
    expect(code).toBe('invalid_jsonpath');
  });
});
