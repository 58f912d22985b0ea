// Compile-time checks and the one rewrite that makes a template JSON-safe: every mustache learns whether it sits
// inside a JSON string (string slot) or between JSON tokens (value slot) from the template's own text.
import { INTERNAL_NAMES, PUBLIC_BLOCK_HELPERS, PUBLIC_HELPERS, VALUE_SLOT_HELPER } from './engine.js';
import { rendersJsonAlways } from './proof.js';

type Node = hbs.AST.Node;
type Program = hbs.AST.Program;
type Expression = hbs.AST.Expression;
type PathExpression = hbs.AST.PathExpression;
type Hash = hbs.AST.Hash;

/** Path segments that lead to a prototype, a constructor or an inherited method: refused wherever they appear. */
const PROTOTYPE_SEGMENTS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  // Object.prototype methods: Handlebars denies them at render time too, but logs each denial to the console.
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  'toString',
  'valueOf',
]);

interface JsonLexState {
  inString: boolean;
  escapePending: boolean;
}

/** What the walk learns about the whole template. */
interface Analysis {
  /** Helpers the template calls, so each render sets up only those. */
  usedHelpers: Set<string>;
  /** The blocks the walk is inside, outermost first. */
  openBlocks: hbs.AST.BlockStatement[];
  /** Blocks whose text, at some point, is outside a JSON string: they shape the JSON structure. */
  structural: Set<hbs.AST.BlockStatement>;
  /** Set when the template can be shown to give JSON only by checking each rendering. */
  unprovable: boolean;
}

/** The result of preparing a parsed template for compilation. */
export interface PreparedTemplate {
  program: Program;
  usedHelpers: ReadonlySet<string>;
  /** True when every rendering is valid JSON whatever the data (see proof.ts); such templates skip the check. */
  alwaysJson: boolean;
}

/** A template the walk refuses, at a 1-based line and column of the source it parsed. */
export class TemplateProblem extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

function refuse(node: Node, message: string): never {
  throw new TemplateProblem(message, node.loc?.start.line ?? 1, (node.loc?.start.column ?? 0) + 1);
}

function isPath(expression: Expression): expression is PathExpression {
  return expression.type === 'PathExpression';
}

/** A helper name as written: a single plain segment, not `this.x`, `../x` or `@x`. */
function helperName(path: PathExpression): string | undefined {
  return !path.data && path.depth === 0 && path.parts.length === 1 && path.original === path.parts[0]
    ? path.parts[0]
    : undefined;
}

function checkPath(path: PathExpression): void {
  for (const part of path.parts) {
    if (PROTOTYPE_SEGMENTS.has(part)) refuse(path, `"${path.original}" reaches a prototype, which templates may not`);
    if (INTERNAL_NAMES.has(part)) refuse(path, `"${part}" is reserved`);
  }
}

function checkExpression(expression: Expression, analysis: Analysis): void {
  switch (expression.type) {
    case 'PathExpression':
      return checkPath(expression as PathExpression);
    case 'SubExpression': {
      const sub = expression as hbs.AST.SubExpression;
      checkCall(sub, sub.path, sub.params, sub.hash, PUBLIC_HELPERS, 'helper', analysis);
      return;
    }
    case 'StringLiteral':
    case 'NumberLiteral':
    case 'BooleanLiteral':
    case 'UndefinedLiteral':
    case 'NullLiteral':
      return;
    default:
      refuse(expression, `unsupported expression ${expression.type}`);
  }
}

function checkCall(
  node: Node,
  path: PathExpression,
  params: Expression[],
  hash: Hash | undefined,
  allowed: ReadonlySet<string>,
  kind: string,
  analysis: Analysis,
): void {
  if (hash && hash.pairs.length > 0) refuse(node, 'hash arguments (name=value) are not supported');
  const name = helperName(path);
  if (name === undefined || !allowed.has(name)) {
    refuse(node, `unknown ${kind} "${path.original}"; allowed: ${[...allowed].join(', ')}`);
  }
  if (PUBLIC_HELPERS.has(name)) analysis.usedHelpers.add(name);
  for (const param of params) checkExpression(param, analysis);
}

/** A mustache is a helper call when it has arguments or names a helper; otherwise it reads a path. */
function checkMustache(node: hbs.AST.MustacheStatement, analysis: Analysis): void {
  if (!node.escaped) refuse(node, 'triple-stash {{{ }}} and {{& }} are not allowed: every value is JSON-escaped');
  if (!isPath(node.path)) refuse(node, 'a mustache must name a field or a helper, not a literal');
  const path = node.path;
  const name = helperName(path);
  if (node.params.length > 0 || (node.hash && node.hash.pairs.length > 0) || (name && PUBLIC_HELPERS.has(name))) {
    checkCall(node, path, node.params, node.hash, PUBLIC_HELPERS, 'helper', analysis);
  } else {
    if (name && PUBLIC_BLOCK_HELPERS.has(name)) refuse(node, `"${name}" is a block helper: use {{#${name}}}…{{/${name}}}`);
    checkPath(path);
  }
}

function checkBlock(node: hbs.AST.BlockStatement, analysis: Analysis): void {
  const name = helperName(node.path);
  if (node.params.length > 0 || (node.hash && node.hash.pairs.length > 0) || (name && PUBLIC_HELPERS.has(name))) {
    checkCall(node, node.path, node.params, node.hash, PUBLIC_BLOCK_HELPERS, 'block helper', analysis);
  } else {
    checkPath(node.path); // a section: {{#data.items}}…{{/data.items}}
  }
}

function scanContent(text: string, state: JsonLexState, analysis: Analysis): void {
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (!state.inString) {
      if (ch === 0x22) state.inString = true;
    } else if (state.escapePending) {
      state.escapePending = false;
    } else if (ch === 0x5c) {
      state.escapePending = true;
    } else if (ch === 0x22) {
      state.inString = false;
    }
    if (!state.inString) for (const block of analysis.openBlocks) analysis.structural.add(block);
  }
}

/** Rewrites `{{x}}` outside a JSON string to `{{hookline-value-slot x}}`, which writes `x` as a JSON value. */
function toValueSlot(node: hbs.AST.MustacheStatement): void {
  const path = node.path as PathExpression;
  const argument: Expression =
    node.params.length > 0
      ? ({ type: 'SubExpression', path, params: node.params, hash: node.hash, loc: node.loc } as hbs.AST.SubExpression)
      : path;
  node.path = {
    type: 'PathExpression',
    data: false,
    depth: 0,
    parts: [VALUE_SLOT_HELPER],
    original: VALUE_SLOT_HELPER,
    loc: node.loc,
  } as PathExpression;
  node.params = [argument];
  node.hash = undefined as unknown as Hash;
  node.escaped = false;
}

function walkProgram(program: Program | undefined, state: JsonLexState, analysis: Analysis): void {
  if (!program) return;
  for (const statement of program.body) {
    switch (statement.type) {
      case 'ContentStatement':
        scanContent((statement as hbs.AST.ContentStatement).value, state, analysis);
        break;
      case 'CommentStatement':
        break;
      case 'MustacheStatement': {
        const mustache = statement as hbs.AST.MustacheStatement;
        checkMustache(mustache, analysis);
        if (state.inString) {
          if (state.escapePending) analysis.unprovable = true; // a value would complete a backslash escape
          state.escapePending = false;
        } else {
          toValueSlot(mustache);
          analysis.usedHelpers.add(VALUE_SLOT_HELPER);
        }
        break;
      }
      case 'BlockStatement': {
        const block = statement as hbs.AST.BlockStatement;
        checkBlock(block, analysis);
        if (state.escapePending) analysis.unprovable = true;
        if (!state.inString) analysis.structural.add(block);
        analysis.openBlocks.push(block);
        for (const branch of [block.program, block.inverse]) {
          const inner = { ...state };
          walkProgram(branch, inner, analysis);
          if (inner.inString !== state.inString) {
            refuse(block, 'a block must close every JSON string it opens (and open none it closes)');
          }
          if (inner.escapePending) analysis.unprovable = true;
        }
        analysis.openBlocks.pop();
        break;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement':
        refuse(statement, 'partials are not allowed in body templates');
        break;
      case 'Decorator':
      case 'DecoratorBlock':
        refuse(statement, 'decorators are not allowed in body templates');
        break;
      default:
        refuse(statement, `unsupported template statement ${statement.type}`);
    }
  }
}

/** Validates a parsed template and rewrites value-slot mustaches in place; throws a {@link TemplateProblem}. */
export function prepareTemplate(program: Program): PreparedTemplate {
  const analysis: Analysis = { usedHelpers: new Set(), openBlocks: [], structural: new Set(), unprovable: false };
  const end = { inString: false, escapePending: false };
  walkProgram(program, end, analysis);
  const alwaysJson = !analysis.unprovable && !end.inString && rendersJsonAlways(program, analysis.structural);
  return { program, usedHelpers: analysis.usedHelpers, alwaysJson };
}
