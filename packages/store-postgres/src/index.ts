export { PostgresStore, createPostgresStore, type PostgresStoreOptions } from './store.js';
