import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '@hookline/templater';

/** What a string slot holds after parsing: a string as itself, null or missing as "", anything else as its JSON. */
function slotText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

describe('JSON safety, for any value', () => {
  const stringSlot = compileTemplate('{"before": "<{{x}}>", "only": "{{x}}"}');
  const valueSlot = compileTemplate('{"v": {{x}}, "j": {{json x}} }');

  it('renders any JSON value placed in a string slot to valid JSON that parses back to the same string', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (x) => {
        const { text } = stringSlot.render({ x });
        expect(JSON.parse(text)).toEqual({ before: `<${slotText(x)}>`, only: slotText(x) });
      }),
      { numRuns: 2000 },
    );
  });

  it('renders any string, including lone surrogates and every control character, back to itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (x) => {
        expect(JSON.parse(stringSlot.renderText({ x }))).toEqual({ before: `<${x}>`, only: x });
      }),
      { numRuns: 2000 },
    );
  });

  it('renders any JSON value placed in a value slot back to an equal value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (x) => {
        const expected = JSON.parse(JSON.stringify(x)) as unknown; // -0 becomes 0 in JSON
        expect(valueSlot.render({ x }).value).toEqual({ v: expected, j: expected });
      }),
      { numRuns: 1000 },
    );
  });

  it('never lets data put a raw U+2028, U+2029 or "</" in the text', () => {
    const plainSlot = compileTemplate('{"a": "{{x}}"}');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.constantFrom('</script>', '\u2028', '\u2029', '</'), (a, b) => {
        const x = a + b + a;
        for (const text of [plainSlot.renderText({ x }), valueSlot.renderText({ x }), valueSlot.renderText({ x: { [x]: [x] } })]) {
          expect(/[\u2028\u2029]|<\//.test(text)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});
