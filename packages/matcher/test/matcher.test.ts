import fc from 'fast-check';
import { jsonpath } from 'json-p3';
import { describe, expect, it } from 'vitest';
import { isHooklineError, type HooklineError } from '@hookline/errors';
import { compileJsonPath, compileMatcher, compileTrigger, jsonEqual, matchesTrigger } from '@hookline/matcher';

function errorOf(action: () => unknown): HooklineError {
  try {
    action();
  } catch (error) {
    if (isHooklineError(error)) return error;
    throw error;
  }
  throw new Error('expected a HooklineError');
}

const slackMessage = {
  token: 'x',
  event: { type: 'message', text: 'hello', channel: 'C1', blocks: [{ type: 'rich_text' }, { type: 'divider' }] },
  authorizations: [{ team_id: 'T1' }, { team_id: 'T2' }],
  count: 1,
  flag: false,
  nothing: null,
};

describe('compileMatcher (json mode)', () => {
  it('holds when every condition holds (AND), as in the Conductor example', () => {
    const matcher = compileMatcher({ "$['event']['type']": 'message', '$.event.text': 'hello' });
    expect(matcher.test(slackMessage)).toBe(true);
    expect(matcher.test({ ...slackMessage, event: { ...slackMessage.event, text: 'bye' } })).toBe(false);
    expect(matcher.test({ ...slackMessage, event: { ...slackMessage.event, type: 'app_mention' } })).toBe(false);
  });

  it('matches everything with an empty map', () => {
    const matcher = compileMatcher({});
    expect(matcher.test(slackMessage)).toBe(true);
    expect(matcher.test(null)).toBe(true);
    expect(matcher.paths).toEqual([]);
  });

  it('does not match when a path selects nothing, even against null', () => {
    expect(compileMatcher({ '$.event.missing': null }).test(slackMessage)).toBe(false);
    expect(compileMatcher({ '$.nothing': null }).test(slackMessage)).toBe(true);
    expect(compileMatcher({ '$.event.type': 'message' }).test('not an object')).toBe(false);
  });

  it('compares as JSON: 1 is not "1", false is not 0, objects and arrays deeply', () => {
    expect(compileMatcher({ '$.count': 1 }).test(slackMessage)).toBe(true);
    expect(compileMatcher({ '$.count': '1' }).test(slackMessage)).toBe(false);
    expect(compileMatcher({ '$.flag': 0 }).test(slackMessage)).toBe(false);
    expect(compileMatcher({ '$.flag': false }).test(slackMessage)).toBe(true);
    expect(compileMatcher({ '$.event.blocks[1]': { type: 'divider' } }).test(slackMessage)).toBe(true);
    expect(compileMatcher({ '$.event.blocks[1]': { type: 'divider', x: 1 } }).test(slackMessage)).toBe(false);
    expect(compileMatcher({ '$.authorizations': [{ team_id: 'T1' }, { team_id: 'T2' }] }).test(slackMessage)).toBe(true);
    expect(compileMatcher({ '$.authorizations': [{ team_id: 'T2' }, { team_id: 'T1' }] }).test(slackMessage)).toBe(false);
  });

  it('holds when any of several selected nodes equals the value', () => {
    expect(compileMatcher({ '$.authorizations[*].team_id': 'T2' }).test(slackMessage)).toBe(true);
    expect(compileMatcher({ '$..type': 'divider' }).test(slackMessage)).toBe(true);
    expect(compileMatcher({ '$.authorizations[*].team_id': 'T3' }).test(slackMessage)).toBe(false);
    expect(compileMatcher({ "$.event.blocks[?@.type == 'divider'].type": 'divider' }).test(slackMessage)).toBe(true);
  });

  it('exposes its mode, paths and conditions in key order', () => {
    const matcher = compileMatcher({ '$.b': 1, '$.a': { x: true } });
    expect(matcher.mode).toBe('json');
    expect(matcher.paths).toEqual(['$.b', '$.a']);
    expect(matcher.conditions).toEqual([
      { path: '$.b', expected: 1 },
      { path: '$.a', expected: { x: true } },
    ]);
  });

  it('refuses an invalid path when compiling, naming the offending key', () => {
    const error = errorOf(() => compileMatcher({ '$.ok': 1, '$.event[': 'x' }));
    expect(error.code).toBe('invalid_jsonpath');
    expect(error.details).toMatchObject({ key: '$.event[' });
    expect(errorOf(() => compileMatcher({ 'event.type': 'x' })).details).toMatchObject({ key: 'event.type' });
    expect(errorOf(() => compileMatcher({ '$[?foo()]': 'x' })).details).toMatchObject({ key: '$[?foo()]' });
  });

  it('refuses matches that are not an object, and keys without a value', () => {
    expect(errorOf(() => compileMatcher(null as unknown as Record<string, unknown>)).code).toBe('invalid_jsonpath');
    expect(errorOf(() => compileMatcher(['$.a'] as unknown as Record<string, unknown>)).code).toBe('invalid_jsonpath');
    expect(errorOf(() => compileMatcher({ '$.a': undefined })).details).toEqual({ key: '$.a' });
    expect(errorOf(() => compileMatcher({}, { mode: 'fuzzy' as 'json' })).code).toBe('invalid_config');
  });

  it('refuses script expressions, the code-execution route of older JSONPath libraries', () => {
    const key = '$[?(@.constructor.constructor("return process")().exit())]';
    expect(errorOf(() => compileMatcher({ [key]: 1 })).details).toMatchObject({ key });
    expect(errorOf(() => compileMatcher({ '$[(@.length-1)]': 1 })).code).toBe('invalid_jsonpath');
  });
});

describe('compileMatcher (conductor mode)', () => {
  const conductor = (matches: Record<string, unknown>) => compileMatcher(matches, { mode: 'conductor' });

  it('compares trimmed, case-insensitive strings', () => {
    expect(conductor({ '$.event.type': '  MESSAGE ' }).test(slackMessage)).toBe(true);
    expect(conductor({ '$.event.text': 'Hello' }).test({ event: { text: ' hello\n' } })).toBe(true);
    expect(conductor({ '$.count': '1' }).test(slackMessage)).toBe(true);
    expect(conductor({ '$.flag': 'FALSE' }).test(slackMessage)).toBe(true);
  });

  it('takes the first selected node, and the first item of an array', () => {
    expect(conductor({ '$.authorizations[*].team_id': 't1' }).test(slackMessage)).toBe(true);
    expect(conductor({ '$.authorizations[*].team_id': 't2' }).test(slackMessage)).toBe(false);
    expect(conductor({ '$.tags': 'first' }).test({ tags: ['first', 'second'] })).toBe(true);
    expect(conductor({ '$.tags': 'second' }).test({ tags: ['first', 'second'] })).toBe(false);
    expect(conductor({ '$.tags': '' }).test({ tags: [] })).toBe(false);
  });

  it('still needs every condition and a selected node', () => {
    expect(conductor({ '$.event.type': 'message', '$.event.text': 'nope' }).test(slackMessage)).toBe(false);
    expect(conductor({ '$.missing': '' }).test(slackMessage)).toBe(false);
  });
});

describe('compileJsonPath', () => {
  it('runs singular queries as a direct walk with the same results as json-p3', () => {
    const step = fc.oneof(
      fc.constantFrom('a', 'b', '0', 'length', '__proto__', 'constructor').map((name) => `[${JSON.stringify(name)}]`),
      fc.integer({ min: -3, max: 3 }).map((index) => `[${index}]`),
    );
    const document = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 0 }),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom('a', 'b', '0', 'length', 'constructor'), tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.array(step, { maxLength: 4 }), document, (steps, value) => {
        const path = `$${steps.join('')}`;
        const compiled = compileJsonPath(path);
        expect(compiled.singular).toBe(true);
        expect(compiled.query(value)).toEqual(jsonpath.compile(path).query(value as never).values());
      }),
      { numRuns: 3000 },
    );
  });

  it('reads only own members, never the prototype', () => {
    expect(compileJsonPath('$.constructor').query({})).toEqual([]);
    expect(compileJsonPath('$.length').query([1, 2])).toEqual([]);
    expect(compileJsonPath("$['__proto__']").query(JSON.parse('{"__proto__": 1}'))).toEqual([1]);
  });

  it('refuses a path that is not a string', () => {
    expect(errorOf(() => compileJsonPath(42 as unknown as string)).code).toBe('invalid_jsonpath');
  });
});

describe('triggers', () => {
  it('matches exact names, * and prefixes', () => {
    const trigger = compileTrigger(['c1.webhooks.v1.*', 'AccessRequestGranted']);
    expect(trigger.test('c1.webhooks.v1.PayloadTest')).toBe(true);
    expect(trigger.test('c1.webhooks.v1.PayloadProvisionStep')).toBe(true);
    expect(trigger.test('AccessRequestGranted')).toBe(true);
    expect(trigger.test('AccessRequestCreated')).toBe(false);
    expect(trigger.test('c1.webhooks.v1')).toBe(false);
    expect(trigger.test('c1.webhooks.v10.PayloadTest')).toBe(false);
    expect(trigger.patterns).toEqual(['c1.webhooks.v1.*', 'AccessRequestGranted']);
  });

  it('matches every type with *', () => {
    expect(matchesTrigger(['*'], 'permit.create_user')).toBe(true);
    expect(matchesTrigger(['permit.create_user'], 'permit.create_user')).toBe(true);
    expect(matchesTrigger(['permit.create_user'], 'permit.invite_user')).toBe(false);
  });

  it.each([[[]], [['']], [['a*']], [['*.a']], [['a.**']], [['a..b']], [[' a']], [[42]], ['*']])(
    'refuses the malformed trigger list %j',
    (patterns) => {
      expect(errorOf(() => compileTrigger(patterns as unknown as string[])).code).toBe('invalid_endpoint');
    },
  );
});

describe('jsonEqual', () => {
  it('ignores key order and tells types apart', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});
