/**
 * The `--demo` story: a mock subscriber in this process, registered as a JWT-signed endpoint with a Handlebars body
 * template, and one Apono access-request event published to it, so the terminal shows a verified delivery at once.
 */
import { startMockReceiver, type MockReceiver, type ReceivedWebhook } from '@hookline/mock-receiver';
import { HooklineError } from '@hookline/errors';
import type { Endpoint, EndpointInput, JsonValue } from 'hookline';
import type { RunningServer } from './server.js';
import { TENANT } from './server.js';

export const DEMO_ENDPOINT_NAME = 'demo: mock receiver';

/** Renders an Apono access request into a compact ticket-like body; the template must render JSON. */
export const DEMO_TEMPLATE = `{
  "title": "Access request {{data.friendly_id}} ({{event_type}})",
  "requester": "{{data.requester.name}} <{{data.requester.email}}>",
  "justification": "{{data.justification}}",
  "bundle": "{{data.access_bundle.name}}",
  "webhookId": "{{webhookId}}"
}`;

/** The event the demo publishes (Apono's `event_type`); the catalog's example is Apono's documented access request. */
export const DEMO_EVENT_TYPE = 'AccessRequestCreated';

export interface Demo {
  mock: MockReceiver;
  endpoint: Endpoint;
  messageId: string;
  close(): Promise<void>;
}

/**
 * Starts the demo against a running server (which must allow http and loopback destinations).
 * `print` gets the lines for the terminal.
 */
export async function startDemo(server: RunningServer, adminToken: string, print: (line: string) => void): Promise<Demo> {
  const hooks = server.hookline;
  const mock = await startMockReceiver({
    jwksUrl: server.jwksUrl,
    issuer: server.publicUrl,
    onWebhook: (webhook) => {
      for (const line of describeWebhook(webhook, server.jwksUrl)) print(line);
    },
  });

  const event = aponoEvent(hooks.eventTypes());
  const input: EndpointInput = {
    name: DEMO_ENDPOINT_NAME,
    description: 'The mock receiver started by `npm start`; re-pointed at its new port on every start.',
    url: `${mock.url}/webhook`,
    method: 'POST',
    auth: { type: 'jwt' },
    triggers: [event.type],
    bodyTemplate: DEMO_TEMPLATE,
    active: true,
  };
  const existing = (await hooks.listEndpoints({ limit: 100 }, TENANT)).items.find((endpoint) => endpoint.name === DEMO_ENDPOINT_NAME);
  const endpoint = existing === undefined
    ? (await hooks.createEndpoint(input, TENANT)).endpoint
    : await hooks.updateEndpoint(existing.id, input, TENANT);

  const published = await hooks.publish({ type: event.type, data: event.data, tenant: TENANT });
  const admin = `-H "Authorization: Bearer ${adminToken}"`;
  print(`demo: mock receiver listening on ${mock.url} (verifies JWTs through ${server.jwksUrl})`);
  print(`demo: endpoint ${endpoint.id} -> ${endpoint.url} (JWT-signed, Handlebars body template)`);
  print(`demo: published ${event.type} as message ${published.messageId}`);
  print(`demo: delivery history: curl ${admin} ${server.url}/admin/endpoints/${endpoint.id}/attempts`);
  print(`demo: the message:       curl ${admin} ${server.url}/admin/messages/${published.messageId}`);

  return { mock, endpoint, messageId: published.messageId, close: () => mock.close() };
}

function describeWebhook(webhook: ReceivedWebhook, jwksUrl: string): string[] {
  const verification = webhook.verification;
  const check = verification.scheme === 'none'
    ? 'not verified (no scheme)'
    : verification.verified
      ? `JWT verified through ${jwksUrl} (iss ${String(verification.claims?.iss ?? '?')}, jti ${String(verification.claims?.jti ?? '?')})`
      : `verification FAILED: ${verification.error.code}: ${verification.error.message}`;
  const lines = [
    `demo: mock receiver got ${webhook.method} ${webhook.path} webhook-id=${webhook.webhookId ?? '-'} -> answered ${webhook.response.status}`,
    `demo:   ${check}`,
  ];
  for (const line of webhook.body.split('\n')) lines.push(`demo:   | ${line}`);
  return lines;
}

/** The catalog's example of the demo event (Apono's documented access request), under its catalog name. */
function aponoEvent(catalog: Array<{ type: string; example: unknown }>): { type: string; data: JsonValue } {
  // Matches `AccessRequestCreated` and a vendor-prefixed `apono.AccessRequestCreated` alike.
  const entry = catalog.find((item) => item.type === DEMO_EVENT_TYPE || item.type.endsWith(`.${DEMO_EVENT_TYPE}`));
  if (entry === undefined) throw new HooklineError('internal', `The event catalog has no ${DEMO_EVENT_TYPE}.`);
  return { type: entry.type, data: entry.example as JsonValue };
}
