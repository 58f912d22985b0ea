import { createHmacSigner } from '@hookline/signer';
import { describe, expect, it } from 'vitest';
import { shopify } from '../../src/index.js';
import { signShopify, verifiedEvent } from './helpers.js';

const secret = 'shop-secret';
const body = '{"id":820982911946154508,"email":"jon@example.com"}';

describe('shopify preset', () => {
  it('reports X-Shopify-Webhook-Id as the id and the shop domain and topic as unverified', async () => {
    const event = await verifiedEvent(shopify({ secret }).verify(signShopify({ secret, body })));
    expect(event.id).toBe('webhook-1');
    expect(event.unverified).toEqual({ 'x-shopify-shop-domain': 'example.myshopify.com', 'x-shopify-topic': 'orders/create' });
  });

  it('keeps the raw bytes: a large integer id is verified before any JSON number loses precision', async () => {
    const event = await verifiedEvent(shopify({ secret }).verify(signShopify({ secret, body })));
    expect(Buffer.from(event.rawBody).toString()).toContain('820982911946154508');
  });

  it('round-trips with hookline\'s own HMAC signer configured Shopify style', async () => {
    const signer = createHmacSigner({ secret, header: 'x-shopify-hmac-sha256', encoding: 'base64' });
    const result = await shopify({ secret }).verify({ method: 'POST', url: '/in/shop', headers: signer.sign({ body }), body });
    expect(result.kind).toBe('event');
  });
});
