import { expect, it } from 'vitest';
import * as adapter from '../src/index.js';

it('exports exactly its public surface (a change here is a deliberate one)', () => {
  expect(Object.keys(adapter).sort()).toEqual(['hooklineMiddleware', 'verifyWebhook']);
});
