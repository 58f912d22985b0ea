// TypeScript types matching the JSON Schemas (a test validates typed examples against each schema).

/** Vendor payloads keep fields hookline does not know about. */
type Open = { [key: string]: unknown };

export interface Envelope extends Open {
  version: 'v1';
  webhookId: string;
  /** Empty when the event takes no asynchronous answer. */
  callbackUrl: string;
  event: string;
  payload: { '@type': string } & Open;
}

/** Published data of `c1.webhooks.v1.PayloadTest`: empty (the envelope adds `@type`). */
export interface PayloadTest extends Open {
  '@type'?: string;
}

/** Published data of `c1.webhooks.v1.PayloadProvisionStep` (the envelope adds `@type`). */
export interface PayloadProvisionStep extends Open {
  '@type'?: string;
  taskView: Open & {
    task: Open & {
      id: string;
      numericId?: string;
      displayName?: string;
      state?: string;
      userId?: string;
      createdByUserId?: string;
      type?: Open;
    };
  };
  expanded?: Open[];
}

export interface CallbackDecision extends Open {
  comment?: string;
}

/** A ConductorOne callback answer: exactly one of approve, deny or reassign. */
export type CallbackBody = Open & { version: 'v1' } & (
    | { approve: CallbackDecision; deny?: never; reassign?: never }
    | { deny: CallbackDecision; approve?: never; reassign?: never }
    | { reassign: CallbackDecision & { newStepUserIds: string[] }; approve?: never; deny?: never }
  );

export type AponoStatus = 'Created' | 'Approved' | 'Rejected' | 'Granted' | 'Expired' | 'Failed';

interface AponoIdName extends Open {
  id: string;
  name: string;
}

interface AponoResourceType extends AponoIdName {
  display_path?: string;
}

interface AponoPerson extends Open {
  id: string;
  name?: string;
  email: string;
}

export interface AponoAccessRequest extends Open {
  id: string;
  friendly_id: string;
  requester: AponoPerson;
  justification?: string | null;
  creation_date: number;
  revocation_date?: number | null;
  access_flow?: AponoIdName;
  access_bundle?: AponoIdName | null;
  access_groups: Array<
    Open & {
      integration: Open & { id: string; type?: string; name: string };
      resource_types?: AponoResourceType[];
      access_units: Array<
        Open & {
          resource: Open & { id: string; name: string; path?: string; type?: AponoResourceType };
          permission: AponoIdName;
        }
      >;
    }
  >;
  approvals_logical_relation?: 'AnyOf' | 'AllOf';
  approvals?: Array<Open & { name: string; type: string; status: string; approver?: AponoPerson }>;
}

/** A whole Apono webhook body; `event_type` is `AccessRequest<Status>`. */
export interface AponoWebhook<S extends AponoStatus = AponoStatus> extends Open {
  event_type: `AccessRequest${S}`;
  event_time: number;
  data: AponoAccessRequest;
}

export interface PermitCreateUser extends Open {
  email: string;
  tenant_key: string;
  role: string;
  permission_level: string;
  type: 'create_user';
}

export interface PermitInviteUser extends Open {
  email: string;
  role: string;
  tenant_id: string;
  user_invite_id: string;
  /** ReBAC invites only. */
  resource_instance_key?: string;
  type: 'invite_user';
}

export interface PermitRoleAssignment extends Open {
  user_id: string;
  tenant_id: string;
  role: string;
  permission_level: string;
  type: 'role_assignment';
}

interface PermitReview extends Open {
  requesting_user_id: string;
  reason?: string | null;
  status: string;
  reviewer_user_id?: string | null;
  reviewer_comment?: string | null;
}

export interface PermitAccessRequest extends PermitReview {
  access_request_details: Open & { tenant: string; resource: string; resource_instance?: string; action: string };
}

export interface PermitOperationApproval extends PermitReview {
  operation_approval_details: Open & { tenant: string; resource: string; resource_instance?: string };
}

export type EndpointMethod = 'POST' | 'PUT' | 'DELETE';

export type EndpointAuth =
  | { type: 'jwt' }
  | { type: 'none' }
  | { type: 'standard-webhooks'; secret?: string }
  | {
      type: 'hmac';
      secret?: string;
      header: string;
      algorithm?: 'sha1' | 'sha256' | 'sha512';
      encoding?: 'hex' | 'base64';
      prefix?: string;
      /** What is signed, with `{body}` (and `{timestamp}`, which then needs `timestampHeader`). */
      content?: string;
      timestampHeader?: string;
    }
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string };

/** An endpoint as configured (the store adds its id and tenant). */
export interface EndpointConfig {
  name: string;
  description?: string;
  url: string;
  method?: EndpointMethod;
  headers?: Record<string, string>;
  auth?: EndpointAuth;
  triggers: string[];
  filter?: Record<string, unknown>;
  bodyTemplate?: string;
  active?: boolean;
}

export type EndpointPatch = Partial<EndpointConfig>;

export type InboundPlatform =
  | 'github'
  | 'slack'
  | 'stripe'
  | 'twilio'
  | 'pagerduty'
  | 'zendesk'
  | 'sendgrid'
  | 'shopify'
  | 'x'
  | 'meta'
  | 'standard-webhooks'
  | 'jwt'
  | 'header'
  | 'hmac';

export interface InboundSourceConfig {
  name: string;
  platform: InboundPlatform;
  config: Record<string, unknown>;
  matches?: Record<string, unknown>;
}

export type InboundSourcePatch = Partial<InboundSourceConfig>;

/** Every schema by name, with the type a valid value has. */
export interface SchemaTypes {
  envelope: Envelope;
  'c1.webhooks.v1.PayloadTest': PayloadTest;
  'c1.webhooks.v1.PayloadProvisionStep': PayloadProvisionStep;
  callback: CallbackBody;
  AccessRequestCreated: AponoAccessRequest;
  AccessRequestApproved: AponoAccessRequest;
  AccessRequestRejected: AponoAccessRequest;
  AccessRequestGranted: AponoAccessRequest;
  AccessRequestExpired: AponoAccessRequest;
  AccessRequestFailed: AponoAccessRequest;
  'apono.webhook': AponoWebhook;
  'permit.create_user': PermitCreateUser;
  'permit.invite_user': PermitInviteUser;
  'permit.role_assignment': PermitRoleAssignment;
  'permit.access_request': PermitAccessRequest;
  'permit.operation_approval': PermitOperationApproval;
  endpoint: EndpointConfig;
  'endpoint-patch': EndpointPatch;
  'inbound-source': InboundSourceConfig;
  'inbound-source-patch': InboundSourcePatch;
}

export type SchemaName = keyof SchemaTypes;

/** A JSON Schema document (draft 2020-12). */
export type JsonSchema = { readonly [keyword: string]: unknown };
