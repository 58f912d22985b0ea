import { expect, it } from 'vitest';
import * as matcher from '@hookline/matcher';

it('exports exactly the public surface', () => {
  expect(
    Object.entries(matcher)
      .map(([name, value]) => `${name}: ${typeof value}`)
      .sort(),
  ).toMatchInlineSnapshot(`
    [
      "compileJsonPath: function",
      "compileMatcher: function",
      "compileTrigger: function",
      "jsonEqual: function",
      "matchesTrigger: function",
      "queryJsonPath: function",
    ]
  `);
});
