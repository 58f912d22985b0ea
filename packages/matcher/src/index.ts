export { compileMatcher } from './matcher.js';
export type { CompileMatcherOptions, MatchCondition, MatchMode, Matcher } from './matcher.js';
export { compileJsonPath, queryJsonPath } from './jsonpath.js';
export type { CompiledJsonPath } from './jsonpath.js';
export { compileTrigger, matchesTrigger } from './trigger.js';
export type { Trigger } from './trigger.js';
export { jsonEqual } from './json-equal.js';
