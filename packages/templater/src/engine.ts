// The isolated Handlebars instance body templates compile with. Nothing here touches the global Handlebars:
// another library in the same process keeps its helpers, partials and HTML escaping.
import Handlebars from 'handlebars';
import { BLOCK_HELPERS, TEMPLATE_HELPERS } from './helpers.js';
import { escapeJsonStringContent, hardenJsonText, jsonText } from './json-text.js';

/** Name of the internal helper a mustache in value position is rewritten to call. */
export const VALUE_SLOT_HELPER = 'hookline-value-slot';
/** Name under which the string-slot writer is reachable from compiled code (a plain object, not a helper). */
export const STRING_SLOT_WRITER = 'hookline-string-slot';

/** What `{{x}}` writes inside a JSON string: the value's text, JSON-string-escaped, never HTML-escaped. */
export function writeStringSlot(value: unknown): string {
  if (typeof value === 'string') return escapeJsonStringContent(value);
  if (value === null || value === undefined) return '';
  if (value instanceof Handlebars.SafeString) return escapeJsonStringContent(value.toString());
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return escapeJsonStringContent(jsonText(value));
}

/** What `{{x}}` writes outside a JSON string: the value as JSON (`null` when missing). */
export function writeValueSlot(value: unknown): string {
  return hardenJsonText(value instanceof Handlebars.SafeString ? value.toString() : jsonText(value));
}

interface JavaScriptCompilerInternals {
  pushSource(source: unknown): void;
  appendToBuffer(source: unknown[]): unknown;
  aliasable(name: string): unknown;
  popStack(): unknown;
}

type JavaScriptCompilerClass = { new (...args: unknown[]): JavaScriptCompilerInternals; prototype: object };

function createEngine(): typeof Handlebars {
  const hb = Handlebars.create();
  // Keep only the built-ins templates need: `log` would write template data to the console and `lookup` reads a
  // property chosen at render time. A fresh object rather than deletes keeps it fast to copy on every render.
  const builtIns = hb.helpers as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  for (const name of ['helperMissing', 'blockHelperMissing', ...BLOCK_HELPERS]) kept[name] = builtIns[name];
  // A non-function "helper" is passed through unwrapped, which is how compiled code can reach the writer.
  kept[STRING_SLOT_WRITER] = { write: writeStringSlot };
  (hb as unknown as { helpers: Record<string, unknown> }).helpers = kept;

  // Handlebars' escapeExpression is one module-wide function; per instance, the documented extension point is the
  // JavaScriptCompiler. Escaped output ({{x}}) calls our JSON-string writer instead of the HTML escaper.
  const engine = hb as unknown as { JavaScriptCompiler: JavaScriptCompilerClass };
  const Base = engine.JavaScriptCompiler;
  function JsonSlotCompiler(this: JavaScriptCompilerInternals, ...args: unknown[]) {
    (Base as unknown as (...a: unknown[]) => void).apply(this, args);
  }
  JsonSlotCompiler.prototype = Object.create(Base.prototype) as object;
  Object.assign(JsonSlotCompiler.prototype, {
    compiler: JsonSlotCompiler,
    appendEscaped(this: JavaScriptCompilerInternals) {
      this.pushSource(
        this.appendToBuffer([
          this.aliasable(`container.helpers[${JSON.stringify(STRING_SLOT_WRITER)}].write`),
          '(',
          this.popStack(),
          ')',
        ]),
      );
    },
  });
  engine.JavaScriptCompiler = JsonSlotCompiler as unknown as JavaScriptCompilerClass;
  return hb;
}

/** The one engine every template compiles with. */
export const engine = createEngine();

/** Helpers a template may name; everything else is refused when compiling. */
export const PUBLIC_HELPERS: ReadonlySet<string> = new Set(Object.keys(TEMPLATE_HELPERS));
export const PUBLIC_BLOCK_HELPERS: ReadonlySet<string> = new Set(BLOCK_HELPERS);
export const INTERNAL_NAMES: ReadonlySet<string> = new Set([VALUE_SLOT_HELPER, STRING_SLOT_WRITER]);

/** Compile options: only known helpers, each declared, so a typo is a compile error and calls are direct. */
export const COMPILE_OPTIONS: CompileOptions = {
  knownHelpersOnly: true,
  knownHelpers: Object.fromEntries(
    [...PUBLIC_HELPERS, ...PUBLIC_BLOCK_HELPERS, VALUE_SLOT_HELPER].map((name) => [name, true]),
  ),
  compat: false,
  strict: false,
  assumeObjects: false,
};

const ALL_HELPERS: Readonly<Record<string, (...args: unknown[]) => unknown>> = {
  ...TEMPLATE_HELPERS,
  [VALUE_SLOT_HELPER]: (value: unknown) => writeValueSlot(value),
};

/**
 * Runtime options for a template calling `used` helpers. Handlebars wraps every registered helper on every render,
 * so helpers are handed to each template rather than registered on the engine: a render pays only for its own.
 * Prototype properties and methods stay denied (Handlebars' default, never overridden here).
 */
export function runtimeOptions(used: ReadonlySet<string>): Handlebars.RuntimeOptions {
  const helpers: Record<string, (...args: unknown[]) => unknown> = {};
  for (const name of used) helpers[name] = ALL_HELPERS[name]!;
  return used.size > 0 ? { helpers } : {};
}
