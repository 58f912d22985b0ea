export { compileTemplate, checkTemplate, TEMPLATE_MAX_BYTES } from './compile.js';
export type { CompileTemplateOptions, RenderedBody, Template } from './compile.js';
export { TEMPLATE_HELPER_NAMES } from './names.js';
