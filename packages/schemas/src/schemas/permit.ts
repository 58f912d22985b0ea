// Permit Elements webhooks, as documented on Permit's "Configure Webhooks" page. Unknown properties are kept.

const text = { type: 'string' } as const;
const nullableText = { type: ['string', 'null'] } as const;

export const permitCreateUserSchema = {
  $id: 'urn:hookline:schema:permit.create_user',
  title: 'permit.create_user',
  description: 'User Management: a user was created.',
  type: 'object',
  required: ['email', 'tenant_key', 'role', 'permission_level', 'type'],
  properties: { email: text, tenant_key: text, role: text, permission_level: text, type: { const: 'create_user' } },
} as const;

export const permitInviteUserSchema = {
  $id: 'urn:hookline:schema:permit.invite_user',
  title: 'permit.invite_user',
  description:
    'User Management: a user was invited and the invite awaits approval by user_invite_id. RBAC invites have no ' +
    'resource_instance_key; ReBAC invites name the resource instance.',
  type: 'object',
  required: ['email', 'role', 'tenant_id', 'user_invite_id', 'type'],
  properties: {
    email: text,
    role: text,
    tenant_id: text,
    user_invite_id: text,
    resource_instance_key: { type: 'string', description: 'ReBAC only.' },
    type: { const: 'invite_user' },
  },
} as const;

export const permitRoleAssignmentSchema = {
  $id: 'urn:hookline:schema:permit.role_assignment',
  title: 'permit.role_assignment',
  description: 'User Management: a role was assigned to a user.',
  type: 'object',
  required: ['user_id', 'tenant_id', 'role', 'permission_level', 'type'],
  properties: { user_id: text, tenant_id: text, role: text, permission_level: text, type: { const: 'role_assignment' } },
} as const;

const review = {
  requesting_user_id: text,
  reason: nullableText,
  status: { type: 'string', description: 'The request status (RequestStatus), e.g. pending, approved, denied.' },
  reviewer_user_id: nullableText,
  reviewer_comment: nullableText,
} as const;

export const permitAccessRequestSchema = {
  $id: 'urn:hookline:schema:permit.access_request',
  title: 'permit.access_request',
  description: 'Access Request Element: an access request was made or reviewed.',
  type: 'object',
  required: ['requesting_user_id', 'access_request_details', 'status'],
  properties: {
    ...review,
    access_request_details: {
      type: 'object',
      required: ['tenant', 'resource', 'action'],
      properties: { tenant: text, resource: text, resource_instance: text, action: text },
    },
  },
} as const;

export const permitOperationApprovalSchema = {
  $id: 'urn:hookline:schema:permit.operation_approval',
  title: 'permit.operation_approval',
  description: 'Operation Approval Element: an operation approval was requested or reviewed.',
  type: 'object',
  required: ['requesting_user_id', 'operation_approval_details', 'status'],
  properties: {
    ...review,
    operation_approval_details: {
      type: 'object',
      required: ['tenant', 'resource'],
      properties: { tenant: text, resource: text, resource_instance: text },
    },
  },
} as const;
