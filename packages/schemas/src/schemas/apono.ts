// Apono access-request events, as documented on Apono's outbound webhooks page. Unknown properties are kept.

/** Apono's access request statuses, each an event: AccessRequestCreated, AccessRequestApproved, ... */
export const APONO_STATUSES = ['Created', 'Approved', 'Rejected', 'Granted', 'Expired', 'Failed'] as const;

const idName = {
  type: 'object',
  required: ['id', 'name'],
  properties: { id: { type: 'string' }, name: { type: 'string' } },
} as const;

const resourceType = {
  type: 'object',
  required: ['id', 'name'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, display_path: { type: 'string' } },
} as const;

const person = {
  type: 'object',
  required: ['id', 'email'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, email: { type: 'string' } },
} as const;

export const aponoAccessRequestData = {
  type: 'object',
  required: ['id', 'friendly_id', 'requester', 'creation_date', 'access_groups'],
  properties: {
    id: { type: 'string', description: 'The Apono request ID.' },
    friendly_id: { type: 'string', description: 'The short, human-readable ID shown in the UI, e.g. AR-123.' },
    requester: person,
    justification: { type: ['string', 'null'] },
    creation_date: { type: 'number', description: 'Epoch seconds.milliseconds.' },
    revocation_date: { type: ['number', 'null'], description: 'Epoch seconds.milliseconds.' },
    access_flow: idName,
    access_bundle: { anyOf: [idName, { type: 'null' }] },
    access_groups: {
      type: 'array',
      description: 'Access groups; reference with {{#each data.access_groups}}{{integration.name}}{{/each}}.',
      items: {
        type: 'object',
        required: ['integration', 'access_units'],
        properties: {
          integration: {
            type: 'object',
            required: ['id', 'name'],
            properties: { id: { type: 'string' }, type: { type: 'string' }, name: { type: 'string' } },
          },
          resource_types: { type: 'array', items: resourceType },
          access_units: {
            type: 'array',
            items: {
              type: 'object',
              required: ['resource', 'permission'],
              properties: {
                resource: {
                  type: 'object',
                  required: ['id', 'name'],
                  properties: {
                    id: { type: 'string' },
                    name: { type: 'string' },
                    path: { type: 'string' },
                    type: resourceType,
                  },
                },
                permission: idName,
              },
            },
          },
        },
      },
    },
    approvals_logical_relation: { enum: ['AnyOf', 'AllOf'] },
    approvals: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'type', 'status'],
        properties: { name: { type: 'string' }, type: { type: 'string' }, status: { type: 'string' }, approver: person },
      },
    },
  },
} as const;

/** The data of one Apono access-request event, published as `AccessRequest<Status>` (Apono's own event_type). */
export function aponoEventSchema(status: (typeof APONO_STATUSES)[number]) {
  return {
    $id: `urn:hookline:schema:AccessRequest${status}`,
    title: `AccessRequest${status}`,
    description: `An Apono access request was ${status.toLowerCase()}: the access request, as Apono's data field.`,
    ...aponoAccessRequestData,
  } as const;
}

/** A whole Apono webhook body: event_type, event_time (epoch seconds) and the access request as data. */
export const aponoWebhookSchema = {
  $id: 'urn:hookline:schema:apono.webhook',
  title: 'Apono webhook',
  description: 'The body Apono sends: the trigger, its time and the access request.',
  type: 'object',
  required: ['event_type', 'event_time', 'data'],
  properties: {
    event_type: { enum: APONO_STATUSES.map((status) => `AccessRequest${status}`) },
    event_time: { type: 'number', description: 'The time of the event, in epoch seconds.milliseconds.' },
    data: aponoAccessRequestData,
  },
} as const;
