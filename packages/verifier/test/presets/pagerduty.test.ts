import { createHmac } from 'node:crypto';
import { createHmacSigner } from '@hookline/signer';
import { describe, expect, it } from 'vitest';
import { pagerduty } from '../../src/index.js';
import { outcome, verifiedEvent } from './helpers.js';

const secret = 'pd-secret';
const body = '{"event":{"id":"01DEN7H3","event_type":"incident.triggered"}}';
const mac = (key: string) => createHmac('sha256', key).update(body).digest('hex');
const request = (header: string) => ({ method: 'POST', url: '/in/pd', headers: { 'x-pagerduty-signature': header }, body });

describe('pagerduty preset', () => {
  it('passes when one of several v1 signatures matches, and ignores other versions', async () => {
    const event = await verifiedEvent(pagerduty({ secret }).verify(request(`v1=${mac('old')}, v2=${mac(secret)},v1=${mac(secret)}`)));
    expect(event.id).toBe('01DEN7H3');
  });

  it('refuses a header holding only other versions: malformed_header', async () => {
    expect(await outcome(pagerduty({ secret }).verify(request(`v2=${mac(secret)}`)))).toBe('malformed_header');
  });

  it('round-trips with hookline\'s own HMAC signer configured PagerDuty style', async () => {
    const signer = createHmacSigner({ secret, header: 'x-pagerduty-signature', prefix: 'v1=' });
    const result = await pagerduty({ secret }).verify({ method: 'POST', url: '/in/pd', headers: signer.sign({ body }), body });
    expect(result.kind).toBe('event');
  });
});
