import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isHooklineError, type HooklineError } from '@hookline/errors';
import { checkTemplate, compileTemplate } from '@hookline/templater';

const aponoEvent = JSON.parse(
  readFileSync(new URL('./fixtures/apono-access-request-created.json', import.meta.url), 'utf8'),
) as { data: Record<string, unknown> };

function render(source: string, context: unknown = {}): unknown {
  return compileTemplate(source).render(context).value;
}

function errorOf(action: () => unknown): HooklineError {
  try {
    action();
  } catch (error) {
    if (isHooklineError(error)) return error;
    throw error;
  }
  throw new Error('expected a HooklineError');
}

describe('Apono documented examples', () => {
  it('lists every integration name with {{#each data.access_groups}}', () => {
    const template = '{"integrations": "{{#each data.access_groups}}{{integration.name}}{{/each}}"}';
    expect(render(template, aponoEvent)).toEqual({ integrations: 'prod db' });
  });

  it('lists every access unit per access group with the nested access_units loop', () => {
    const template =
      '{"units": "{{#each data.access_groups}}{{#each access_units}}{{resource.name}}{{/each}}{{/each}}"}';
    expect(render(template, aponoEvent)).toEqual({ units: 'DB 1DB 2' });
  });

  it('renders a Jira-style body from the access-request example', () => {
    const template = `{
  "fields": {
    "summary": "{{data.friendly_id}}: {{data.requester.name}} requests {{data.access_bundle.name}}",
    "description": "{{data.justification}}",
    "labels": {{json (pluck data.approvals "status")}},
    "requester": "{{lower data.requester.email}}",
    "created": "{{isoDate data.creation_date}}",
    "unitCount": {{length data.access_groups.[0].access_units}},
    "status": "{{event_type}}"
  }
}`;
    expect(render(template, aponoEvent)).toEqual({
      fields: {
        summary: 'AR-123: User requests Bundle 1',
        description: 'I need access to this',
        labels: ['Pending', 'Approved'],
        requester: (aponoEvent.data.requester as { email: string }).email.toLowerCase(),
        created: '2023-10-02T16:14:25.852Z',
        unitCount: 2,
        status: 'AccessRequestCreated',
      },
    });
  });
});

describe('JSON-safe string slots', () => {
  const tricky = 'He said "hi"\\ \n\t\r\u0000\u001f ☃ 😀 </script> \u2028\u2029 &<>\'`=';

  it('writes any string exactly, JSON-escaped, with no HTML escaping', () => {
    const { text, value } = compileTemplate('{"name": "{{name}}"}').render({ name: tricky });
    expect(value).toEqual({ name: tricky });
    expect(text).not.toContain('&quot;');
    expect(text).not.toContain('&lt;');
    expect(text).not.toContain('&#x27;');
  });

  it('escapes </script>, U+2028 and U+2029 so the body can be embedded in a page', () => {
    const { text } = compileTemplate('{"a": "{{a}}"}').render({ a: '</script>\u2028\u2029' });
    expect(text).toBe('{"a": "<\\/script>\\u2028\\u2029"}');
  });

  it('writes numbers and booleans as their text, missing and null as nothing', () => {
    expect(render('{"a": "{{n}}-{{b}}-{{missing}}-{{nothing}}"}', { n: 1.5, b: false, nothing: null })).toEqual({
      a: '1.5-false--',
    });
  });

  it('writes an object or array inside quotes as its JSON text', () => {
    expect(render('{"a": "{{o}}", "b": "{{json o}}"}', { o: { k: ['x', 1] } })).toEqual({
      a: '{"k":["x",1]}',
      b: '{"k":["x",1]}',
    });
  });

  it('keeps a lone surrogate as the same code unit after parsing', () => {
    expect(render('{"a": "{{s}}"}', { s: 'x\ud800y' })).toEqual({ a: 'x\ud800y' });
  });
});

describe('value slots', () => {
  it('writes {{json x}} as a JSON value: object, array, number, string, null for missing', () => {
    const context = { o: { a: [1, 'two', null] }, n: -2.5e-3, s: 'str"' };
    expect(render('[{{json o}}, {{json n}}, {{json s}}, {{json missing}}]', context)).toEqual([
      { a: [1, 'two', null] },
      -2.5e-3,
      'str"',
      null,
    ]);
  });

  it('writes a bare {{x}} outside quotes as a JSON value too, so the body stays JSON', () => {
    expect(render('{"n": {{n}}, "s": {{s}}, "m": {{missing}}, "l": {{list}}}', { n: 3, s: 'a"b', list: [1] })).toEqual({
      n: 3,
      s: 'a"b',
      m: null,
      l: [1],
    });
  });

  it('writes a helper result outside quotes as a JSON value', () => {
    expect(render('{"same": {{eq a b}}, "upper": {{upper a}}, "count": {{length list}}}', { a: 'x', b: 'x', list: [1, 2] })).toEqual({
      same: true,
      upper: 'X',
      count: 2,
    });
  });

  it('builds a JSON array from a loop with @last', () => {
    const template = '{"ids": [{{#each items}}"{{id}}"{{#unless @last}},{{/unless}}{{/each}}]}';
    expect(render(template, { items: [{ id: 'a' }, { id: 'b"' }] })).toEqual({ ids: ['a', 'b"'] });
    expect(render(template, { items: [] })).toEqual({ ids: [] });
  });
});

describe('helpers', () => {
  const context = {
    users: [{ name: 'Ada', role: 'admin' }, { name: 'Bob' }, 'not an object'],
    tags: ['a', 1, true, null, { k: 1 }],
    empty: '',
    zero: 0,
    t: 1696263265.851898,
  };

  it('pluck takes one own property from each item, null where absent', () => {
    expect(render('{{json (pluck users "role")}}', context)).toEqual(['admin', null, null]);
    expect(render('{{json (pluck users "constructor")}}', context)).toEqual([null, null, null]);
    expect(render('{{json (pluck notalist "x")}}', context)).toEqual([]);
  });

  it('join joins with ", " by default or the given separator', () => {
    expect(render('"{{join tags}}"', context)).toBe('a, 1, true, , {"k":1}');
    expect(render('"{{join (pluck users "name") " / "}}"', context)).toBe('Ada / Bob / ');
  });

  it('default replaces missing, null and empty string only', () => {
    expect(render('[{{default missing "d"}}, {{default empty "d"}}, {{default zero "d"}}]', context)).toEqual(['d', 'd', 0]);
  });

  it('eq and ne compare as JSON: 1 is not "1", objects deeply', () => {
    expect(render('[{{eq 1 "1"}}, {{eq a b}}, {{ne a c}}]', { a: { x: [1] }, b: { x: [1] }, c: { x: [2] } })).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('and, or, not follow {{#if}} truthiness (empty array and 0 are false)', () => {
    expect(render('[{{and 1 "x" (not empty)}}, {{and 1 list}}, {{or zero empty list}}, {{not zero}}]', { ...context, list: [] })).toEqual([
      true,
      false,
      false,
      true,
    ]);
    expect(render('{{#if (or zero tags)}}"yes"{{else}}"no"{{/if}}', context)).toBe('yes');
  });

  it('length counts array items, characters and object keys', () => {
    expect(render('[{{length tags}}, {{length "héllo😀"}}, {{length users.[0]}}, {{length zero}}]', context)).toEqual([5, 6, 2, 0]);
  });

  it('lower and upper change case', () => {
    expect(render('["{{lower "MiXeD"}}", "{{upper users.[0].name}}"]', context)).toEqual(['mixed', 'ADA']);
  });

  it('isoDate turns epoch seconds, fractional or not, into ISO 8601', () => {
    expect(render('["{{isoDate t}}", "{{isoDate 0}}", "{{isoDate "1.001"}}", {{isoDate "nope"}}]', context)).toEqual([
      '2023-10-02T16:14:25.851Z',
      '1970-01-01T00:00:00.000Z',
      '1970-01-01T00:00:01.001Z',
      null,
    ]);
  });
});

describe('refusals when compiling', () => {
  const refusals: Array<[string, unknown, { line: number; column: number }]> = [
    ['a partial', '{"a": {{> other}}}', { line: 1, column: 7 }],
    ['a partial block', '{{#> layout}}x{{/layout}}', { line: 1, column: 1 }],
    ['a decorator', '{{* inline}}{}', { line: 1, column: 1 }],
    ['a decorator block', '{{#* inline "x"}}y{{/inline}}{}', { line: 1, column: 1 }],
    ['triple-stash', '{"a": "{{{raw}}}"}', { line: 1, column: 8 }],
    ['an ampersand mustache', '{"a": "{{& raw}}"}', { line: 1, column: 8 }],
    ['an unknown helper', '{\n  "a": "{{shout name}}"\n}', { line: 2, column: 9 }],
    ['an unknown helper in a subexpression', '{{json (shout name)}}', { line: 1, column: 8 }],
    ['an unknown block helper', '{{#repeat 3}}x{{/repeat}}', { line: 1, column: 1 }],
    ['the log helper', '{{log "x"}}', { line: 1, column: 1 }],
    ['the lookup helper', '{{lookup this "constructor"}}', { line: 1, column: 1 }],
    ['constructor access', '{"a": "{{constructor.name}}"}', { line: 1, column: 10 }],
    ['__proto__ access', '{"a": "{{__proto__}}"}', { line: 1, column: 10 }],
    ['prototype access deep in a path', '{"a": "{{data.x.__proto__.y}}"}', { line: 1, column: 10 }],
    ['constructor via a literal segment', '{"a": "{{data.[constructor]}}"}', { line: 1, column: 10 }],
    ['constructor as a helper argument', '{{json this.constructor}}', { line: 1, column: 8 }],
    ['hash arguments', '{{join list sep=","}}', { line: 1, column: 1 }],
    ['a block helper used inline', '{{each list}}', { line: 1, column: 1 }],
    ['a block that leaves a JSON string open', '{{#if a}}"{{/if}}', { line: 1, column: 1 }],
    ['a syntax error', '{"a": "{{name}"}', { line: 1, column: 14 }],
    ['an unclosed block', '{\n  {{#each a}}x', { line: 2, column: 15 }],
    ['mismatched blocks', '{{#if a}}{{/each}}', { line: 1, column: 4 }],
  ];

  it.each(refusals)('refuses %s with its line and column', (_name, source, position) => {
    const error = errorOf(() => compileTemplate(source as string));
    expect(error.code).toBe('invalid_template');
    expect(error.details).toMatchObject(position);
  });

  it.each([[42], [null], [undefined], [{ toString: () => '{}' }], [['{}']]])('refuses a non-string source %j', (source) => {
    expect(errorOf(() => compileTemplate(source as unknown as string)).code).toBe('invalid_template');
  });

  it('refuses a template over the size limit, counted in UTF-8 bytes', () => {
    const source = `"${'é'.repeat(600)}"`; // 1202 bytes, 602 characters
    expect(errorOf(() => compileTemplate(source, { maxBytes: 1201 })).details).toMatchObject({ bytes: 1202, maxBytes: 1201 });
    expect(compileTemplate(source, { maxBytes: 1202 }).render({}).value).toBe('é'.repeat(600));
    expect(errorOf(() => compileTemplate(`"${'a'.repeat(64 * 1024)}"`)).code).toBe('invalid_template');
  });

  it('refuses a nonsensical size limit as a configuration error', () => {
    expect(errorOf(() => compileTemplate('{}', { maxBytes: 0 })).code).toBe('invalid_config');
  });

  it('does not reach prototypes through data either', () => {
    const context = JSON.parse('{"data": {"__proto__": {"polluted": "yes"}}}') as unknown;
    expect(render('{"a": "{{data.polluted}}", "b": {{json data.polluted}}}', context)).toEqual({ a: '', b: null });
    expect(errorOf(() => compileTemplate('{"b": "{{data.toString}}"}')).code).toBe('invalid_template');
    expect(errorOf(() => compileTemplate('{"b": "{{hasOwnProperty}}"}')).code).toBe('invalid_template');
  });

  it('leaves the global Handlebars untouched', async () => {
    const Handlebars = (await import('handlebars')).default;
    compileTemplate('{"a": "{{a}}"}');
    expect(Handlebars.compile('{{a}}')({ a: '<b>"' })).toBe('&lt;b&gt;&quot;');
    expect(Object.keys(Handlebars.helpers)).toContain('log');
    expect(Object.keys(Handlebars.helpers)).not.toContain('json');
  });
});

describe('rendered output that is not JSON', () => {
  it('reports template_output_not_json with the position and a snippet', () => {
    const template = compileTemplate('{"ids": [{{#each items}}"{{this}}",{{/each}}]}');
    const error = errorOf(() => template.render({ items: ['a', 'b'] }));
    expect(error.code).toBe('template_output_not_json');
    expect(error.details).toEqual({ position: 17, snippet: '{"ids": ["a","b",]}' });
  });

  it('finds the position in a long body and cuts the snippet around it', () => {
    const template = compileTemplate(`{"pad": "${'x'.repeat(100)}", "bad": nope}`);
    const error = errorOf(() => template.render({}));
    expect(error.details).toEqual({ position: 120, snippet: `${'x'.repeat(29)}", "bad": nope}` });
  });

  it('reports an empty rendering at position 0', () => {
    expect(errorOf(() => compileTemplate('{{#if a}}{}{{/if}}').render({})).details).toEqual({ position: 0, snippet: '' });
  });

  it('knows which templates are JSON whatever the data, and still renders them exactly', () => {
    const flat = compileTemplate('{"a": "{{x}}", "b": {{y}}, "c": "{{#each l}}{{this}};{{/each}}"}');
    expect(flat.alwaysJson).toBe(true);
    expect(flat.renderText({ x: '"', y: [1], l: ['p', 'q'] })).toBe('{"a": "\\"", "b": [1], "c": "p;q;"}');
    expect(compileTemplate('[{{#each l}}{{this}},{{/each}}]').alwaysJson).toBe(false);
    expect(compileTemplate('{"a": 1{{x}}}').alwaysJson).toBe(false);
    expect(compileTemplate('{"a": "line\nbreak{{x}}"}').alwaysJson).toBe(false);
  });

  it('checks renderText exactly as render when the template is not JSON by construction', () => {
    const template = compileTemplate('[{{#each l}}{{this}},{{/each}}]');
    expect(template.renderText({ l: [] })).toBe('[]');
    expect(errorOf(() => template.renderText({ l: [1] })).code).toBe('template_output_not_json');
  });
});

describe('checkTemplate', () => {
  it('returns the rendering of the example when it is JSON', () => {
    expect(checkTemplate('{"id": "{{data.id}}"}', aponoEvent)).toEqual({ value: { id: '123' }, text: '{"id": "123"}' });
  });

  it('refuses a template whose example rendering is not JSON', () => {
    const error = errorOf(() => checkTemplate('{"groups": [{{#each data.access_groups}}"{{integration.id}}",{{/each}}]}', aponoEvent));
    expect(error.code).toBe('template_output_not_json');
    expect(error.details).toMatchObject({ position: 28 });
  });

  it('refuses an invalid template before rendering', () => {
    expect(errorOf(() => checkTemplate('{{> nope}}', aponoEvent)).code).toBe('invalid_template');
  });
});
