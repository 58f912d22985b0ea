import { expect, it } from 'vitest';
import * as verifier from '@hookline/verifier';

it('exports exactly this public surface', () => {
  expect(Object.keys(verifier).sort()).toMatchInlineSnapshot(`
    [
      "DEFAULT_MAX_BODY_BYTES",
      "DEFAULT_TOLERANCE_SECONDS",
      "GITHUB_MAX_BODY_BYTES",
      "MemorySeenIds",
      "PLATFORMS",
      "assertFirstDelivery",
      "createVerifier",
      "github",
      "header",
      "hmac",
      "isPlatform",
      "jwt",
      "meta",
      "pagerduty",
      "sendgrid",
      "shopify",
      "slack",
      "standardWebhooks",
      "stripe",
      "twilio",
      "x",
      "zendesk",
    ]
  `);
});
