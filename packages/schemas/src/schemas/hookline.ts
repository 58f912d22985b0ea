// hookline's own configuration: endpoints and inbound sources. Unknown properties are refused (a typo is an error).
import { HEADER_NAME_PATTERN, RESERVED_HEADER_PATTERN } from '../headers.js';

/** Largest body template accepted by the schema, in characters (the templater also limits UTF-8 bytes). */
export const BODY_TEMPLATE_MAX_LENGTH = 64 * 1024;
/** At most this many custom headers per endpoint (Apono's limit). */
export const MAX_ENDPOINT_HEADERS = 10;

/** An event type, `*`, or a prefix ending in `.*`. */
export const TRIGGER_PATTERN = '^(?:\\*|[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*(?:\\.\\*)?)$';

export const INBOUND_PLATFORMS = [
  'github',
  'slack',
  'stripe',
  'twilio',
  'pagerduty',
  'zendesk',
  'sendgrid',
  'shopify',
  'x',
  'meta',
  'standard-webhooks',
  'jwt',
  'header',
  'hmac',
] as const;

const nonBlank = (maxLength: number) =>
  ({ type: 'string', minLength: 1, maxLength, pattern: '\\S', 'x-problem': 'must not be blank' }) as const;
const headerName = { type: 'string', pattern: HEADER_NAME_PATTERN, 'x-problem': 'is not a valid header name' } as const;
/** A header name an endpoint may set: valid, and not one hookline sets itself. */
const customHeaderName = {
  ...headerName,
  not: { type: 'string', pattern: RESERVED_HEADER_PATTERN, 'x-problem': 'is reserved: hookline sets this header' },
} as const;

const auth = {
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [
    { properties: { type: { const: 'jwt' } }, additionalProperties: false },
    { properties: { type: { const: 'none' } }, additionalProperties: false },
    {
      properties: {
        type: { const: 'standard-webhooks' },
        secret: {
          type: 'string',
          pattern: '^(whsec_)?[A-Za-z0-9+/=_-]{16,}$',
          maxLength: 512,
          'x-problem': 'must be a whsec_ secret (base64, at least 16 characters)',
        },
      },
      additionalProperties: false,
    },
    {
      required: ['header'],
      properties: {
        type: { const: 'hmac' },
        secret: { type: 'string', minLength: 16, maxLength: 512 },
        header: customHeaderName,
        algorithm: { enum: ['sha1', 'sha256', 'sha512'] },
        encoding: { enum: ['hex', 'base64'] },
        prefix: { type: 'string', maxLength: 64 },
        content: { type: 'string', pattern: '\\{body\\}', maxLength: 256, 'x-problem': 'must include {body}' },
        timestampHeader: headerName,
      },
      additionalProperties: false,
      if: { required: ['content'], properties: { content: { type: 'string', pattern: '\\{timestamp\\}' } } },
      then: { required: ['timestampHeader'] },
    },
    {
      required: ['token'],
      properties: {
        type: { const: 'bearer' },
        token: { type: 'string', pattern: '^\\S+$', maxLength: 4096, 'x-problem': 'must be a token without spaces' },
      },
      additionalProperties: false,
    },
    {
      required: ['username', 'password'],
      properties: {
        type: { const: 'basic' },
        username: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^:]+$', 'x-problem': 'must not contain ":"' },
        password: { type: 'string', minLength: 1, maxLength: 1024 },
      },
      additionalProperties: false,
    },
  ],
} as const;

const endpointProperties = {
  name: nonBlank(200),
  description: { type: 'string', maxLength: 2000 },
  url: { type: 'string', format: 'uri', maxLength: 2048, 'x-problem': 'must be an absolute URL' },
  method: { enum: ['POST', 'PUT', 'DELETE'] },
  headers: {
    type: 'object',
    maxProperties: MAX_ENDPOINT_HEADERS,
    propertyNames: customHeaderName,
    additionalProperties: {
      type: 'string',
      maxLength: 8192,
      pattern: '^[^\\r\\n\\u0000]*$',
      'x-problem': 'must be a single line',
    },
  },
  auth,
  triggers: {
    type: 'array',
    minItems: 1,
    maxItems: 100,
    items: {
      type: 'string',
      maxLength: 200,
      pattern: TRIGGER_PATTERN,
      'x-problem': 'must be an event type, "*" or a prefix ending in ".*"',
    },
  },
  filter: { type: 'object', maxProperties: 50 },
  bodyTemplate: { type: 'string', minLength: 1, maxLength: BODY_TEMPLATE_MAX_LENGTH },
  active: { type: 'boolean' },
} as const;

export const endpointSchema = {
  $id: 'urn:hookline:schema:endpoint',
  title: 'hookline endpoint',
  description: 'A subscriber endpoint: where, how signed, which events, and how the body is built.',
  type: 'object',
  required: ['name', 'url', 'triggers'],
  properties: endpointProperties,
  additionalProperties: false,
} as const;

export const endpointPatchSchema = {
  $id: 'urn:hookline:schema:endpoint-patch',
  title: 'hookline endpoint patch',
  description: 'A partial endpoint: only the fields to change.',
  type: 'object',
  properties: endpointProperties,
  additionalProperties: false,
} as const;

const sourceProperties = {
  name: nonBlank(200),
  platform: { enum: INBOUND_PLATFORMS },
  config: { type: 'object', description: "The platform preset's options and secrets." },
  matches: { type: 'object', maxProperties: 50, description: 'JSONPath keys and expected values, all must hold.' },
} as const;

export const inboundSourceSchema = {
  $id: 'urn:hookline:schema:inbound-source',
  title: 'hookline inbound source',
  description: 'An inbound webhook source: its platform, how it is verified, and which payloads it accepts.',
  type: 'object',
  required: ['name', 'platform', 'config'],
  properties: sourceProperties,
  additionalProperties: false,
} as const;

export const inboundSourcePatchSchema = {
  $id: 'urn:hookline:schema:inbound-source-patch',
  title: 'hookline inbound source patch',
  description: 'A partial inbound source: only the fields to change.',
  type: 'object',
  properties: sourceProperties,
  additionalProperties: false,
} as const;
