import { Inject } from '@nestjs/common';
import { HOOKLINE, HOOKLINE_STORE } from './hookline.constants.js';

/** Injects the app's `Hookline` (publish, endpoints, `on`, `waitFor`). */
export const InjectHookline = (): ParameterDecorator & PropertyDecorator => Inject(HOOKLINE);

/** Injects the `DeliveryStore` hookline runs on. */
export const InjectHooklineStore = (): ParameterDecorator & PropertyDecorator => Inject(HOOKLINE_STORE);
