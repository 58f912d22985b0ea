import { expect, it } from 'vitest';
import * as adapter from '../src/index.js';

it('exports exactly its public surface (a change here is a deliberate one)', () => {
  expect(Object.keys(adapter).sort()).toEqual([
    'HOOKLINE', 'HOOKLINE_MODULE_OPTIONS', 'HOOKLINE_RESOLVED_OPTIONS', 'HOOKLINE_STORE', 'HooklineModule',
    'InjectHookline', 'InjectHooklineStore', 'VERIFY_WEBHOOK_METADATA', 'VerifyWebhook', 'Webhook', 'WebhookGuard',
  ]);
});
