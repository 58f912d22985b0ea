// Proves, when compiling, that a template renders JSON whatever the data, so renders can skip the JSON check.
//
// Every string slot writes valid string content and every value slot one complete JSON value, so a rendering is
// the template's text with slots filled in and blocks expanded. The proof replaces each slot with a stand-in
// (`a` in a string, `null` outside) and parses every shape the blocks can give:
// - a block inside a JSON string only adds string content: its text is kept once;
// - `if`, `unless`, `with`: either branch;
// - `each` that builds structure must separate items with `{{#unless @last}},{{/unless}}` (or
//   `{{#unless @first}},{{/unless}}` first), and each item must be a complete JSON value or `"key": value` member;
//   then zero, one and two items stand for any number (after one member the parser is back in the same state).
// Anything else, or too many shapes, is left to the per-render check: the proof never claims what it cannot show.

type Statement = hbs.AST.Statement;

/** Beyond this many shapes the proof gives up (loops and branches multiply them). */
const MAX_SHAPES = 256;

class Unprovable extends Error {}

function giveUp(): never {
  throw new Unprovable();
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function helperName(path: hbs.AST.PathExpression | hbs.AST.Expression): string | undefined {
  const p = path as hbs.AST.PathExpression;
  return p.type === 'PathExpression' && !p.data && p.depth === 0 && p.parts.length === 1 ? p.parts[0] : undefined;
}

/** Text only (no slots, no blocks) made of whitespace around one comma. */
function isComma(program: hbs.AST.Program | undefined): boolean {
  if (!program) return false;
  const text = program.body.map((s) => (s.type === 'ContentStatement' ? (s as hbs.AST.ContentStatement).value : '\u0000'));
  return /^\s*,\s*$/.test(text.join(''));
}

function isBlank(program: hbs.AST.Program | undefined): boolean {
  return !program || program.body.every((s) => s.type === 'ContentStatement' && /^\s*$/.test((s as hbs.AST.ContentStatement).value));
}

/** `{{#unless @last}},{{/unless}}` or `{{#if @last}}{{else}},{{/if}}` (with `first` for a leading separator). */
function isSeparator(statement: Statement, edge: 'last' | 'first'): boolean {
  if (statement.type !== 'BlockStatement') return false;
  const block = statement as hbs.AST.BlockStatement;
  const [param] = block.params;
  const variable = param as hbs.AST.PathExpression | undefined;
  if (block.params.length !== 1 || variable?.type !== 'PathExpression' || !variable.data || variable.original !== `@${edge}`) {
    return false;
  }
  const name = helperName(block.path);
  if (name === 'unless') return isComma(block.program) && isBlank(block.inverse);
  if (name === 'if') return isBlank(block.program) && isComma(block.inverse);
  return false;
}

function isWhitespace(statement: Statement): boolean {
  return statement.type === 'ContentStatement' && /^\s*$/.test((statement as hbs.AST.ContentStatement).value);
}

/** The loop body without its separator, or undefined when it has none. */
function itemOf(body: readonly Statement[]): Statement[] | undefined {
  const last = body.findLastIndex((s) => !isWhitespace(s));
  if (last >= 0 && isSeparator(body[last]!, 'last')) return [...body.slice(0, last), ...body.slice(last + 1)];
  const first = body.findIndex((s) => !isWhitespace(s));
  if (first >= 0 && isSeparator(body[first]!, 'first')) return [...body.slice(0, first), ...body.slice(first + 1)];
  return undefined;
}

/** All the text a block inside a string can write, each piece once. */
function stringContent(statements: readonly Statement[] | undefined): string {
  let text = '';
  for (const statement of statements ?? []) {
    if (statement.type === 'ContentStatement') text += (statement as hbs.AST.ContentStatement).value;
    else if (statement.type === 'MustacheStatement') text += 'a';
    else if (statement.type === 'BlockStatement') {
      const block = statement as hbs.AST.BlockStatement;
      text += stringContent(block.program?.body) + stringContent(block.inverse?.body);
    }
  }
  return text;
}

function combine(prefixes: readonly string[], suffixes: readonly string[]): string[] {
  if (prefixes.length * suffixes.length > MAX_SHAPES) giveUp();
  return prefixes.flatMap((prefix) => suffixes.map((suffix) => prefix + suffix));
}

function shapesOf(statements: readonly Statement[] | undefined, structural: ReadonlySet<hbs.AST.BlockStatement>): string[] {
  let shapes = [''];
  for (const statement of statements ?? []) shapes = combine(shapes, statementShapes(statement, structural));
  return shapes;
}

function statementShapes(statement: Statement, structural: ReadonlySet<hbs.AST.BlockStatement>): string[] {
  switch (statement.type) {
    case 'ContentStatement':
      return [(statement as hbs.AST.ContentStatement).value];
    case 'CommentStatement':
      return [''];
    case 'MustacheStatement':
      return [(statement as hbs.AST.MustacheStatement).escaped ? 'a' : 'null'];
    case 'BlockStatement':
      break;
    default:
      return giveUp();
  }
  const block = statement as hbs.AST.BlockStatement;
  if (!structural.has(block)) return [stringContent(block.program?.body) + stringContent(block.inverse?.body)];

  const name = helperName(block.path);
  if (name === 'if' || name === 'unless' || name === 'with') {
    const shapes = [...shapesOf(block.program?.body, structural), ...shapesOf(block.inverse?.body, structural)];
    if (shapes.length > MAX_SHAPES) giveUp();
    return shapes;
  }
  // Only `each` sets @first/@last; a section over an object runs once without them.
  if (name !== 'each') return giveUp();
  const item = itemOf(block.program?.body ?? []);
  if (!item) return giveUp();
  const items = shapesOf(item, structural);
  const isValue = items.every(parses);
  const isMember = items.every((shape) => /\S/.test(shape) && parses(`{${shape}}`));
  if (!isValue && !isMember) giveUp();
  const one = items[0]!;
  const shapes = [...shapesOf(block.inverse?.body, structural), ...items, `${one},${one}`];
  if (shapes.length > MAX_SHAPES) giveUp();
  return shapes;
}

/** True when every rendering of the (validated, slot-rewritten) program is JSON. */
export function rendersJsonAlways(program: hbs.AST.Program, structural: ReadonlySet<hbs.AST.BlockStatement>): boolean {
  try {
    return shapesOf(program.body, structural).every(parses);
  } catch (error) {
    if (error instanceof Unprovable) return false;
    throw error;
  }
}
