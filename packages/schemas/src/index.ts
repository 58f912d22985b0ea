export { validate, check } from './validate.js';
export type { SchemaProblem } from './validate.js';
export { SCHEMAS, SCHEMA_NAMES, getSchema } from './registry.js';
export { eventCatalog, getEventType } from './catalog.js';
export type { EventType } from './catalog.js';
export {
  RESERVED_HEADERS,
  RESERVED_HEADER_PREFIXES,
  isReservedHeader,
  endpointUrlProblem,
} from './headers.js';
export { BODY_TEMPLATE_MAX_LENGTH, MAX_ENDPOINT_HEADERS, INBOUND_PLATFORMS } from './schemas/hookline.js';
export { APONO_STATUSES } from './schemas/apono.js';
export type * from './types.js';
