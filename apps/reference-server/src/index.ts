export { loadConfig, parseRetrySchedule, DATA_FILES } from './config.js';
export type { ServerConfig, SecretOrigin, LogLevel } from './config.js';
export { startServer, TENANT, KEEP_LAST } from './server.js';
export type { RunningServer, StartOptions, HandledInboundEvent, HandledCallback } from './server.js';
export { startDemo, DEMO_ENDPOINT_NAME, DEMO_TEMPLATE } from './demo.js';
export type { Demo } from './demo.js';
