import { expect, it } from 'vitest';
import * as templater from '@hookline/templater';

it('exports exactly the public surface', () => {
  expect(
    Object.entries(templater)
      .map(([name, value]) => `${name}: ${typeof value}`)
      .sort(),
  ).toMatchInlineSnapshot(`
    [
      "TEMPLATE_HELPER_NAMES: object",
      "TEMPLATE_MAX_BYTES: number",
      "checkTemplate: function",
      "compileTemplate: function",
    ]
  `);
});
