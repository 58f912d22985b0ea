import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'hookline-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs the README example as written and prints what the README says it prints', async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const code = /## Example[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const file = join(dir, 'example.mjs');
  writeFileSync(file, code!);
  const printed: unknown[][] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args);
  });
  try {
    await import(file);
  } finally {
    log.mockRestore();
  }
  expect(printed).toEqual([
    ['handler got', 'pull_request', { action: 'opened', pull_request: { number: 7 } }],
    [200, '{"status":"accepted","id":"72d3162e-cc78-11e3-81ab-4c9367dc0958"}'],
    [{ action: 'opened', pull_request: { number: 7 } }],
    ['verified'],
  ]);
});
