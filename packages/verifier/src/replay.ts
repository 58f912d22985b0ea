import { HooklineError } from '@hookline/errors';
import type { SeenIdStore } from './types.js';

/**
 * An in-memory {@link SeenIdStore} with expiry, for one process. The delivery stores implement the same method
 * (`addSeenId`) durably, so replays are caught across restarts and processes.
 *
 * @example
 * ```ts
 * const seenIds = new MemorySeenIds();
 * await seenIds.addSeenId('github:abc', Date.now() + 60_000); // true
 * await seenIds.addSeenId('github:abc', Date.now() + 60_000); // false: a replay
 * ```
 */
export class MemorySeenIds implements SeenIdStore {
  readonly #expiries = new Map<string, number>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(options: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  async addSeenId(key: string, expiresAt: number): Promise<boolean> {
    const now = this.#now();
    const existing = this.#expiries.get(key);
    if (existing !== undefined && existing > now) return false;
    if (this.#expiries.size >= this.#maxEntries) this.#sweep(now);
    this.#expiries.set(key, expiresAt);
    return true;
  }

  get size(): number {
    return this.#expiries.size;
  }

  #sweep(now: number): void {
    for (const [key, expiry] of this.#expiries) if (expiry <= now) this.#expiries.delete(key);
    // Still full of live ids: drop the oldest inserted, bounded memory beats unbounded growth.
    while (this.#expiries.size >= this.#maxEntries) {
      const oldest = this.#expiries.keys().next().value;
      if (oldest === undefined) break;
      this.#expiries.delete(oldest);
    }
  }
}

/**
 * Refuses a delivery id seen before within its window: `replayed` (409). Keys are namespaced by `scope`
 * (the preset and source), so two providers' ids never collide.
 */
export async function assertFirstDelivery(
  seenIds: SeenIdStore | undefined,
  scope: string,
  id: string | undefined,
  expiresAt: number,
): Promise<void> {
  if (seenIds === undefined || id === undefined || id === '') return;
  const first = await seenIds.addSeenId(`${scope}:${id}`, expiresAt);
  if (!first) throw new HooklineError('replayed', 'This delivery was already received.', { details: { id } });
}
