export type * from './types.js';
export { MemoryStore } from './memory.js';
export {
  DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, decodeCursor, encodeCursor, pageLimit, toPage, type CursorPosition,
} from './paging.js';
