#!/usr/bin/env node
/**
 * `hookline-mock-receiver [--port 4000] [--jwks-url URL --issuer ISS | --standard-webhooks-secret whsec_...]`
 * Runs the mock subscriber on its own and prints one line per webhook and callback.
 */
import { parseArgs } from 'node:util';
import { isHooklineError } from '@hookline/errors';
import { startMockReceiver, type MockReceiverOptions } from './index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.MOCK_RECEIVER_PORT ?? '0' },
      host: { type: 'string', default: process.env.MOCK_RECEIVER_HOST ?? '127.0.0.1' },
      'jwks-url': { type: 'string', default: process.env.MOCK_RECEIVER_JWKS_URL },
      issuer: { type: 'string', default: process.env.MOCK_RECEIVER_ISSUER },
      'standard-webhooks-secret': { type: 'string', default: process.env.MOCK_RECEIVER_STANDARD_WEBHOOKS_SECRET },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('Usage: hookline-mock-receiver [--port N] [--host H] [--jwks-url URL] [--issuer ISS] [--standard-webhooks-secret whsec_...]');
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got "${values.port}".`);

  const options: MockReceiverOptions = {
    port,
    host: values.host,
    onWebhook: (webhook) => {
      const check = webhook.verification.scheme === 'none'
        ? 'unverified (no scheme configured)'
        : webhook.verification.verified
          ? `${webhook.verification.scheme} verified`
          : `${webhook.verification.scheme} REJECTED (${webhook.verification.error.code})`;
      const dup = webhook.duplicate ? ' duplicate' : '';
      console.log(`#${webhook.seq} ${webhook.method} ${webhook.path} id=${webhook.webhookId ?? '-'} ${check}${dup} -> ${webhook.response.status}`);
    },
    onCallback: (callback) => {
      console.log(`callback ${Object.keys(callback.body).find((k) => k !== 'version')} -> ${callback.status ?? callback.error}`);
    },
  };
  if (values['jwks-url'] !== undefined) options.jwksUrl = values['jwks-url'];
  if (values.issuer !== undefined) options.issuer = values.issuer;
  if (values['standard-webhooks-secret'] !== undefined) options.standardWebhooksSecret = values['standard-webhooks-secret'];

  const mock = await startMockReceiver(options);
  console.log(`mock receiver listening on ${mock.url}`);
  console.log(`  webhooks: POST ${mock.url}/webhook   history: GET ${mock.url}/received   behaviour: POST ${mock.url}/behaviour`);

  const shutdown = (): void => {
    mock.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(isHooklineError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : error);
  process.exit(1);
});
