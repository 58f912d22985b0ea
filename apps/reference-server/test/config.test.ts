import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isHooklineError } from '@hookline/errors';
import { DATA_FILES, loadConfig, parseRetrySchedule } from '../src/config.js';
import { tempDataDir } from './harness.js';

const dirs: Array<{ remove(): void }> = [];
afterEach(() => dirs.splice(0).forEach((dir) => dir.remove()));

function dataDir(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir.dir;
}

function refusal(env: Record<string, string>): { code: string; message: string; details: unknown } {
  try {
    loadConfig({ HOOKLINE_DATA_DIR: dataDir(), ...env });
  } catch (error) {
    if (!isHooklineError(error)) throw error;
    return { code: error.code, message: error.message, details: error.details };
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('applies the defaults and generates the admin token and secret key, kept with mode 0600', () => {
    const dir = dataDir();
    const config = loadConfig({ HOOKLINE_DATA_DIR: dir });
    expect(config).toMatchObject({ port: 3000, portGiven: false, host: '127.0.0.1', dataDir: dir, databaseSchema: 'hookline', dev: false, logLevel: 'info', adminTokenOrigin: 'generated', secretKeyOrigin: 'generated' });
    expect(config.publicUrl).toBeUndefined();
    expect(config.databaseUrl).toBeUndefined();
    expect(config.retrySchedule).toBeUndefined();
    expect(config.adminToken).toMatch(/^hl_admin_[A-Za-z0-9_-]{32}$/);
    expect(config.secretKey).toMatch(/^[0-9a-f]{64}$/);
    for (const file of [DATA_FILES.adminToken, DATA_FILES.secretKey]) {
      expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(join(dir, DATA_FILES.adminToken), 'utf8').trim()).toBe(config.adminToken);
  });

  it('keeps the generated secrets across starts', () => {
    const dir = dataDir();
    const first = loadConfig({ HOOKLINE_DATA_DIR: dir });
    const second = loadConfig({ HOOKLINE_DATA_DIR: dir });
    expect(second).toMatchObject({ adminToken: first.adminToken, secretKey: first.secretKey, adminTokenOrigin: 'file', secretKeyOrigin: 'file' });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      HOOKLINE_DATA_DIR: dataDir(),
      PORT: '0',
      HOST: '0.0.0.0',
      PUBLIC_URL: 'https://hooks.example.com/',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      HOOKLINE_DATABASE_SCHEMA: 'hookline_staging',
      HOOKLINE_ADMIN_TOKEN: 'an-admin-token-from-the-env',
      HOOKLINE_SECRET_KEY: 'ab'.repeat(32),
      HOOKLINE_RETRY_SCHEDULE: '0, 1,2.5',
      HOOKLINE_DEV: 'true',
      LOG_LEVEL: 'WARN',
    });
    expect(config).toMatchObject({
      port: 0, portGiven: true, host: '0.0.0.0', publicUrl: 'https://hooks.example.com', databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
      databaseSchema: 'hookline_staging', adminToken: 'an-admin-token-from-the-env', adminTokenOrigin: 'env', secretKey: 'ab'.repeat(32), secretKeyOrigin: 'env',
      retrySchedule: [0, 1, 2.5], dev: true, logLevel: 'warn',
    });
  });

  it('does not write a file for a secret given by the environment', () => {
    const dir = dataDir();
    loadConfig({ HOOKLINE_DATA_DIR: dir, HOOKLINE_ADMIN_TOKEN: 'an-admin-token-from-the-env' });
    expect(() => statSync(join(dir, DATA_FILES.adminToken))).toThrow(/ENOENT/);
  });

  it('refuses bad values with invalid_config naming the variable and never echoing a secret', () => {
    expect(refusal({ PORT: '70000' })).toEqual({ code: 'invalid_config', message: 'PORT must be an integer from 0 to 65535.', details: { variable: 'PORT' } });
    expect(refusal({ PORT: '3e3' }).details).toEqual({ variable: 'PORT' });
    expect(refusal({ PUBLIC_URL: 'ftp://x' }).details).toEqual({ variable: 'PUBLIC_URL' });
    expect(refusal({ HOOKLINE_DEV: 'maybe' }).details).toEqual({ variable: 'HOOKLINE_DEV' });
    expect(refusal({ LOG_LEVEL: 'loud' }).details).toEqual({ variable: 'LOG_LEVEL' });
    expect(refusal({ HOOKLINE_DATABASE_SCHEMA: 'Public; drop' }).details).toEqual({ variable: 'HOOKLINE_DATABASE_SCHEMA' });
    expect(refusal({ HOOKLINE_RETRY_SCHEDULE: '0,,5' }).details).toEqual({ variable: 'HOOKLINE_RETRY_SCHEDULE' });
    const short = refusal({ HOOKLINE_ADMIN_TOKEN: 'short-secret' });
    expect(short.details).toEqual({ variable: 'HOOKLINE_ADMIN_TOKEN' });
    expect(short.message).not.toContain('short-secret');
    const database = refusal({ DATABASE_URL: 'mysql://root:hunter2@db/x' });
    expect(database.details).toEqual({ variable: 'DATABASE_URL' });
    expect(database.message).not.toContain('hunter2');
  });

  it('reads a kept secret written by hand (trailing newline trimmed)', () => {
    const dir = dataDir();
    writeFileSync(join(dir, DATA_FILES.adminToken), 'a-hand-written-admin-token\n', { mode: 0o600 });
    expect(loadConfig({ HOOKLINE_DATA_DIR: dir })).toMatchObject({ adminToken: 'a-hand-written-admin-token', adminTokenOrigin: 'file' });
  });
});

describe('parseRetrySchedule', () => {
  it('parses comma-separated seconds and refuses negatives, blanks and words', () => {
    expect(parseRetrySchedule('0,5,300')).toEqual([0, 5, 300]);
    for (const bad of ['-1', '1,,2', 'soon', '1,x']) expect(() => parseRetrySchedule(bad)).toThrow(/HOOKLINE_RETRY_SCHEDULE/);
  });
});
