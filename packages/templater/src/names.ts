import { TEMPLATE_HELPERS } from './helpers.js';

/** The helpers a body template may call (besides the block helpers each, if, unless, with). */
export const TEMPLATE_HELPER_NAMES: readonly string[] = Object.freeze(Object.keys(TEMPLATE_HELPERS));
