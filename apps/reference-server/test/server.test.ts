/** startServer in-process: what the CLI cannot show through its output. */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { isHooklineError } from '@hookline/errors';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { tempDataDir } from './harness.js';

const dirs: Array<{ remove(): void }> = [];
afterEach(() => dirs.splice(0).forEach((dir) => dir.remove()));

it('refuses a PORT already in use with invalid_config naming PORT', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as AddressInfo).port;
  const data = tempDataDir();
  dirs.push(data);
  try {
    const error = await startServer(loadConfig({ PORT: String(port), HOOKLINE_DATA_DIR: data.dir, LOG_LEVEL: 'silent' })).catch((caught: unknown) => caught);
    expect(isHooklineError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid_config', message: `Could not listen on 127.0.0.1:${port}.`, details: { variable: 'PORT' } });
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

it('moves to a free port when the default port is taken and PORT was not set', async () => {
  const data = tempDataDir();
  dirs.push(data);
  const config = loadConfig({ HOOKLINE_DATA_DIR: data.dir, LOG_LEVEL: 'silent' });
  const blocker = createServer();
  // Occupy whatever port the config defaults to, as another local app would.
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(config.port, config.host, resolve);
  }).catch(() => undefined);
  try {
    const server = await startServer(config);
    expect(new URL(server.url).port).not.toBe(String(config.port));
    await server.close();
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

it('refuses to start when the secret key no longer opens the kept signing key, without echoing the key', async () => {
  const data = tempDataDir();
  dirs.push(data);
  const first = await startServer(loadConfig({ PORT: '0', HOOKLINE_DATA_DIR: data.dir, LOG_LEVEL: 'silent' }));
  await first.close();
  const error = await startServer(loadConfig({ PORT: '0', HOOKLINE_DATA_DIR: data.dir, LOG_LEVEL: 'silent', HOOKLINE_SECRET_KEY: 'cd'.repeat(32) })).catch((caught: unknown) => caught);
  expect(error).toMatchObject({ code: 'invalid_config' });
  expect((error as Error).message).toMatch(/signing-key\.json could not be opened: was HOOKLINE_SECRET_KEY changed\?$/);
  expect((error as Error).message).not.toContain('cd'.repeat(32));
});
