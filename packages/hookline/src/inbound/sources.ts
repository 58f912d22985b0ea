import { randomBytes } from 'node:crypto';
import type { InboundSourceRecord, JsonObject, JsonValue } from '@hookline/store';
import type { InboundSource } from '../contract.js';
import { secretHint, type SecretBox } from '../secrets.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_LENGTH = 24;

/** `src_` and 24 random base62 characters (about 143 bits): the id is the capability in the inbound URL. */
export function newSourceId(): string {
  let id = '';
  while (id.length < ID_LENGTH) {
    for (const byte of randomBytes(32)) {
      // 248 = 4 * 62: rejecting the rest keeps every character equally likely.
      if (byte < 248 && id.length < ID_LENGTH) id += BASE62[byte % 62];
    }
  }
  return `src_${id}`;
}

/** A source id for log lines: the id is the capability in the URL, so logs get only enough to tell sources apart. */
export function sourceHint(id: string): string {
  return typeof id === 'string' && id.length > 12 ? `${id.slice(0, 4)}…${id.slice(-4)}` : 'src_…';
}

/**
 * Config fields that hold secrets, sealed at rest and shown as hints: any key naming a secret, token, password or
 * private key (`secret`, `secrets`, `verifyToken`, `signingSecret`, `privateKey`), and every value of `headers`
 * (the `header` preset's expected values are shared secrets).
 */
const SECRET_KEY = /secret|token|password|private|credential|apikey|api_key/i;

export function isSecretField(key: string): boolean {
  return SECRET_KEY.test(key);
}

type Transform = (value: string) => string;

/** Applies `transform` to every secret string in a config (top-level secret fields, and all `headers` values). */
function mapSecrets(config: JsonObject, transform: Transform): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(config)) {
    if (isSecretField(key)) out[key] = mapStrings(value, transform);
    else if (key === 'headers' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, expected]) => [name, mapStrings(expected, transform)]));
    } else out[key] = value;
  }
  return out;
}

function mapStrings(value: JsonValue, transform: Transform): JsonValue {
  if (typeof value === 'string') return transform(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, transform));
  return value;
}

export function sealConfig(config: JsonObject, box: SecretBox): JsonObject {
  return mapSecrets(config, (value) => (box.isSealed(value) ? value : box.seal(value)));
}

export function openConfig(config: JsonObject, box: SecretBox): JsonObject {
  return mapSecrets(config, (value) => (box.isSealed(value) ? box.open(value) : value));
}

/** What the admin API shows: secrets as hints (`whsec_…k3Qz`), never the values. */
export function sourceView(record: InboundSourceRecord, box: SecretBox): InboundSource {
  const config = mapSecrets(record.config, (value) => secretHint(box.isSealed(value) ? box.open(value) : value));
  return { ...record, config, path: `/in/${record.id}` };
}
