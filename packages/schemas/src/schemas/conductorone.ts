// ConductorOne webhooks: the envelope every body is wrapped in, its two event payloads, and the callback answer.
// Vendor shapes: unknown properties are kept (vendors add fields).


export const envelopeSchema = {
  $id: 'urn:hookline:schema:envelope',
  title: 'ConductorOne webhook envelope',
  description: 'The body of every ConductorOne-style webhook: metadata plus the event payload.',
  type: 'object',
  required: ['version', 'webhookId', 'callbackUrl', 'event', 'payload'],
  properties: {
    version: { const: 'v1', description: 'The version of the webhook.' },
    webhookId: { type: 'string', minLength: 1, description: 'The unique ID of the webhook (the message id).' },
    callbackUrl: {
      description: 'Where a delayed answer goes after a 202; empty when the event takes no answer.',
      anyOf: [{ const: '' }, { type: 'string', format: 'uri' }],
    },
    event: { type: 'string', minLength: 1, description: 'The event type, e.g. c1.webhooks.v1.PayloadTest.' },
    payload: {
      type: 'object',
      required: ['@type'],
      properties: { '@type': { type: 'string', description: 'type.googleapis.com/<event>, or empty.' } },
    },
  },
} as const;

export const payloadTestSchema = {
  $id: 'urn:hookline:schema:c1.webhooks.v1.PayloadTest',
  title: 'c1.webhooks.v1.PayloadTest',
  description: 'An empty payload, sent by "Test webhook". The envelope adds its @type.',
  type: 'object',
  properties: { '@type': { type: 'string' } },
} as const;

export const payloadProvisionStepSchema = {
  $id: 'urn:hookline:schema:c1.webhooks.v1.PayloadProvisionStep',
  title: 'c1.webhooks.v1.PayloadProvisionStep',
  description: 'A provisioning step to carry out: the task as ConductorOne\'s GetTask API returns it. The envelope adds its @type.',
  type: 'object',
  required: ['taskView'],
  properties: {
    '@type': { type: 'string' },
    taskView: {
      type: 'object',
      required: ['task'],
      properties: {
        task: {
          type: 'object',
          required: ['id'],
          properties: {
            id: { type: 'string', minLength: 1 },
            numericId: { type: 'string' },
            displayName: { type: 'string' },
            state: { type: 'string' },
            userId: { type: 'string' },
            createdByUserId: { type: 'string' },
            type: { type: 'object' },
          },
        },
      },
    },
    expanded: { type: 'array', items: { type: 'object' } },
  },
} as const;

const decision = {
  type: 'object',
  properties: { comment: { type: 'string', maxLength: 10_000 } },
} as const;

export const callbackSchema = {
  $id: 'urn:hookline:schema:callback',
  title: 'ConductorOne callback answer',
  description: 'The body POSTed to a callback URL: version v1 and exactly one of approve, deny or reassign.',
  type: 'object',
  required: ['version'],
  properties: {
    version: { const: 'v1' },
    approve: decision,
    deny: decision,
    reassign: {
      type: 'object',
      required: ['newStepUserIds'],
      properties: {
        comment: { type: 'string', maxLength: 10_000 },
        newStepUserIds: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
      },
    },
  },
  oneOf: [{ required: ['approve'] }, { required: ['deny'] }, { required: ['reassign'] }],
  'x-problem': 'must have exactly one of approve, deny or reassign',
} as const;
