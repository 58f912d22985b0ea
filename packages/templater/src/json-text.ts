// JSON text helpers shared by the renderer: escaping for a string slot, encoding for a value slot, and locating
// the first syntax error of a rendered body (JSON.parse does not always say where).

const LINE_SEPARATORS = /[\u2028\u2029]/g;
const CLOSING_TAG = /<\//g;

/** Escapes `text` as the inside of a JSON string: quotes, backslashes, controls, U+2028/2029, lone surrogates, `</`. */
export function escapeJsonStringContent(text: string): string {
  if (!needsEscape(text)) return text;
  return hardenJsonText(JSON.stringify(text).slice(1, -1));
}

/** A plain loop beats a regular expression here: most values are short and need nothing. */
function needsEscape(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || (c >= 0xd800 && c <= 0xdfff) || c === 0x2028 || c === 0x2029) {
      return true;
    }
  }
  return false;
}

/** JSON.stringify leaves U+2028/2029 and `</` raw; both are legal JSON but break JavaScript and HTML embedding. */
export function hardenJsonText(json: string): string {
  return json
    .replace(LINE_SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'))
    .replace(CLOSING_TAG, '<\\/');
}

/** The JSON text of any value, as JSON.stringify writes it; `undefined` (a missing field) is `null`. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/**
 * Offset of the first character at which `text` stops being one JSON value, or -1 when it is valid JSON.
 * Only called after JSON.parse failed, so it favours clarity over speed.
 */
export function findJsonSyntaxError(text: string): number {
  let at = 0;
  const ws = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const fail = (): never => {
    throw at;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[at] !== ch) fail();
      at++;
    }
  };
  const string = () => {
    at++; // opening quote
    while (at < text.length) {
      const ch = text.charCodeAt(at);
      if (ch === 0x22) {
        at++;
        return;
      }
      if (ch < 0x20) fail();
      if (ch === 0x5c) {
        const next = text[at + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) {
            at += 2;
            fail();
          }
          at += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) {
          at++;
          fail();
        }
        at += 2;
        continue;
      }
      at++;
    }
    fail();
  };
  const number = () => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(at));
    if (!match) fail();
    at += match![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[at];
    if (ch === '{') {
      at++;
      ws();
      if (text[at] === '}') {
        at++;
        return;
      }
      for (;;) {
        ws();
        if (text[at] !== '"') fail();
        string();
        ws();
        if (text[at] !== ':') fail();
        at++;
        value();
        ws();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === '}') {
          at++;
          return;
        }
        fail();
      }
    }
    if (ch === '[') {
      at++;
      ws();
      if (text[at] === ']') {
        at++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === ']') {
          at++;
          return;
        }
        fail();
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    fail();
  };
  try {
    value();
    ws();
    return at === text.length ? -1 : at;
  } catch (position) {
    return Math.min(position as number, text.length);
  }
}
