export { DEFAULT_SQLITE_PATH, SqliteStore, createSqliteStore, type SqliteStoreOptions } from './store.js';
