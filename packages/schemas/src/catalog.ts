import { APONO_STATUSES } from './schemas/apono.js';
import {
  aponoAccessRequestExample,
  payloadProvisionStepExample,
  payloadTestExample,
  permitAccessRequestExample,
  permitCreateUserExample,
  permitInviteUserExample,
  permitOperationApprovalExample,
  permitRoleAssignmentExample,
} from './examples.js';
import { SCHEMAS } from './registry.js';
import type { JsonSchema, SchemaName } from './types.js';

/**
 * One event type hookline can send: what it means, the JSON Schema of the data published with it (what a body
 * template reads as `data`), and an example of that data.
 */
export interface EventType {
  /** The type published and matched by triggers, e.g. `c1.webhooks.v1.PayloadTest`. */
  readonly type: string;
  /** Who defined the event's shape. */
  readonly vendor: 'conductorone' | 'apono' | 'permit';
  readonly description: string;
  /** JSON Schema (draft 2020-12) of the event's data; also available as `validate(type, data)`. */
  readonly schema: JsonSchema;
  /** A valid example of the data. */
  readonly example: unknown;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

function entry(type: SchemaName, vendor: EventType['vendor'], description: string, example: unknown): EventType {
  return deepFreeze({ type, vendor, description, schema: SCHEMAS[type], example });
}

const APONO_DESCRIPTIONS: Record<(typeof APONO_STATUSES)[number], string> = {
  Created: 'An access request was created.',
  Approved: 'An access request was approved.',
  Rejected: 'An access request was rejected.',
  Granted: 'The access of an access request was granted.',
  Expired: 'The access of an access request expired and was revoked.',
  Failed: 'An access request failed to be granted.',
};

/**
 * Every event type hookline ships: ConductorOne's payloads, Apono's access-request events and Permit's Elements
 * events, each with its schema and an example (Apono's "view event's payload schema").
 *
 * @example
 * ```ts
 * eventCatalog.map((event) => event.type); // ['c1.webhooks.v1.PayloadTest', 'c1.webhooks.v1.PayloadProvisionStep', ...]
 * ```
 */
export const eventCatalog: readonly EventType[] = Object.freeze([
  entry(
    'c1.webhooks.v1.PayloadTest',
    'conductorone',
    'An empty payload, sent by "Test webhook" to check an endpoint.',
    payloadTestExample,
  ),
  entry(
    'c1.webhooks.v1.PayloadProvisionStep',
    'conductorone',
    'A provisioning step to carry out, as ConductorOne\'s GetTask API returns it; answer on the callback URL after a 202.',
    payloadProvisionStepExample,
  ),
  ...APONO_STATUSES.map((status) =>
    entry(`AccessRequest${status}`, 'apono', APONO_DESCRIPTIONS[status], aponoAccessRequestExample),
  ),
  entry('permit.create_user', 'permit', 'User Management: a user was created.', permitCreateUserExample),
  entry(
    'permit.invite_user',
    'permit',
    'User Management: a user was invited; the invite is approved by user_invite_id (ReBAC invites add resource_instance_key).',
    permitInviteUserExample,
  ),
  entry('permit.role_assignment', 'permit', 'User Management: a role was assigned to a user.', permitRoleAssignmentExample),
  entry('permit.access_request', 'permit', 'Access Request: an access request was made or reviewed.', permitAccessRequestExample),
  entry(
    'permit.operation_approval',
    'permit',
    'Operation Approval: an operation approval was requested or reviewed.',
    permitOperationApprovalExample,
  ),
]);

const byType = new Map(eventCatalog.map((event) => [event.type, event]));

/**
 * The catalog entry of an event type, or undefined when hookline does not know it (apps may publish their own types).
 *
 * @example
 * ```ts
 * getEventType('AccessRequestGranted')?.example; // { id: '123', friendly_id: 'AR-123', ... }
 * ```
 */
export function getEventType(type: string): EventType | undefined {
  return byType.get(type);
}
