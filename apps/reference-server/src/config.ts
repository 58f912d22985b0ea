/**
 * The reference server's settings, read from the environment with sane defaults. Secrets the operator did not give
 * (the admin token, the secret key) are generated once and kept in the data directory with mode 0600, so a restart
 * keeps the same ones.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HooklineError } from '@hookline/errors';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Where a secret came from: the environment, the data directory, or generated on this start (and now kept). */
export type SecretOrigin = 'env' | 'file' | 'generated';

export interface ServerConfig {
  /** `PORT`: 3000 by default (a free port when 3000 is taken); 0 picks a free port. */
  port: number;
  /** True when `PORT` was set: then a taken port is an error rather than a reason to pick another. */
  portGiven: boolean;
  /** `HOST`: the interface to listen on, 127.0.0.1 by default (set 0.0.0.0 in a container). */
  host: string;
  /** `PUBLIC_URL`: how receivers reach this server (callback URLs, JWT issuer, JWKS URL); default `http://localhost:<port>`. */
  publicUrl?: string;
  /** `HOOKLINE_DATA_DIR`: SQLite database, generated keys and tokens; `./data` by default. */
  dataDir: string;
  /** `DATABASE_URL`: a `postgres://` or `postgresql://` URL switches from SQLite to Postgres. */
  databaseUrl?: string;
  /** `HOOKLINE_DATABASE_SCHEMA`: the Postgres schema holding hookline's tables (`hookline` by default). */
  databaseSchema: string;
  /** `HOOKLINE_ADMIN_TOKEN`: the bearer token of `/admin/*`. */
  adminToken: string;
  adminTokenOrigin: SecretOrigin;
  /** `HOOKLINE_SECRET_KEY`: seals endpoint secrets and the signing key at rest (AES-256-GCM). */
  secretKey: string;
  secretKeyOrigin: SecretOrigin;
  /** `HOOKLINE_RETRY_SCHEDULE`: seconds before each try (the first is the initial one); hookline's default when absent. */
  retrySchedule?: number[];
  /** `HOOKLINE_DEV`: allow `http` and loopback/private destinations (the mock receiver needs it). */
  dev: boolean;
  /** `LOG_LEVEL`: pino level, `info` by default. */
  logLevel: LogLevel;
}

const LOG_LEVELS = new Set<LogLevel>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

/** The data-directory files a start may create. */
export const DATA_FILES = {
  database: 'hookline.db',
  adminToken: 'admin-token',
  secretKey: 'secret-key',
  signingKey: 'signing-key.json',
} as const;

/**
 * Reads the environment, creates the data directory, and loads or generates the admin token and secret key.
 * Bad values are an `invalid_config` HooklineError naming the variable (never echoing a secret).
 *
 * @example
 * ```ts
 * const config = loadConfig({ PORT: '0', HOOKLINE_DATA_DIR: '/tmp/hookline', HOOKLINE_DEV: '1' });
 * const server = await startServer(config);
 * ```
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const dataDir = resolve(nonEmpty(env.HOOKLINE_DATA_DIR) ?? './data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const adminToken = keptSecret(env.HOOKLINE_ADMIN_TOKEN, join(dataDir, DATA_FILES.adminToken), () => `hl_admin_${randomBytes(24).toString('base64url')}`);
  if (adminToken.value.length < 16) {
    throw invalid('HOOKLINE_ADMIN_TOKEN', 'must be at least 16 characters');
  }
  const secretKey = keptSecret(env.HOOKLINE_SECRET_KEY, join(dataDir, DATA_FILES.secretKey), () => randomBytes(32).toString('hex'));

  const config: ServerConfig = {
    port: parsePort(env.PORT),
    portGiven: nonEmpty(env.PORT) !== undefined,
    host: nonEmpty(env.HOST) ?? '127.0.0.1',
    dataDir,
    adminToken: adminToken.value,
    adminTokenOrigin: adminToken.origin,
    secretKey: secretKey.value,
    secretKeyOrigin: secretKey.origin,
    databaseSchema: parseSchema(env.HOOKLINE_DATABASE_SCHEMA),
    dev: parseFlag(env.HOOKLINE_DEV, 'HOOKLINE_DEV'),
    logLevel: parseLogLevel(env.LOG_LEVEL),
  };
  const publicUrl = nonEmpty(env.PUBLIC_URL);
  if (publicUrl !== undefined) config.publicUrl = parsePublicUrl(publicUrl);
  const databaseUrl = nonEmpty(env.DATABASE_URL);
  if (databaseUrl !== undefined) config.databaseUrl = parseDatabaseUrl(databaseUrl);
  const schedule = nonEmpty(env.HOOKLINE_RETRY_SCHEDULE);
  if (schedule !== undefined) config.retrySchedule = parseRetrySchedule(schedule);
  return config;
}

/** `"0, 1, 2.5"` -> `[0, 1, 2.5]` (seconds). */
export function parseRetrySchedule(value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  const delays = parts.map((part) => (part === '' ? Number.NaN : Number(part)));
  if (delays.some((delay) => !Number.isFinite(delay) || delay < 0 || delay > 7 * 24 * 3600)) {
    throw invalid('HOOKLINE_RETRY_SCHEDULE', 'must be comma-separated seconds, each from 0 to 604800 (e.g. "0,5,300")');
  }
  return delays;
}

function parsePort(value: string | undefined): number {
  const text = nonEmpty(value);
  if (text === undefined) return 3000;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw invalid('PORT', 'must be an integer from 0 to 65535');
  return port;
}

function parsePublicUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('PUBLIC_URL', 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('PUBLIC_URL', 'must be an http(s) URL');
  if (url.search !== '' || url.hash !== '') throw invalid('PUBLIC_URL', 'must have no query or fragment');
  return url.href.replace(/\/+$/, '');
}

function parseDatabaseUrl(value: string): string {
  if (!/^postgres(ql)?:\/\//i.test(value)) {
    // The URL may carry a password: name the variable, never echo the value.
    throw invalid('DATABASE_URL', 'must be a postgres:// or postgresql:// URL (leave it unset for SQLite)');
  }
  return value;
}

function parseSchema(value: string | undefined): string {
  const schema = nonEmpty(value) ?? 'hookline';
  if (!/^[a-z_][a-z0-9_]{0,49}$/.test(schema)) {
    throw invalid('HOOKLINE_DATABASE_SCHEMA', 'must be a lowercase SQL identifier of at most 50 characters');
  }
  return schema;
}

function parseFlag(value: string | undefined, name: string): boolean {
  const text = (value ?? '').trim().toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw invalid(name, 'must be 1/true/yes/on or 0/false/no/off');
}

function parseLogLevel(value: string | undefined): LogLevel {
  const text = (nonEmpty(value) ?? 'info').toLowerCase();
  if (!LOG_LEVELS.has(text as LogLevel)) throw invalid('LOG_LEVEL', `must be one of ${[...LOG_LEVELS].join(', ')}`);
  return text as LogLevel;
}

/** The environment's value, else the one kept in `file`, else a new one written to `file` (0600). */
function keptSecret(fromEnv: string | undefined, file: string, generate: () => string): { value: string; origin: SecretOrigin } {
  const given = nonEmpty(fromEnv);
  if (given !== undefined) return { value: given, origin: 'env' };
  const kept = readKept(file);
  if (kept !== undefined) return { value: kept, origin: 'file' };
  const value = generate();
  try {
    // `wx`: two servers starting on one data dir must not overwrite each other's secret.
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const raced = readKept(file);
    if (raced !== undefined) return { value: raced, origin: 'file' };
    throw new HooklineError('invalid_config', `Could not write ${file}.`, { cause: error });
  }
  chmodSync(file, 0o600);
  return { value, origin: 'generated' };
}

function readKept(file: string): string | undefined {
  try {
    return nonEmpty(readFileSync(file, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HooklineError('invalid_config', `Could not read ${file}.`, { cause: error });
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const text = value?.trim();
  return text === undefined || text === '' ? undefined : text;
}

function invalid(variable: string, rule: string): HooklineError {
  return new HooklineError('invalid_config', `${variable} ${rule}.`, { details: { variable } });
}
