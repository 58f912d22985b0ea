import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { HooklineModuleOptions } from './hookline-options.interface.js';
import { createHooklineController } from './hookline.controller.js';

/** Options known before the app starts, so they cannot come from `forRootAsync`'s factory. */
export interface HooklineModuleExtras {
  /** Where the routes are served (default `hooks`: `/hooks/in/:sourceId`, `/hooks/callbacks/:token`, ...). */
  path?: string;
  /** Registers the module globally, so `@InjectHookline()` and `WebhookGuard` work in every module (default true). */
  isGlobal?: boolean;
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: HOOKLINE_MODULE_OPTIONS, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<HooklineModuleOptions>({ moduleName: 'Hookline' })
    .setClassMethodName('forRoot')
    .setExtras<HooklineModuleExtras>({ path: 'hooks', isGlobal: true }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal ?? true,
      controllers: [createHooklineController(extras.path ?? 'hooks')],
    }))
    .build();
