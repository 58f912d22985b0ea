import { fail, isHooklineError } from '@hookline/errors';
import { TemplateProblem, prepareTemplate } from './ast.js';
import { rewriteClosingBraces, type BraceRewrite } from './braces.js';
import { COMPILE_OPTIONS, engine, runtimeOptions } from './engine.js';
import { findJsonSyntaxError } from './json-text.js';

/** Default limit on a template's source, in UTF-8 bytes. */
export const TEMPLATE_MAX_BYTES = 64 * 1024;

/** How much rendered text either side of a JSON error `template_output_not_json` shows. */
const SNIPPET_RADIUS = 40;

export interface CompileTemplateOptions {
  /** Largest accepted source in UTF-8 bytes; default {@link TEMPLATE_MAX_BYTES}. */
  maxBytes?: number;
}

/** A body rendered from a template: the JSON value and the exact text to send. */
export interface RenderedBody {
  value: unknown;
  text: string;
}

/** A compiled body template. Compile once (when the endpoint is saved), render for every delivery. */
export interface Template {
  /** The source it was compiled from. */
  readonly source: string;
  /**
   * Renders the body for one event. Throws `template_output_not_json` when the result is not JSON
   * (for example a trailing comma left by a loop), with the position and a snippet of the rendered text.
   */
  render(context: unknown): RenderedBody;
  /**
   * Renders only the text to send, checked to be JSON exactly as `render` checks it. Cheaper than `render` for
   * templates whose every rendering is JSON by construction (no parse is needed then).
   */
  renderText(context: unknown): string;
  /** True when every rendering is JSON whatever the data, so no render needs a JSON check. */
  readonly alwaysJson: boolean;
}

interface HandlebarsError {
  message?: unknown;
  lineNumber?: unknown;
  column?: unknown;
}

/** Where Handlebars says its error is: an Exception carries it; a parse error leaves it on the shared lexer. */
function handlebarsErrorLocation(error: HandlebarsError): { line: number; column: number } {
  if (typeof error.lineNumber === 'number') {
    return { line: error.lineNumber, column: (typeof error.column === 'number' ? error.column : 0) + 1 };
  }
  const lexer = (engine as unknown as { Parser?: { lexer?: { yylloc?: { first_line?: number; first_column?: number } } } })
    .Parser?.lexer?.yylloc;
  if (lexer && typeof lexer.first_line === 'number') {
    return { line: lexer.first_line, column: (lexer.first_column ?? 0) + 1 };
  }
  const match = /line (\d+)/.exec(String(error.message));
  return { line: match ? Number(match[1]) : 1, column: 1 };
}

function invalidTemplate(error: unknown, rewrite: BraceRewrite): never {
  if (isHooklineError(error)) throw error;
  let at: { line: number; column: number };
  let reason: string;
  if (error instanceof TemplateProblem) {
    at = rewrite.originalPosition(error.line, error.column);
    reason = error.message;
  } else {
    const { line, column } = handlebarsErrorLocation((error ?? {}) as HandlebarsError);
    at = rewrite.originalPosition(line, column);
    reason = handlebarsReason(error);
  }
  throw fail('invalid_template', `invalid template at line ${at.line}, column ${at.column}: ${reason}`, at);
}

/** The useful line of a Handlebars error, without its source excerpt and caret. */
function handlebarsReason(error: unknown): string {
  const message = String((error as HandlebarsError)?.message ?? error);
  if (message.includes("got 'CLOSE_UNESCAPED'")) {
    return '"}}}" closes a triple-stash, which body templates do not allow';
  }
  if (message.includes("got 'OPEN_UNESCAPED'") || message.includes("'CLOSE_UNESCAPED', got")) {
    return '"{{{" opens a triple-stash, which body templates do not allow: write "{ {{" with a space';
  }
  const lines = message.split('\n');
  const reason = lines[0]?.startsWith('Parse error') || lines[0]?.startsWith('Lexical error') ? lines.at(-1) : lines[0];
  return (reason ?? message).replace(/ - \d+:\d+$/, '');
}

function notJson(text: string): never {
  const found = findJsonSyntaxError(text);
  const position = found < 0 ? 0 : found;
  const snippet = text.slice(Math.max(0, position - SNIPPET_RADIUS), position + SNIPPET_RADIUS);
  throw fail('template_output_not_json', `the rendered body is not valid JSON at position ${position}`, {
    position,
    snippet,
  });
}

/**
 * Compiles a Handlebars body template that always renders JSON-safe text.
 *
 * Inside a JSON string, `{{x}}` writes `x` JSON-string-escaped (never HTML-escaped); outside one it writes `x` as a
 * JSON value, as `{{json x}}` does. Partials, decorators, triple-stash, unknown helpers and prototype paths are
 * refused with `invalid_template` (details `line`, `column`).
 *
 * @example
 * ```ts
 * const template = compileTemplate('{"text": "{{data.requester.name}} asks for {{data.friendly_id}}"}');
 * template.render({ data: { requester: { name: 'Ada "A" <ada>' }, friendly_id: 'AR-1' } }).text;
 * // '{"text": "Ada \"A\" <ada> asks for AR-1"}'
 * ```
 */
export function compileTemplate(source: string, options: CompileTemplateOptions = {}): Template {
  if (typeof source !== 'string') {
    throw fail('invalid_template', 'a template must be a string', { line: 1, column: 1 });
  }
  const maxBytes = options.maxBytes ?? TEMPLATE_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw fail('invalid_config', 'maxBytes must be a positive integer', { maxBytes });
  }
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > maxBytes) {
    throw fail('invalid_template', `the template is ${bytes} bytes; at most ${maxBytes} are allowed`, {
      line: 1,
      column: 1,
      bytes,
      maxBytes,
    });
  }

  let render: (context: unknown) => string;
  let alwaysJson: boolean;
  const rewrite = rewriteClosingBraces(source);
  try {
    const prepared = prepareTemplate(engine.parse(rewrite.source));
    const compiled = engine.compile(prepared.program, COMPILE_OPTIONS);
    const options = runtimeOptions(prepared.usedHelpers);
    render = (context) => compiled(context, options);
    alwaysJson = prepared.alwaysJson;
    render({}); // Handlebars compiles lazily; make the first render here so every compile error surfaces now
  } catch (error) {
    invalidTemplate(error, rewrite);
  }

  const renderRaw = (context: unknown): string => {
    try {
      return render(context);
    } catch (error) {
      throw fail('template_render_failed', `the template could not be rendered: ${(error as Error)?.message}`);
    }
  };
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return notJson(text);
    }
  };

  return {
    source,
    alwaysJson,
    render(context: unknown): RenderedBody {
      const text = renderRaw(context);
      return { value: parse(text), text };
    },
    renderText(context: unknown): string {
      const text = renderRaw(context);
      if (!alwaysJson) parse(text);
      return text;
    },
  };
}

/**
 * Compiles `source` and renders it over `example` (an event schema's example), so a template that cannot give JSON
 * is refused when it is saved rather than at its first delivery. Returns the example's rendering.
 *
 * @example
 * ```ts
 * checkTemplate('{"id": "{{data.id}}", "groups": {{json data.access_groups}}}', aponoExample);
 * checkTemplate('{"ids": [{{#each data.items}}"{{id}}",{{/each}}]}', { data: { items: [{ id: 1 }] } });
 * // throws template_output_not_json (a trailing comma)
 * ```
 */
export function checkTemplate(source: string, example: unknown, options: CompileTemplateOptions = {}): RenderedBody {
  return compileTemplate(source, options).render(example);
}
