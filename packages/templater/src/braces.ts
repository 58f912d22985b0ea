// JSON puts `}` right after a mustache all the time (`{"a": {{json x}}}`), but Handlebars reads `}}}` as the close of
// a triple-stash. Triple-stash is refused anyway, so a `}}` closing a plain mustache and followed by `}` is rewritten
// to `~}} }`: the `~` strips the inserted space again, and the text renders exactly as written.

/** A source rewritten for Handlebars, and a way back to the author's line and column. */
export interface BraceRewrite {
  source: string;
  /** Maps a 1-based line and column in the rewritten source to the same place in the original. */
  originalPosition(line: number, column: number): { line: number; column: number };
}

function closeOf(source: string, from: number): number {
  let i = from;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '"' || ch === "'") {
      // Handlebars string literals may contain `}}`; skip them, honouring an escaped quote.
      i++;
      while (i < source.length && !(source[i] === ch && source[i - 1] !== '\\')) i++;
      i++;
      continue;
    }
    if (ch === '}' && source[i + 1] === '}') return i;
    i++;
  }
  return -1;
}

/** Finds each `}}` of a plain mustache followed by `}` and makes it `~}} }`. */
export function rewriteClosingBraces(source: string): BraceRewrite {
  const insertions: number[] = []; // offsets in the original where one character was inserted
  let out = '';
  let copied = 0;
  let i = source.indexOf('{{');
  while (i >= 0) {
    if (source.startsWith('{{{{', i)) break; // a raw block: leave the rest to Handlebars
    if (i > 0 && source[i - 1] === '\\') {
      // `\{{` is literal text up to the next `{{` (and `\\{{` is a backslash then a real mustache)
      if (!(i > 1 && source[i - 2] === '\\')) {
        i = source.indexOf('{{', i + 2);
        continue;
      }
    }
    if (source.startsWith('{{!--', i)) {
      const end = source.indexOf('--}}', i + 5);
      if (end < 0) break;
      i = source.indexOf('{{', end + 4);
      continue;
    }
    if (source.startsWith('{{!', i)) {
      const end = source.indexOf('}}', i + 3);
      if (end < 0) break;
      i = source.indexOf('{{', end + 2);
      continue;
    }
    const triple = source[i + 2] === '{';
    const close = closeOf(source, i + (triple ? 3 : 2));
    if (close < 0) break;
    if (!triple && source[close + 2] === '}') {
      const stripped = source[close - 1] === '~';
      out += source.slice(copied, close) + (stripped ? '}} ' : '~}} ');
      if (!stripped) insertions.push(close);
      insertions.push(close + 2);
      copied = close + 2;
      i = source.indexOf('{{', close + 2);
      continue;
    }
    i = source.indexOf('{{', close + (triple ? 3 : 2));
  }
  if (insertions.length === 0) return { source, originalPosition: (line, column) => ({ line, column }) };
  const rewritten = out + source.slice(copied);

  return {
    source: rewritten,
    originalPosition(line, column) {
      let offset = 0;
      for (let l = 1; l < line; l++) {
        const next = rewritten.indexOf('\n', offset);
        if (next < 0) break;
        offset = next + 1;
      }
      offset += column - 1;
      // Each insertion before this point moved it one character right.
      let original = offset;
      for (let k = 0; k < insertions.length && insertions[k]! + k < offset; k++) original--;
      const before = source.slice(0, Math.max(0, original));
      const lineNumber = before.split('\n').length;
      return { line: lineNumber, column: original - (before.lastIndexOf('\n') + 1) + 1 };
    },
  };
}
