import { describe, expect, it } from 'vitest';
import { zendesk } from '../../src/index.js';
import { now, outcome, signZendesk, verifiedEvent, withHeader } from './helpers.js';

const secret = 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==';
const body = '{"ticket":{"id":35436}}';

describe('zendesk preset', () => {
  it('reports the invocation id and the unsigned account id', async () => {
    const event = await verifiedEvent(zendesk({ secret, now }).verify(signZendesk({ secret, body })));
    expect(event.id).toBe('invocation-1');
    expect(event.unverified).toEqual({ 'x-zendesk-account-id': '123456' });
  });

  it.each(['1700000000', '2023-11-14 22:13:20', '2023-11-14T22:13:20', 'NaN', '2023-13-45T99:99:99Z'])(
    'refuses the timestamp %j, which is not an ISO 8601 instant: timestamp_invalid',
    async (stamp) => {
      const request = withHeader(signZendesk({ secret, body }), 'x-zendesk-webhook-signature-timestamp', stamp);
      expect(await outcome(zendesk({ secret, now }).verify(request))).toBe('timestamp_invalid');
    },
  );
});
