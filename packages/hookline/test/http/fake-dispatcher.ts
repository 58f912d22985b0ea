import { HooklineError } from '@hookline/errors';
import type { CallbackAnswer, Dispatcher } from '../../src/contract.js';

/** A dispatcher that answers the public routes from fixed data, for route tests that need no delivery engine. */
export function fakeDispatcher(overrides: Partial<Dispatcher> = {}): Dispatcher {
  const unused = (name: string) => async (): Promise<never> => {
    throw new Error(`${name} is not part of this fake`);
  };
  return {
    createEndpoint: unused('createEndpoint'),
    getEndpoint: unused('getEndpoint'),
    listEndpoints: unused('listEndpoints'),
    updateEndpoint: unused('updateEndpoint'),
    deleteEndpoint: unused('deleteEndpoint'),
    publish: unused('publish'),
    testEndpoint: unused('testEndpoint'),
    redeliver: unused('redeliver'),
    getMessage: unused('getMessage'),
    listAttempts: unused('listAttempts'),
    async handleCallback(token: string, body: Uint8Array): Promise<CallbackAnswer> {
      if (token !== 'tok_good') throw new HooklineError('callback_not_found', 'No callback with this token.');
      return {
        tenant: 'default', messageId: 'msg_1', endpointId: 'ep_1', deliveryId: 'dlv_1', decision: 'approve',
        body: JSON.parse(new TextDecoder().decode(body)),
      };
    },
    onCallback: () => () => {},
    async jwks() {
      return { keys: [{ kty: 'OKP', crv: 'Ed25519', kid: 'k1', x: 'AAAA' }] };
    },
    eventTypes: () => [],
    on: () => () => {},
    start() {},
    async stop() {},
    ...overrides,
  };
}
