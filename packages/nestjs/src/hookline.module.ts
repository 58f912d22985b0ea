import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Hookline } from 'hookline';
import { DEFAULT_MAX_BODY_BYTES, HOOKLINE, HOOKLINE_RESOLVED_OPTIONS, HOOKLINE_STORE } from './hookline.constants.js';
import type { HooklineModuleOptions, ResolvedHooklineOptions } from './hookline-options.interface.js';
import { ConfigurableModuleClass, HOOKLINE_MODULE_OPTIONS } from './hookline.module-definition.js';
import { WebhookGuard } from './webhook.guard.js';

/**
 * Serves hookline's routes from a NestJS app and makes the instance, its store and `WebhookGuard` injectable.
 *
 * @example
 * ```ts
 * @Module({ imports: [HooklineModule.forRoot({ hookline: createHookline({ store }) })] })
 * export class AppModule {}
 * // main.ts: NestFactory.create(AppModule, { rawBody: true })
 * ```
 */
@Module({
  providers: [
    {
      provide: HOOKLINE_RESOLVED_OPTIONS,
      inject: [HOOKLINE_MODULE_OPTIONS],
      // Every default is merged here, once.
      useFactory: (options: HooklineModuleOptions): ResolvedHooklineOptions => ({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES, verifiers: {}, ...options }),
    },
    { provide: HOOKLINE, inject: [HOOKLINE_RESOLVED_OPTIONS], useFactory: (options: ResolvedHooklineOptions) => options.hookline },
    { provide: HOOKLINE_STORE, inject: [HOOKLINE], useFactory: (hooks: Hookline) => hooks.store },
    WebhookGuard,
  ],
  exports: [HOOKLINE, HOOKLINE_STORE, HOOKLINE_RESOLVED_OPTIONS, WebhookGuard],
})
export class HooklineModule extends ConfigurableModuleClass implements OnApplicationShutdown {
  constructor(@Inject(HOOKLINE) private readonly hooks: Hookline) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.hooks.close();
  }
}
