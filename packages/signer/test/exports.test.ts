import { expect, it } from 'vitest';
import * as signer from '@hookline/signer';

it('exports exactly this public surface', () => {
  expect(Object.keys(signer).sort()).toMatchInlineSnapshot(`
    [
      "SIGNING_ALGORITHMS",
      "createHmacSigner",
      "createJwtSigner",
      "createStandardSigner",
      "exportSigningKey",
      "generateSigningKey",
      "generateStandardSecret",
      "importSigningKey",
      "standardPublicKey",
    ]
  `);
});
