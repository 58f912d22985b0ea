// One example per event, shown by the admin page and docs ("view event's payload schema") and rendered by
// checkTemplate when a body template is saved. A test validates each against its schema.
import type {
  AponoAccessRequest,
  AponoWebhook,
  PayloadProvisionStep,
  PayloadTest,
  PermitAccessRequest,
  PermitCreateUser,
  PermitInviteUser,
  PermitOperationApproval,
  PermitRoleAssignment,
} from './types.js';

export const payloadTestExample: PayloadTest = {};

export const payloadProvisionStepExample: PayloadProvisionStep = {
  taskView: {
    task: {
      id: '2fCjhd5kJ3UdMwpzK5nXxDKpO1z',
      numericId: '1042',
      displayName: 'Grant: prod-db ReadOnly for Alice Rodriguez',
      state: 'TASK_STATE_OPEN',
      userId: '2mqg9IILyNefQ6oMTvolM4FjDTS',
      createdByUserId: '2mqg9IILyNefQ6oMTvolM4FjDTS',
      type: {
        grant: {
          appId: '2fCjgK8tYJxV9u8d1wupBMeXZ45',
          appEntitlementId: '2fCjhB7mVWk9yXv3Q2aAbLnrRtU',
          appUserId: '2fCjhQ1xN4dYpE8cZ7mWvKsTgHb',
          identityUserId: '2mqg9IILyNefQ6oMTvolM4FjDTS',
          grantDuration: '3600s',
        },
      },
    },
  },
  expanded: [],
};

/** The access request on Apono's outbound webhooks page, as documented (emails made valid addresses). */
export const aponoAccessRequestExample: AponoAccessRequest = {
  id: '123',
  friendly_id: 'AR-123',
  requester: { id: 'user-1', name: 'User', email: 'user@example.com' },
  justification: 'I need access to this',
  creation_date: 1696263265.852378,
  revocation_date: 1696266865.85238,
  access_flow: { id: 'flow-1', name: 'Flow 1' },
  access_bundle: { id: 'bundle-1', name: 'Bundle 1' },
  access_groups: [
    {
      integration: { id: 'integration-1', type: 'Postgresql', name: 'prod db' },
      resource_types: [{ id: 'postgresql-database', name: 'Database', display_path: 'Postgresql/Database' }],
      access_units: [
        {
          resource: {
            id: 'res-1',
            name: 'DB 1',
            path: 'prod db/res-1',
            type: { id: 'postgresql-database', name: 'Database', display_path: 'Postgresql/Database' },
          },
          permission: { id: 'ReadOnly', name: 'ReadOnly' },
        },
        {
          resource: {
            id: 'res-2',
            name: 'DB 2',
            path: 'prod db/res-2',
            type: { id: 'postgresql-database', name: 'Database', display_path: 'Postgresql/Database' },
          },
          permission: { id: 'ReadOnly', name: 'ReadOnly' },
        },
      ],
    },
  ],
  approvals_logical_relation: 'AllOf',
  approvals: [
    { name: 'Manager', type: 'Manager', status: 'Pending' },
    {
      name: 'Admins',
      type: 'Group',
      status: 'Approved',
      approver: { id: 'admin-1', name: 'Admin 1', email: 'admin@example.com' },
    },
  ],
};

/** Apono's documented webhook body. */
export const aponoWebhookExample: AponoWebhook = {
  event_type: 'AccessRequestCreated',
  event_time: 1696263265.851898,
  data: aponoAccessRequestExample,
};

export const permitCreateUserExample: PermitCreateUser = {
  email: 'new.user@example.com',
  tenant_key: 'acme',
  role: 'editor',
  permission_level: 'member',
  type: 'create_user',
};

export const permitInviteUserExample: PermitInviteUser = {
  email: 'invited@example.com',
  role: 'viewer',
  tenant_id: 'acme',
  user_invite_id: 'b6a4f5b2-3c1e-4d55-9f0a-2e7c8d9a1b34',
  type: 'invite_user',
};

export const permitInviteUserRebacExample: PermitInviteUser = {
  ...permitInviteUserExample,
  resource_instance_key: 'folder:finance-reports',
};

export const permitRoleAssignmentExample: PermitRoleAssignment = {
  user_id: 'user-42',
  tenant_id: 'acme',
  role: 'admin',
  permission_level: 'admin',
  type: 'role_assignment',
};

export const permitAccessRequestExample: PermitAccessRequest = {
  requesting_user_id: 'user-42',
  access_request_details: { tenant: 'acme', resource: 'document', resource_instance: 'doc-7', action: 'read' },
  reason: 'Quarterly audit',
  status: 'pending',
  reviewer_user_id: null,
  reviewer_comment: null,
};

export const permitOperationApprovalExample: PermitOperationApproval = {
  requesting_user_id: 'user-42',
  operation_approval_details: { tenant: 'acme', resource: 'payment', resource_instance: 'pay-991' },
  reason: 'Refund over the limit',
  status: 'approved',
  reviewer_user_id: 'user-7',
  reviewer_comment: 'Checked with finance',
};
