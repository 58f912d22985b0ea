/** Injection token of the app's `Hookline` instance (`@InjectHookline()`). */
export const HOOKLINE = Symbol('HOOKLINE');

/** Injection token of the `DeliveryStore` hookline uses (`@InjectHooklineStore()`). */
export const HOOKLINE_STORE = Symbol('HOOKLINE_STORE');

/** Metadata key `@VerifyWebhook()` writes and `WebhookGuard` reads. */
export const VERIFY_WEBHOOK_METADATA = 'hookline:verify-webhook';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** The one line a NestJS app adds so hookline sees the exact bytes that were signed. */
export const RAW_BODY_HINT = 'Create the app with NestFactory.create(AppModule, { rawBody: true }) so hookline sees the exact bytes that were signed.';

/** The module options with defaults merged, read by the controller and the guard. */
export const HOOKLINE_RESOLVED_OPTIONS = Symbol('HOOKLINE_RESOLVED_OPTIONS');
