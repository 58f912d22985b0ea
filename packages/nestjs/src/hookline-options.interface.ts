import type { IncomingMessage } from 'node:http';
import type { Verifier } from '@hookline/verifier';
import type { Hookline } from 'hookline';

/** Decides who may use the admin API: a tenant id, `true` for the default tenant, or `false`/`undefined` for 401. */
export type AuthorizeAdmin = (request: IncomingMessage) => string | boolean | undefined | Promise<string | boolean | undefined>;

/** What `HooklineModule.forRoot()` (or the `useFactory` of `forRootAsync()`) provides. */
export interface HooklineModuleOptions {
  /** The app's hookline, from `createHookline()`. The module closes it on shutdown. */
  hookline: Hookline;
  /** Mounts `<path>/admin/...` behind the app's own check. Without it the admin API is not served. */
  admin?: { authorize: AuthorizeAdmin };
  /** Verifiers `@VerifyWebhook('name')` refers to, so their secrets can come from configuration. */
  verifiers?: Record<string, Verifier>;
  /** Largest body read by the routes and the guard, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

/** The options after defaults are merged, as the controller and the guard read them. */
export type ResolvedHooklineOptions = Required<Pick<HooklineModuleOptions, 'maxBodyBytes' | 'verifiers'>> & HooklineModuleOptions;
