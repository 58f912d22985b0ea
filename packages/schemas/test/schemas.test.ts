import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isHooklineError, type HooklineError } from '@hookline/errors';
import {
  APONO_STATUSES,
  RESERVED_HEADERS,
  SCHEMA_NAMES,
  check,
  endpointUrlProblem,
  eventCatalog,
  getEventType,
  getSchema,
  isReservedHeader,
  validate,
  type EndpointConfig,
  type SchemaName,
} from '@hookline/schemas';

function problemsOf(name: SchemaName, value: unknown): Array<{ pointer: string; message: string }> {
  const error = errorOf(() => validate(name, value));
  expect(error.code).toBe('invalid_payload');
  expect(error.details?.['schema']).toBe(name);
  return error.details?.['problems'] as Array<{ pointer: string; message: string }>;
}

function errorOf(action: () => unknown): HooklineError {
  try {
    action();
  } catch (error) {
    if (isHooklineError(error)) return error;
    throw error;
  }
  throw new Error('expected a HooklineError');
}

const endpoint: EndpointConfig = {
  name: 'Jira',
  description: 'Tickets for access requests',
  url: 'https://hooks.example.com/jira',
  method: 'POST',
  headers: { 'X-Team': 'security', 'x-trace': 'on' },
  auth: { type: 'hmac', secret: 'a-long-enough-secret', header: 'X-Signature', algorithm: 'sha256', prefix: 'sha256=' },
  triggers: ['AccessRequestCreated', 'c1.webhooks.v1.*'],
  filter: { '$.data.requester.email': 'a@example.com' },
  bodyTemplate: '{"summary": "{{data.friendly_id}}"}',
  active: true,
};

describe('every schema', () => {
  it('compiles, and refuses a value of the wrong type with a root problem', () => {
    for (const name of SCHEMA_NAMES) {
      expect(problemsOf(name, 'not an object')).toEqual([{ pointer: '', message: 'must be object' }]);
    }
  });

  it('is draft 2020-12 JSON Schema with an $id', () => {
    for (const name of SCHEMA_NAMES) expect(getSchema(name)['$id']).toBe(`urn:hookline:schema:${name}`);
  });

  it('refuses an unknown schema name as a configuration error', () => {
    expect(errorOf(() => validate('nope' as SchemaName, {})).code).toBe('invalid_config');
  });
});

describe('ConductorOne envelope and events', () => {
  const envelope = {
    version: 'v1',
    webhookId: '2fCjgK8tYJxV9u8d1wupBMeXZ45',
    callbackUrl: 'https://test-domain.conductor.one/api/v1/webhooks/callback/ChsyNVR0dHZX',
    event: 'c1.webhooks.v1.PayloadTest',
    payload: { '@type': 'type.googleapis.com/c1.webhooks.v1.PayloadTest' },
  };

  it('accepts both documented envelopes, including the empty test one, and keeps unknown fields', () => {
    expect(validate('envelope', envelope)).toBe(envelope);
    expect(validate('envelope', { ...envelope, callbackUrl: '', payload: { '@type': '' } }).callbackUrl).toBe('');
    expect(validate('envelope', { ...envelope, extra: { vendor: 'field' } }).extra).toEqual({ vendor: 'field' });
  });

  it('points at each broken envelope field', () => {
    expect(problemsOf('envelope', { ...envelope, version: 'v2', webhookId: '', payload: {} })).toEqual([
      { pointer: '/version', message: 'must be "v1"' },
      { pointer: '/webhookId', message: 'must NOT have fewer than 1 characters' },
      { pointer: '/payload/@type', message: 'is required' },
    ]);
    expect(problemsOf('envelope', { ...envelope, callbackUrl: 'not a url' })).toEqual([
      { pointer: '/callbackUrl', message: 'must match a schema in anyOf' },
    ]);
  });

  it('escapes JSON Pointer segments', () => {
    expect(problemsOf('envelope', { ...envelope, payload: { '@type': 1 } })).toEqual([
      { pointer: '/payload/@type', message: 'must be string' },
    ]);
    expect(problemsOf('endpoint', { ...endpoint, headers: { 'a/b~c': 'x' } })).toEqual([
      { pointer: '/headers/a~1b~0c', message: 'is not a valid header name' },
    ]);
  });

  it('needs a task id in a provision step, with or without the @type the envelope adds', () => {
    expect(problemsOf('c1.webhooks.v1.PayloadProvisionStep', { '@type': 'x', taskView: { task: {} } })).toEqual([
      { pointer: '/taskView/task/id', message: 'is required' },
    ]);
    const step = getEventType('c1.webhooks.v1.PayloadProvisionStep')!.example as Record<string, unknown>;
    expect(validate('c1.webhooks.v1.PayloadProvisionStep', { '@type': 'type.googleapis.com/c1.webhooks.v1.PayloadProvisionStep', ...step })).toBeTruthy();
    expect(validate('c1.webhooks.v1.PayloadTest', {})).toEqual({});
  });
});

describe('callback', () => {
  it.each([
    [{ version: 'v1', approve: { comment: 'This is approved.' } }],
    [{ version: 'v1', deny: { comment: 'This is denied. Please reach out to IT.' } }],
    [{ version: 'v1', reassign: { comment: 'Reassigning to Alice Rodriguez', newStepUserIds: ['2mqg9IILyNefQ6oMTvolM4FjDTS'] } }],
    [{ version: 'v1', approve: {} }],
  ])('accepts the documented answer %j', (body) => {
    expect(validate('callback', body)).toBe(body);
  });

  it('needs exactly one of approve, deny or reassign', () => {
    const exactlyOne = { pointer: '', message: 'must have exactly one of approve, deny or reassign' };
    expect(problemsOf('callback', { version: 'v1' })).toEqual([exactlyOne]);
    expect(problemsOf('callback', { version: 'v1', approve: {}, deny: {} })).toEqual([exactlyOne]);
  });

  it('checks the version and each decision', () => {
    expect(problemsOf('callback', { approve: {} })).toEqual([{ pointer: '/version', message: 'is required' }]);
    expect(problemsOf('callback', { version: 'v1', reassign: { comment: 1, newStepUserIds: [] } })).toEqual([
      { pointer: '/reassign/comment', message: 'must be string' },
      { pointer: '/reassign/newStepUserIds', message: 'must NOT have fewer than 1 items' },
    ]);
    expect(problemsOf('callback', { version: 'v1', reassign: { comment: 'x' } })).toEqual([
      { pointer: '/reassign/newStepUserIds', message: 'is required' },
    ]);
  });
});

describe('Apono and Permit events', () => {
  const accessRequest = getEventType('AccessRequestCreated')!.example as Record<string, unknown>;

  it('describes the access request published as data, the same for every status', () => {
    for (const status of APONO_STATUSES) expect(validate(`AccessRequest${status}`, accessRequest)).toBe(accessRequest);
    expect(problemsOf('AccessRequestGranted', { ...accessRequest, approvals_logical_relation: 'OneOf' })).toEqual([
      { pointer: '/approvals_logical_relation', message: 'must be one of "AnyOf", "AllOf"' },
    ]);
  });

  it('points into nested access groups', () => {
    const data = structuredClone(accessRequest) as { access_groups: Array<{ access_units: Array<Record<string, unknown>> }> };
    delete data.access_groups[0]!.access_units[1]!['permission'];
    expect(problemsOf('AccessRequestCreated', data)).toEqual([
      { pointer: '/access_groups/0/access_units/1/permission', message: 'is required' },
    ]);
  });

  it("accepts Apono's documented webhook body, and only its six event types", () => {
    const body = { event_type: 'AccessRequestExpired', event_time: 1696263265.851898, data: accessRequest };
    expect(validate('apono.webhook', body)).toBe(body);
    expect(problemsOf('apono.webhook', { ...body, event_type: 'AccessRequestDeleted', event_time: '1696263265' })).toEqual([
      {
        pointer: '/event_type',
        message:
          'must be one of "AccessRequestCreated", "AccessRequestApproved", "AccessRequestRejected", "AccessRequestGranted", "AccessRequestExpired", "AccessRequestFailed"',
      },
      { pointer: '/event_time', message: 'must be number' },
    ]);
  });

  it('accepts a ReBAC invite with its resource instance, and refuses a wrong type', () => {
    const invite = getEventType('permit.invite_user')!.example as Record<string, unknown>;
    expect(validate('permit.invite_user', { ...invite, resource_instance_key: 'folder:x' }).resource_instance_key).toBe('folder:x');
    expect(problemsOf('permit.invite_user', { ...invite, type: 'create_user' })).toEqual([{ pointer: '/type', message: 'must be "invite_user"' }]);
  });

  it('allows null reviewer fields on access requests but needs the details', () => {
    expect(problemsOf('permit.access_request', { requesting_user_id: 'u', status: 'pending', reason: 1 })).toEqual([
      { pointer: '/access_request_details', message: 'is required' },
      { pointer: '/reason', message: 'must be string,null' },
    ]);
  });
});

describe('endpoint', () => {
  it('accepts a full endpoint and each auth type', () => {
    expect(validate('endpoint', endpoint)).toBe(endpoint);
    for (const auth of [
      { type: 'jwt' },
      { type: 'none' },
      { type: 'standard-webhooks' },
      { type: 'standard-webhooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      { type: 'hmac', header: 'X-Sig', content: '{timestamp}.{body}', timestampHeader: 'X-Time', encoding: 'base64' },
      { type: 'bearer', token: 'abc.def' },
      { type: 'basic', username: 'user', password: 'p:ss word' },
    ]) {
      expect(validate('endpoint', { ...endpoint, auth }).auth).toEqual(auth);
    }
  });

  it('needs a name, a URL and at least one trigger', () => {
    expect(problemsOf('endpoint', {})).toEqual([
      { pointer: '/name', message: 'is required' },
      { pointer: '/url', message: 'is required' },
      { pointer: '/triggers', message: 'is required' },
    ]);
    expect(problemsOf('endpoint', { ...endpoint, triggers: [] })).toEqual([
      { pointer: '/triggers', message: 'must NOT have fewer than 1 items' },
    ]);
  });

  it('refuses unknown fields, a blank name, a non-URL, other methods and bad triggers', () => {
    expect(problemsOf('endpoint', { ...endpoint, id: 'x', name: '  ', url: 'hooks.example.com', method: 'PATCH', triggers: ['a*'] })).toEqual([
      { pointer: '/id', message: 'is not allowed' },
      { pointer: '/name', message: 'must not be blank' },
      { pointer: '/url', message: 'must be an absolute URL' },
      { pointer: '/method', message: 'must be one of "POST", "PUT", "DELETE"' },
      { pointer: '/triggers/0', message: 'must be an event type, "*" or a prefix ending in ".*"' },
    ]);
  });

  it('allows at most 10 headers, single-line, and refuses reserved names whatever their case', () => {
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`x-h${i}`, 'v']));
    expect(problemsOf('endpoint', { ...endpoint, headers: eleven })).toEqual([
      { pointer: '/headers', message: 'must NOT have more than 10 properties' },
    ]);
    expect(problemsOf('endpoint', { ...endpoint, headers: { AUTHORIZATION: 'Bearer x', 'Webhook-Signature': 'v1,x', 'x-ok': 'a\r\nb' } })).toEqual([
      { pointer: '/headers/AUTHORIZATION', message: 'is reserved: hookline sets this header' },
      { pointer: '/headers/Webhook-Signature', message: 'is reserved: hookline sets this header' },
      { pointer: '/headers/x-ok', message: 'must be a single line' },
    ]);
    for (const name of RESERVED_HEADERS) {
      expect(check('endpoint', { ...endpoint, headers: { [name.toUpperCase()]: 'x' } }).valid).toBe(false);
    }
  });

  it('checks each auth type against its own fields only', () => {
    expect(problemsOf('endpoint', { ...endpoint, auth: { type: 'bearer' } })).toEqual([{ pointer: '/auth/token', message: 'is required' }]);
    expect(problemsOf('endpoint', { ...endpoint, auth: { type: 'bearer', token: 'a b', secret: 'x' } })).toEqual([
      { pointer: '/auth/secret', message: 'is not allowed' },
      { pointer: '/auth/token', message: 'must be a token without spaces' },
    ]);
    expect(problemsOf('endpoint', { ...endpoint, auth: { type: 'kerberos' } })).toEqual([
      { pointer: '/auth', message: 'value of tag "type" must be in oneOf' },
    ]);
    expect(problemsOf('endpoint', { ...endpoint, auth: { type: 'hmac', header: 'Content-Type', content: '{timestamp}' } })).toEqual([
      { pointer: '/auth/timestampHeader', message: 'is required' },
      { pointer: '/auth/header', message: 'is reserved: hookline sets this header' },
      { pointer: '/auth/content', message: 'must include {body}' },
    ]);
    expect(problemsOf('endpoint', { ...endpoint, auth: { type: 'basic', username: 'a:b', password: '' } })).toEqual([
      { pointer: '/auth/username', message: 'must not contain ":"' },
      { pointer: '/auth/password', message: 'must NOT have fewer than 1 characters' },
    ]);
  });

  it('limits the body template size', () => {
    expect(problemsOf('endpoint', { ...endpoint, bodyTemplate: 'x'.repeat(64 * 1024 + 1) })).toEqual([
      { pointer: '/bodyTemplate', message: 'must NOT have more than 65536 characters' },
    ]);
  });

  it('accepts any subset as a patch, and checks what is there', () => {
    expect(validate('endpoint-patch', {})).toEqual({});
    expect(validate('endpoint-patch', { active: false })).toEqual({ active: false });
    expect(problemsOf('endpoint-patch', { active: 'no', triggers: [] })).toEqual([
      { pointer: '/triggers', message: 'must NOT have fewer than 1 items' },
      { pointer: '/active', message: 'must be boolean' },
    ]);
  });
});

describe('inbound source', () => {
  it('accepts every platform', () => {
    for (const platform of ['github', 'slack', 'stripe', 'twilio', 'pagerduty', 'zendesk', 'sendgrid', 'shopify', 'x', 'meta', 'standard-webhooks', 'jwt', 'header', 'hmac']) {
      expect(validate('inbound-source', { name: 'in', platform, config: { secret: 's' }, matches: { '$.a': 1 } }).platform).toBe(platform);
    }
  });

  it('refuses an unknown platform, missing config and unknown fields', () => {
    expect(problemsOf('inbound-source', { name: 'in', platform: 'gitlab', secret: 'x' })).toEqual([
      { pointer: '/config', message: 'is required' },
      { pointer: '/secret', message: 'is not allowed' },
      { pointer: '/platform', message: expect.stringMatching(/^must be one of "github", "slack", /) as unknown as string },
    ]);
    expect(validate('inbound-source-patch', { matches: {} })).toEqual({ matches: {} });
  });
});

describe('check', () => {
  it('returns problems instead of throwing', () => {
    expect(check('callback', { version: 'v1', deny: {} })).toEqual({ valid: true, value: { version: 'v1', deny: {} } });
    expect(check('callback', {})).toEqual({
      valid: false,
      problems: [
        { pointer: '', message: 'must have exactly one of approve, deny or reassign' },
        { pointer: '/version', message: 'is required' },
      ],
    });
  });
});

describe('event catalog', () => {
  it('lists every ConductorOne, Apono and Permit event once', () => {
    expect(eventCatalog.map((event) => event.type)).toEqual([
      'c1.webhooks.v1.PayloadTest',
      'c1.webhooks.v1.PayloadProvisionStep',
      'AccessRequestCreated',
      'AccessRequestApproved',
      'AccessRequestRejected',
      'AccessRequestGranted',
      'AccessRequestExpired',
      'AccessRequestFailed',
      'permit.create_user',
      'permit.invite_user',
      'permit.role_assignment',
      'permit.access_request',
      'permit.operation_approval',
    ]);
  });

  it.each(eventCatalog.map((event) => [event.type, event] as const))('has an example of %s that validates against its schema', (type, event) => {
    expect(event.description.length).toBeGreaterThan(10);
    expect(event.schema).toBe(getSchema(type as SchemaName));
    expect(validate(type as SchemaName, event.example)).toBe(event.example);
  });

  it('finds an event type, or nothing for an unknown one', () => {
    expect(getEventType('permit.role_assignment')?.vendor).toBe('permit');
    expect(getEventType('app.order.created')).toBeUndefined();
  });

  it('cannot be changed by a caller', () => {
    const event = getEventType('c1.webhooks.v1.PayloadTest')!;
    expect(Object.isFrozen(event.example)).toBe(true);
    expect(Object.isFrozen(event.schema)).toBe(true);
    expect(() => (eventCatalog as unknown[]).push({})).toThrow(TypeError);
  });
});

describe('endpoint URL policy', () => {
  it('wants https, no custom port and no credentials by default', () => {
    expect(endpointUrlProblem('https://hooks.example.com/a?b=1')).toBeUndefined();
    expect(endpointUrlProblem('https://hooks.example.com:443/a')).toBeUndefined();
    expect(endpointUrlProblem('http://hooks.example.com/a')).toBe('must use https');
    expect(endpointUrlProblem('https://hooks.example.com:8443/a')).toBe('must not use a custom port');
    expect(endpointUrlProblem('https://user:pass@hooks.example.com/')).toBe('must not contain credentials; use auth instead');
    expect(endpointUrlProblem('ftp://hooks.example.com/')).toBe('must use https');
    expect(endpointUrlProblem('not a url')).toBe('is not a valid URL');
  });

  it('allows http and ports in development', () => {
    expect(endpointUrlProblem('http://localhost:4000/hook', { allowHttp: true })).toBeUndefined();
    expect(endpointUrlProblem('http://localhost:4000/hook', { allowHttp: true, allowCustomPort: false })).toBe('must not use a custom port');
    expect(endpointUrlProblem('ftp://localhost/', { allowHttp: true })).toBe('must use https or http');
  });

  it('tells reserved header names case-insensitively', () => {
    expect(isReservedHeader('Content-Type')).toBe(true);
    expect(isReservedHeader('webhook-id')).toBe(true);
    expect(isReservedHeader('X-Hookline-Attempt')).toBe(true);
    expect(isReservedHeader('X-Team')).toBe(false);
  });
});

describe('docs/event-catalog.md', () => {
  it('lists every event type of the catalog', () => {
    const page = readFileSync(new URL('../../../docs/event-catalog.md', import.meta.url), 'utf8');
    for (const event of eventCatalog) expect(page).toContain(`| \`${event.type}\` |`);
  });
});
