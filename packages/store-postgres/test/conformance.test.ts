import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { runStoreConformance } from '@hookline/store/testing';
import { createPostgresStore } from '@hookline/store-postgres';
import { DATABASE_URL, dropSchema, freshSchemaName } from './helpers.js';

const schema = freshSchemaName('conformance');
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });

beforeAll(async () => {
  await (await createPostgresStore({ connectionString: DATABASE_URL, schema })).close();
});

afterAll(async () => {
  await admin.end();
  await dropSchema(schema);
});

runStoreConformance('PostgresStore', async () => {
  // One schema per file; every case starts from empty tables.
  await admin.query(
    `TRUNCATE "${schema}".endpoints, "${schema}".messages, "${schema}".deliveries, "${schema}".attempts,
       "${schema}".callbacks, "${schema}".sources, "${schema}".seen_ids`,
  );
  return { store: await createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 12 }) };
});
