#!/usr/bin/env node
/**
 * `hookline-server [--demo]`: the reference server from the environment (see docs/reference-server.md).
 * `npm start` at the repository root runs it with `--demo`.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isHooklineError } from '@hookline/errors';
import { DATA_FILES, loadConfig, type ServerConfig } from './config.js';
import { startDemo, type Demo } from './demo.js';
import { startServer, type RunningServer } from './server.js';

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { demo: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    print('Usage: hookline-server [--demo]   (settings by environment: see docs/reference-server.md)');
    return;
  }
  const config = loadConfig(process.env);
  if (values.demo && !config.dev) {
    config.dev = true;
    print('demo: HOOKLINE_DEV turned on so the local mock receiver (http, loopback) is an allowed destination');
  }

  const server = await startServer(config);
  printBanner(server, config);
  let demo: Demo | undefined;
  if (values.demo) demo = await startDemo(server, config.adminToken, print);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      print(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    print(`${signal}: stopping (in-flight deliveries finish or are handed back for the next start)`);
    Promise.all([server.close(), demo?.close()])
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        server.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function printBanner(server: RunningServer, config: ServerConfig): void {
  const tokenNote = {
    env: 'from HOOKLINE_ADMIN_TOKEN',
    file: `kept in ${join(config.dataDir, DATA_FILES.adminToken)}`,
    generated: `generated and kept in ${join(config.dataDir, DATA_FILES.adminToken)}`,
  }[config.adminTokenOrigin];
  const store = server.storeKind === 'postgres' ? `Postgres (DATABASE_URL, schema ${config.databaseSchema})` : `SQLite at ${join(config.dataDir, DATA_FILES.database)}`;
  print('');
  print(`hookline reference server listening on ${server.url}`);
  print(`  public URL   ${server.publicUrl}`);
  print(`  JWKS         ${server.jwksUrl}`);
  print(`  store        ${store}`);
  print(`  signing key  ${server.signingKey.kid} (${server.signingKey.created ? 'generated now' : 'kept'} in ${join(config.dataDir, DATA_FILES.signingKey)})`);
  print(`  destinations ${config.dev ? 'development: http and loopback allowed' : 'production: https and public addresses only'}`);
  print(`  admin token  ${config.adminToken} (${tokenNote})`);
  print('');
  print('Try:');
  print(`  curl -H "Authorization: Bearer ${config.adminToken}" ${server.url}/admin/event-types`);
  print(`  curl -H "Authorization: Bearer ${config.adminToken}" ${server.url}/admin/endpoints`);
  print('');
}

main().catch((error: unknown) => {
  process.stderr.write(`hookline-server: ${isHooklineError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
