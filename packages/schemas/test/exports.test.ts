import { expect, it } from 'vitest';
import * as schemas from '@hookline/schemas';

it('exports exactly the public surface', () => {
  expect(
    Object.entries(schemas)
      .map(([name, value]) => `${name}: ${typeof value}`)
      .sort(),
  ).toMatchInlineSnapshot(`
    [
      "APONO_STATUSES: object",
      "BODY_TEMPLATE_MAX_LENGTH: number",
      "INBOUND_PLATFORMS: object",
      "MAX_ENDPOINT_HEADERS: number",
      "RESERVED_HEADERS: object",
      "RESERVED_HEADER_PREFIXES: object",
      "SCHEMAS: object",
      "SCHEMA_NAMES: object",
      "check: function",
      "endpointUrlProblem: function",
      "eventCatalog: object",
      "getEventType: function",
      "getSchema: function",
      "isReservedHeader: function",
      "validate: function",
    ]
  `);
});
