import { HooklineError, isHooklineError } from '@hookline/errors';
import { compileMatcher } from '@hookline/matcher';
import { validate } from '@hookline/schemas';
import type { DeliveryStore, InboundSourceRecord, JsonObject, JsonValue, PageQuery } from '@hookline/store';
import { createVerifier, type Verifier } from '@hookline/verifier';
import type { HookRequest, HookResponse, InboundEvent, InboundSourceInput, Receiver } from '../contract.js';
import { assertBodyWithin } from '../http/body.js';
import { consoleLogger, type Logger } from '../http/logger.js';
import { errorResponse, jsonResponse } from '../http/responses.js';
import type { SecretBox } from '../secrets.js';
import { newSourceId, openConfig, sealConfig, sourceHint, sourceView } from './sources.js';
import { Subscribers } from './subscribers.js';

export const DEFAULT_MAX_INBOUND_BODY_BYTES = 1024 * 1024;
export const DEFAULT_REPLAY_WINDOW_MS = 24 * 60 * 60 * 1000;
const DEFAULT_TENANT = 'default';

export interface ReceiverOptions {
  store: DeliveryStore;
  /** Seals source secrets at rest. */
  secretBox: SecretBox;
  logger?: Logger;
  /** Current time in ms (default `Date.now`): drives verification windows, replay expiry and timestamps. */
  now?: () => number;
  /** Largest inbound body, checked before a source is even looked up (default 1 MiB). */
  maxInboundBodyBytes?: number;
  /** How long a provider's delivery id is remembered to drop a replay (default 24 h). */
  replayWindowMs?: number;
  /** Where hookline's routes are reachable; a Twilio source without its own publicUrl is `${publicUrl}/in/<id>`. */
  publicUrl?: string;
}

/** What the sender is told when its request verified: the outcome, never the app's own errors. */
export type ReceiveOutcome =
  | { status: 'accepted'; id?: string }
  | { status: 'duplicate'; id: string }
  | { status: 'ignored'; reason: 'unmatched'; id?: string };

const JSON_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const utf8 = new TextDecoder();

/**
 * A verified body whose Content-Type says JSON but which does not parse is the sender's bug: answer 400 `invalid_json`
 * rather than hand the app a string it did not expect. Checked before the delivery id is remembered, so a corrected
 * retry with the same id is still accepted.
 */
function assertJsonIfDeclared(request: HookRequest, payload: unknown, rawBody: Uint8Array): void {
  if (typeof payload !== 'string') return;
  const contentType = request.headers['content-type'];
  const declared = Array.isArray(contentType) ? contentType[0] : contentType;
  if (declared === undefined || !JSON_TYPE.test(declared)) return;
  try {
    JSON.parse(utf8.decode(rawBody));
  } catch {
    throw new HooklineError('invalid_json', 'The body is declared as JSON (Content-Type) but is not valid JSON.');
  }
}

interface CompiledSource {
  key: string;
  verifier: Verifier;
  test: (payload: unknown) => boolean;
}

/** The receive side: inbound sources, the pipeline behind `/in/:sourceId`, and `on` / `waitFor`. */
export function createReceiver(options: ReceiverOptions): Receiver {
  const { store, secretBox: box } = options;
  const logger = options.logger ?? consoleLogger;
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxInboundBodyBytes ?? DEFAULT_MAX_INBOUND_BODY_BYTES;
  const replayWindowMs = options.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
  const subscribers = new Subscribers(logger);
  const context: BuildContext = { now, publicUrl: options.publicUrl?.replace(/\/+$/, '') };
  // Verifiers and matchers compiled once per source version, not per request.
  const compiled = new Map<string, CompiledSource>();

  function compile(record: InboundSourceRecord): CompiledSource {
    const key = `${record.updatedAt}:${record.platform}`;
    const cached = compiled.get(record.id);
    if (cached?.key === key) return cached;
    const fresh = buildSource(record.id, record.platform, openConfig(record.config, box), record.matches, context);
    const entry = { key, ...fresh };
    compiled.set(record.id, entry);
    return entry;
  }

  async function ownedSource(id: string, tenant: string): Promise<InboundSourceRecord> {
    const record = typeof id === 'string' && id !== '' ? await store.getSource(id) : undefined;
    // Another tenant's source answers exactly like a missing one.
    if (record === undefined || record.tenant !== tenant) {
      throw new HooklineError('not_found', 'No inbound source with this id.', { details: { id } });
    }
    return record;
  }

  async function markVerified(record: InboundSourceRecord): Promise<void> {
    if (record.state === 'verified') return;
    const latest = await store.getSource(record.id);
    if (latest === undefined || latest.state === 'verified' || latest.updatedAt !== record.updatedAt) return;
    // Compare-and-set on updatedAt: an admin edit landing after the read above (new secrets, say) is never
    // overwritten with the record this request verified against; the mark is simply not made.
    await store.updateSource({ ...latest, state: 'verified', verifiedAt: now() }, latest.updatedAt);
  }

  async function receive(sourceId: string, request: HookRequest): Promise<HookResponse> {
    try {
      assertBodyWithin(request, maxBodyBytes);
      const record = typeof sourceId === 'string' && sourceId !== '' ? await store.getSource(sourceId) : undefined;
      if (record === undefined) throw new HooklineError('not_found', 'No inbound source with this id.');
      const source = compile(record);
      assertBodyWithin(request, source.verifier.maxBodyBytes);

      const result = await source.verifier.verify({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: request.body,
      });
      if (result.kind === 'challenge') {
        // Slack's challenge is signed and Meta's carries the verify token; anyone can send X a CRC, so it proves nothing.
        if (record.platform !== 'x') await markVerified(record);
        return { status: result.response.status, headers: { ...result.response.headers }, body: result.response.body };
      }
      await markVerified(record);
      assertJsonIfDeclared(request, result.payload, result.rawBody);

      const receivedAt = now();
      const id = result.id === undefined || result.id === '' ? undefined : result.id;
      // Scoped by source: one Stripe event id legitimately reaches two sources of the same account.
      if (id !== undefined && !(await store.addSeenId(`inbound:${record.id}:${id}`, receivedAt + replayWindowMs, receivedAt))) {
        return outcome({ status: 'duplicate', id });
      }
      if (!source.test(result.payload)) return outcome({ status: 'ignored', reason: 'unmatched', ...(id ? { id } : {}) });

      const event: InboundEvent = {
        sourceId: record.id,
        tenant: record.tenant,
        platform: record.platform,
        payload: result.payload,
        rawBody: result.rawBody,
        id,
        timestamp: result.timestamp,
        unverified: result.unverified,
        receivedAt,
      };
      await subscribers.deliver(event);
      return outcome({ status: 'accepted', ...(id ? { id } : {}) });
    } catch (error) {
      if (isHooklineError(error) && error.status < 500) {
        logger.info({ source: sourceHint(sourceId), code: error.code, status: error.status }, 'inbound webhook refused');
      }
      return errorResponse(error, logger, {}, 'public');
    }
  }

  return {
    async createSource(input, tenant = DEFAULT_TENANT) {
      const id = newSourceId();
      const checked = checkSourceInput(id, input, context);
      const at = now();
      const record: InboundSourceRecord = {
        id,
        tenant,
        name: checked.name,
        platform: checked.platform,
        config: sealConfig(checked.config, box),
        matches: checked.matches,
        state: 'unverified',
        createdAt: at,
        updatedAt: at,
      };
      return sourceView(await store.createSource(record), box);
    },

    async getSource(id, tenant = DEFAULT_TENANT) {
      return sourceView(await ownedSource(id, tenant), box);
    },

    async listSources(page?: PageQuery, tenant = DEFAULT_TENANT) {
      const result = await store.listSources(tenant, page);
      return { ...result, items: result.items.map((record) => sourceView(record, box)) };
    },

    async updateSource(id, patch, tenant = DEFAULT_TENANT) {
      const record = await ownedSource(id, tenant);
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
        throw new HooklineError('invalid_source', 'A source patch must be an object.');
      }
      // Refuses fields a patch cannot set (`state`, `id`, a typo) instead of silently ignoring them.
      assertSchema('inbound-source-patch', patch);
      const platformChanged = patch.platform !== undefined && patch.platform !== record.platform;
      if (platformChanged && patch.config === undefined) {
        throw new HooklineError('invalid_source', 'Changing the platform needs the new platform\'s config too.', {
          details: { field: 'config' },
        });
      }
      const current = openConfig(record.config, box);
      const config = platformChanged ? (patch.config as JsonObject) : mergeConfig(current, patch.config);
      const checked = checkSourceInput(
        id,
        {
          name: patch.name ?? record.name,
          platform: patch.platform ?? record.platform,
          config,
          matches: patch.matches ?? record.matches,
        },
        context,
      );
      // New secrets or a new platform must prove themselves again, as a new source would.
      const reverify = platformChanged || patch.config !== undefined;
      const updated: InboundSourceRecord = {
        ...record,
        name: checked.name,
        platform: checked.platform,
        config: sealConfig(checked.config, box),
        matches: checked.matches,
        state: reverify ? 'unverified' : record.state,
        verifiedAt: reverify ? undefined : record.verifiedAt,
        updatedAt: Math.max(now(), record.updatedAt + 1),
      };
      const saved = await store.updateSource(updated);
      if (saved === undefined) throw new HooklineError('not_found', 'No inbound source with this id.', { details: { id } });
      compiled.delete(id);
      return sourceView(saved, box);
    },

    async deleteSource(id, tenant = DEFAULT_TENANT) {
      await ownedSource(id, tenant);
      if (!(await store.deleteSource(tenant, id))) {
        throw new HooklineError('not_found', 'No inbound source with this id.', { details: { id } });
      }
      compiled.delete(id);
    },

    receive,
    on: (selector, handler) => subscribers.on(selector, handler),
    waitFor: (selector, waitOptions) => subscribers.waitFor(selector, waitOptions),
  };
}

function outcome(body: ReceiveOutcome): HookResponse {
  return jsonResponse(200, body);
}

/** A shallow merge of a config patch over the stored one; `null` removes a field, so secrets need not be re-sent. */
function mergeConfig(current: JsonObject, patch: Record<string, unknown> | undefined): JsonObject {
  if (patch === undefined) return current;
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new HooklineError('invalid_source', 'config must be an object.', { details: { field: 'config' } });
  }
  const merged: JsonObject = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value as JsonValue;
  }
  return merged;
}

interface CheckedSource {
  name: string;
  platform: InboundSourceInput['platform'];
  config: JsonObject;
  matches: Record<string, JsonValue>;
}

/**
 * Everything a source must satisfy before it is saved: the schema, its matches compiled (`invalid_jsonpath`) and
 * its verifier built (`invalid_source`), so a bad source is refused at save time, not on its first webhook.
 */
function checkSourceInput(id: string, input: InboundSourceInput, context: BuildContext): CheckedSource {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new HooklineError('invalid_source', 'A source must be an object with name, platform and config.');
  }
  const candidate = { ...input, matches: input.matches ?? {} };
  if (typeof candidate.name !== 'string' || candidate.name.trim() === '' || candidate.name.length > 200) {
    throw new HooklineError('invalid_source', 'name must be a non-empty string of at most 200 characters.', { details: { field: 'name' } });
  }
  if (candidate.config === null || typeof candidate.config !== 'object' || Array.isArray(candidate.config)) {
    throw new HooklineError('invalid_source', 'config must be an object of the platform\'s options.', { details: { field: 'config' } });
  }
  if (candidate.matches === null || typeof candidate.matches !== 'object' || Array.isArray(candidate.matches)) {
    throw new HooklineError('invalid_jsonpath', 'matches must be an object of JSONPath to expected value.', { details: { field: 'matches' } });
  }
  assertSchema('inbound-source', candidate);
  buildSource(id, candidate.platform, candidate.config as JsonObject, candidate.matches, context);
  return {
    name: candidate.name,
    platform: candidate.platform,
    config: candidate.config as JsonObject,
    matches: candidate.matches,
  };
}

/** The schema's verdict as `invalid_source`, with the schema's problems (`{ pointer, message }`) as details. */
function assertSchema(name: 'inbound-source' | 'inbound-source-patch', candidate: unknown): void {
  try {
    validate(name, candidate);
  } catch (error) {
    if (!isHooklineError(error) || error.code !== 'invalid_payload') throw error;
    throw new HooklineError('invalid_source', `The source ${error.message}`, { details: { ...error.details }, cause: error });
  }
}

interface BuildContext {
  now: () => number;
  publicUrl: string | undefined;
}

function buildSource(
  id: string,
  platform: InboundSourceInput['platform'],
  config: JsonObject,
  matches: Record<string, JsonValue>,
  context: BuildContext,
): Omit<CompiledSource, 'key'> {
  const matcher = compileMatcher(matches);
  // Twilio signs the full public URL; unless the source says otherwise it is this source's inbound URL.
  const shared =
    platform === 'twilio' && context.publicUrl !== undefined
      ? { now: context.now, publicUrl: `${context.publicUrl}/in/${id}` }
      : { now: context.now };
  let verifier: Verifier;
  try {
    verifier = createVerifier(platform, config, shared);
  } catch (error) {
    if (!isHooklineError(error)) throw error;
    throw new HooklineError('invalid_source', `The ${platform} configuration is not usable: ${error.message}`, {
      details: { platform, reason: error.code, ...error.details },
      cause: error,
    });
  }
  return { verifier, test: (payload) => matcher.test(payload) };
}
