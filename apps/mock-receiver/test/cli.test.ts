/** The built CLI runs the mock on its own: it prints its URL and one line per webhook, and stops on SIGTERM. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

it('runs alone: prints its URL, a line per webhook, and exits 0 on SIGTERM', async () => {
  expect(existsSync(CLI), 'build first: dist/cli.js is missing').toBe(true);
  const child = spawn(process.execPath, [CLI, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const waiter of waiters.splice(0)) waiter();
  });
  const waitFor = (pattern: RegExp): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = pattern.exec(output);
        if (match !== null) resolve(match);
        else if (child.exitCode !== null) reject(new Error(`exited ${child.exitCode}: ${output}`));
        else waiters.push(check);
      };
      check();
    });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  try {
    const [, url] = await waitFor(/mock receiver listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const response = await fetch(`${url}/webhook`, { method: 'POST', headers: { 'webhook-id': 'msg_cli' }, body: '{}' });
    expect(response.status).toBe(200);
    await waitFor(/#1 POST \/webhook id=msg_cli unverified \(no scheme configured\) -> 200/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

it('refuses a bad port with a message and exit code 1', async () => {
  const child = spawn(process.execPath, [CLI, '--port', 'abc'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(1);
  expect(stderr.trim()).toBe('--port must be 0..65535, got "abc".');
});
