import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HooklineError } from '@hookline/errors';
import { exportSigningKey, generateSigningKey, importSigningKey, type SigningKey } from '@hookline/signer';
import type { SecretBox } from 'hookline';
import { DATA_FILES } from './config.js';

/** The file's shape: the private JWK sealed with the secret key, so a copied data file alone signs nothing. */
interface KeptSigningKey {
  version: 1;
  kid: string;
  alg: string;
  /** `box.seal(JSON.stringify(privateJwk))`. */
  sealedJwk: string;
}

/**
 * Loads the JWT signing key kept in the data directory, or generates one (ES256) on the first start and keeps it
 * there (mode 0600, private JWK sealed under the secret key).
 */
export async function loadOrCreateSigningKey(dataDir: string, box: SecretBox): Promise<{ key: SigningKey; created: boolean }> {
  const file = join(dataDir, DATA_FILES.signingKey);
  const kept = readKept(file);
  if (kept !== undefined) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(box.open(kept.sealedJwk));
    } catch (cause) {
      throw new HooklineError('invalid_config', `${file} could not be opened: was HOOKLINE_SECRET_KEY changed?`, { cause });
    }
    return { key: importSigningKey(jwk as Record<string, unknown>), created: false };
  }
  const key = await generateSigningKey('ES256');
  const record: KeptSigningKey = { version: 1, kid: key.kid, alg: key.alg, sealedJwk: box.seal(JSON.stringify(exportSigningKey(key))) };
  try {
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process started on the same data directory first: use its key.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSigningKey(dataDir, box);
    throw new HooklineError('invalid_config', `Could not write ${file}.`, { cause: error });
  }
  chmodSync(file, 0o600);
  return { key, created: true };
}

function readKept(file: string): KeptSigningKey | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HooklineError('invalid_config', `Could not read ${file}.`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HooklineError('invalid_config', `${file} is not JSON.`);
  }
  const record = parsed as Partial<KeptSigningKey>;
  if (record.version !== 1 || typeof record.sealedJwk !== 'string') {
    throw new HooklineError('invalid_config', `${file} is not a kept signing key (version 1).`);
  }
  return record as KeptSigningKey;
}
