export { HooklineModule } from './hookline.module.js';
export { HOOKLINE_MODULE_OPTIONS, type HooklineModuleExtras } from './hookline.module-definition.js';
export { HOOKLINE, HOOKLINE_STORE, HOOKLINE_RESOLVED_OPTIONS, VERIFY_WEBHOOK_METADATA } from './hookline.constants.js';
export type { AuthorizeAdmin, HooklineModuleOptions, ResolvedHooklineOptions } from './hookline-options.interface.js';
export { InjectHookline, InjectHooklineStore } from './inject.decorators.js';
export { VerifyWebhook, Webhook, type WebhookVerifierRef } from './verify-webhook.decorator.js';
export { WebhookGuard } from './webhook.guard.js';
export type { PlatformRequest } from './raw-body.js';
