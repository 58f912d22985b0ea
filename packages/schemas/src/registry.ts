import { aponoEventSchema, aponoWebhookSchema } from './schemas/apono.js';
import {
  callbackSchema,
  envelopeSchema,
  payloadProvisionStepSchema,
  payloadTestSchema,
} from './schemas/conductorone.js';
import { endpointPatchSchema, endpointSchema, inboundSourcePatchSchema, inboundSourceSchema } from './schemas/hookline.js';
import {
  permitAccessRequestSchema,
  permitCreateUserSchema,
  permitInviteUserSchema,
  permitOperationApprovalSchema,
  permitRoleAssignmentSchema,
} from './schemas/permit.js';
import type { JsonSchema, SchemaName } from './types.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/** Every schema, by the name `validate` takes. Frozen: they are shared by every validation and the catalog. */
export const SCHEMAS: Readonly<Record<SchemaName, JsonSchema>> = deepFreeze({
  envelope: envelopeSchema,
  'c1.webhooks.v1.PayloadTest': payloadTestSchema,
  'c1.webhooks.v1.PayloadProvisionStep': payloadProvisionStepSchema,
  callback: callbackSchema,
  AccessRequestCreated: aponoEventSchema('Created'),
  AccessRequestApproved: aponoEventSchema('Approved'),
  AccessRequestRejected: aponoEventSchema('Rejected'),
  AccessRequestGranted: aponoEventSchema('Granted'),
  AccessRequestExpired: aponoEventSchema('Expired'),
  AccessRequestFailed: aponoEventSchema('Failed'),
  'apono.webhook': aponoWebhookSchema,
  'permit.create_user': permitCreateUserSchema,
  'permit.invite_user': permitInviteUserSchema,
  'permit.role_assignment': permitRoleAssignmentSchema,
  'permit.access_request': permitAccessRequestSchema,
  'permit.operation_approval': permitOperationApprovalSchema,
  endpoint: endpointSchema,
  'endpoint-patch': endpointPatchSchema,
  'inbound-source': inboundSourceSchema,
  'inbound-source-patch': inboundSourcePatchSchema,
} satisfies Record<SchemaName, JsonSchema>);

/** The names `validate` accepts. */
export const SCHEMA_NAMES: readonly SchemaName[] = Object.freeze(Object.keys(SCHEMAS) as SchemaName[]);

/**
 * The JSON Schema (draft 2020-12) registered under `name`, e.g. for an admin page or for documentation.
 *
 * @example
 * ```ts
 * getSchema('callback').required; // ['version']
 * ```
 */
export function getSchema<N extends SchemaName>(name: N): JsonSchema {
  return SCHEMAS[name];
}
