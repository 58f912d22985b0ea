import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '@hookline/templater';

/** Templates the compiler proves JSON whatever the data. */
const provable = [
  '{"a": "{{x}}", "b": {{y}}, "c": "{{#each l}}{{this}};{{/each}}"}',
  '{"ids": [{{#each l}}"{{this}}"{{#unless @last}},{{/unless}}{{/each}}]}',
  '{"ids": [{{#each l}}{{#unless @first}}, {{/unless}}{{json this}}{{/each}}]}',
  '{"byKey": { {{#each o}}"{{@key}}": {{json this}}{{#unless @last}},{{/unless}}{{/each}} }}',
  '{"groups": [{{#each g}}{"n": "{{n}}", "items": [{{#each items}}{{this}}{{#unless @last}},{{/unless}}{{/each}}]}{{#unless @last}},{{/unless}}{{/each}}]}',
  '{"a": 1{{#if x}}, "b": {{x}}{{/if}}{{#unless y}}, "c": null{{/unless}} }',
  '{{#if x}}{"x": {{x}}}{{else}}[]{{/if}}',
  '{"w": {{#with o}}{"k": "{{k}}"}{{else}}null{{/with}} }',
  '[{{#each l}}{{#if this}}"yes"{{else}}{"no": true}{{/if}}{{#unless @last}},{{/unless}}{{else}}"empty"{{/each}}]',
];

/** Templates that can give invalid JSON for some data, so each render is checked. */
const unprovable = [
  '[{{#each l}}{{this}},{{/each}}]',
  '[{{#each g}}{{#each items}}{{this}}{{#unless @last}},{{/unless}}{{/each}}{{#unless @last}},{{/unless}}{{/each}}]',
  '{"a": 1{{x}}}',
  '{"a": "line\nbreak{{x}}"}',
  '[{{#l}}{{this}}{{#unless @last}},{{/unless}}{{/l}}]',
  '{ {{#each o}}{{#if this}}"k": 1{{/if}}{{#unless @last}},{{/unless}}{{/each}} }',
  '{"a": "\\\\{{x}}"}',
];

const data = fc.record(
  {
    x: fc.jsonValue({ maxDepth: 1 }),
    y: fc.jsonValue({ maxDepth: 1 }),
    l: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 }), fc.jsonValue({ maxDepth: 0 })),
    o: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }), fc.jsonValue({ maxDepth: 0 })),
    g: fc.array(fc.record({ n: fc.string(), items: fc.array(fc.jsonValue({ maxDepth: 0 }), { maxLength: 3 }) }), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

describe('JSON by construction', () => {
  it.each(provable)('proves %s', (source) => {
    expect(compileTemplate(source).alwaysJson).toBe(true);
  });

  it.each(unprovable)('leaves %s to the per-render check', (source) => {
    expect(compileTemplate(source).alwaysJson).toBe(false);
  });

  it('is right: every rendering of a proven template is JSON, for any data', () => {
    const templates = provable.map((source) => compileTemplate(source));
    fc.assert(
      fc.property(data, (context) => {
        for (const template of templates) expect(() => JSON.parse(template.renderText(context))).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it('finds data that breaks each template it does not prove, where such data exists', () => {
    const broken = compileTemplate(unprovable[1]!);
    expect(() => broken.renderText({ g: [{ items: [] }, { items: [1] }] })).toThrow(expect.objectContaining({ code: 'template_output_not_json' }));
    expect(() => compileTemplate(unprovable[4]!).renderText({ l: { a: 1 } })).toThrow(expect.objectContaining({ code: 'template_output_not_json' }));
  });
});
