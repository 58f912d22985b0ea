import { afterEach, describe, expect, it } from 'vitest';
import { isHooklineError } from '@hookline/errors';
import { MemoryStore } from '@hookline/store';
import { nextEvent, setup, startReceiver } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isHooklineError(error)) return { code: error.code, status: error.status, details: error.details };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('destination policy', () => {
  // http and custom ports allowed, so only the address rule is under test.
  const addressOnly = { allowHttp: true, allowPrivateNetworks: false };

  it.each([
    ['loopback', 'http://127.0.0.1:8080/'],
    ['loopback, hex and short form', 'http://0x7f.1:8080/'],
    ['loopback, one decimal number', 'http://2130706433:8080/'],
    ['loopback, two parts', 'http://127.1:8080/'],
    ['loopback, octal', 'http://0177.0.0.1:8080/'],
    ['IPv6 loopback', 'http://[::1]:8080/'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]:8080/'],
    ['IPv4-mapped IPv6 private', 'http://[::ffff:10.0.0.1]:8080/'],
    ['private 10/8', 'http://10.1.2.3/'],
    ['private 172.16/12', 'http://172.16.0.9/'],
    ['private 192.168/16', 'http://192.168.1.1/'],
    ['cloud metadata (link-local)', 'http://169.254.169.254/latest/meta-data/'],
    ['CGNAT', 'http://100.64.0.1/'],
    ['unspecified', 'http://0.0.0.0/'],
    ['IPv6 unspecified', 'http://[::]/'],
    ['IPv6 unique-local (AWS metadata v6)', 'http://[fd00:ec2::254]/'],
    ['IPv6 link-local', 'http://[fe80::1]/'],
    ['multicast', 'http://224.0.0.1/'],
    ['NAT64 of loopback', 'http://[64:ff9b::7f00:1]/'],
  ])('refuses %s when creating an endpoint (%s)', async (_name, url) => {
    const { dispatcher } = await setup({ destinations: addressOnly });
    const error = await refusal(dispatcher.createEndpoint({ name: 'x', url, triggers: ['*'] }));
    expect(error).toMatchObject({ code: 'invalid_endpoint', status: 400, details: { field: 'url' } });
  });

  it('accepts a public address and a public host name', async () => {
    const { dispatcher } = await setup({ destinations: {} });
    await expect(dispatcher.createEndpoint({ name: 'x', url: 'https://93.184.215.14/hook', triggers: ['*'] })).resolves.toBeTruthy();
    await expect(dispatcher.createEndpoint({ name: 'x', url: 'https://hooks.example.com/hook', triggers: ['*'] })).resolves.toBeTruthy();
  });

  it('refuses http and custom ports by default', async () => {
    const { dispatcher } = await setup({ destinations: {} });
    expect(await refusal(dispatcher.createEndpoint({ name: 'x', url: 'http://hooks.example.com/', triggers: ['*'] }))).toMatchObject({ code: 'invalid_endpoint' });
    expect(await refusal(dispatcher.createEndpoint({ name: 'x', url: 'https://hooks.example.com:8443/', triggers: ['*'] }))).toMatchObject({ code: 'invalid_endpoint' });
    expect(await refusal(dispatcher.createEndpoint({ name: 'x', url: 'ftp://hooks.example.com/', triggers: ['*'] }))).toMatchObject({ code: 'invalid_endpoint' });
  });

  it('checks the address actually connected to: a name resolving to 127.0.0.1 is a recorded failed attempt', async () => {
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const { dispatcher } = await setup({ destinations: addressOnly });
    dispatcher.start();
    cleanup.push(() => dispatcher.stop());
    const { endpoint } = await dispatcher.createEndpoint({ name: 'rebind', url: `http://localhost:${receiver.port}/hook`, triggers: ['*'] });
    const failed = nextEvent(dispatcher, 'delivery.failed');
    const { messageId } = await dispatcher.publish({ type: 't', data: {} });
    const event = await failed;
    expect(event.attempt.error?.code).toBe('destination_not_allowed');
    expect(event.attempt.response).toBeUndefined();
    expect(receiver.requests).toHaveLength(0);
    const history = await dispatcher.listAttempts({ endpointId: endpoint.id });
    expect(history.items.map((a) => [a.messageId, a.error?.code])).toEqual([[messageId, 'destination_not_allowed']]);
  });

  it('refuses at send time an address stored while development mode was on', async () => {
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const store = new MemoryStore();
    const dev = (await setup({ store })).dispatcher;
    await dev.createEndpoint({ name: 'local', url: receiver.url, triggers: ['*'] });
    const { dispatcher } = await setup({ store, destinations: addressOnly });
    dispatcher.start();
    cleanup.push(() => dispatcher.stop());
    const failed = nextEvent(dispatcher, 'delivery.failed');
    await dispatcher.publish({ type: 't', data: {} });
    expect((await failed).attempt.error?.code).toBe('destination_not_allowed');
    expect(receiver.requests).toHaveLength(0);
  });

  it('allows http and loopback in development mode', async () => {
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const { dispatcher } = await setup({ destinations: { allowHttp: true, allowPrivateNetworks: true } });
    const { endpoint } = await dispatcher.createEndpoint({ name: 'dev', url: `http://localhost:${receiver.port}/hook`, triggers: ['*'] });
    expect((await dispatcher.testEndpoint(endpoint.id)).response?.status).toBe(200);
    await dispatcher.stop();
  });
});
