import { HooklineError } from '@hookline/errors';

/** The position after which a listing continues: the sort time and id of the last item shown. */
export interface CursorPosition {
  at: number;
  id: string;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 1000;

/**
 * Clamps a requested page size to 1..1000 (50 when absent), for every store alike.
 *
 * @example
 * ```ts
 * pageLimit(undefined); // 50
 * pageLimit(5000); // 1000
 * ```
 */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_LIMIT;
  return Math.min(MAX_PAGE_LIMIT, Math.max(1, Math.floor(limit)));
}

/**
 * Encodes a keyset position as an opaque cursor. Stores share the format, so a cursor is portable between them.
 *
 * @example
 * ```ts
 * const cursor = encodeCursor({ at: 1_700_000_000_000, id: 'ep_1' });
 * decodeCursor(cursor); // { at: 1700000000000, id: 'ep_1' }
 * ```
 */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor from {@link encodeCursor}; anything else is a `bad_request` HooklineError. */
export function decodeCursor(cursor: string): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string'
  ) {
    throw new HooklineError('bad_request', 'The page cursor is not valid.', { details: { field: 'cursor' } });
  }
  return { at: parsed[0], id: parsed[1] };
}

/** Builds a page from `limit + 1` rows fetched newest first: the extra row only says another page exists. */
export function toPage<T>(rows: T[], limit: number, position: (item: T) => CursorPosition): { items: T[]; nextCursor?: string } {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(position(items[items.length - 1] as T)) };
}
