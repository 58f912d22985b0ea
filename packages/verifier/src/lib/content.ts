import { HooklineError } from '@hookline/errors';

export type ContentPart = 'body' | 'timestamp' | 'id' | { text: string };

const PLACEHOLDER = /\{(body|timestamp|id)\}/g;

/** Splits a signed-content template such as `{timestamp}.{body}` into literal text and placeholders, once. */
export function parseContent(template: string): ContentPart[] {
  if (typeof template !== 'string' || !template.includes('{body}')) {
    throw new HooklineError('invalid_config', 'The signed content must include {body}.', { details: { content: String(template) } });
  }
  const parts: ContentPart[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({ text: template.slice(last, match.index) });
    parts.push(match[1] as 'body' | 'timestamp' | 'id');
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}
