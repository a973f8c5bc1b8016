import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.ts";
import { storableJson, storableText } from "./storable.ts";

const [TEXT, VARCHAR, JSON_OID, JSONB] = [25, 1043, 114, 3802];

export type Db = PostgresJsDatabase<typeof schema>;
export type Database = { db: Db; sql: postgres.Sql; close: () => Promise<void> };

/** Opens a pool. Connections are made lazily; call `assertDatabaseReachable` at start. */
export function openDatabase(url: string, options: { max?: number } = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connect_timeout: 5,
  });
  const db = drizzle(sql, { schema });
  // After drizzle, which sets its own (pass-through) JSON serializers: text and JSON that PostgreSQL
  // would refuse are made storable here, for every write (see storable.ts).
  for (const oid of [TEXT, VARCHAR]) sql.options.serializers[oid] = storableText;
  for (const oid of [JSON_OID, JSONB]) sql.options.serializers[oid] = storableJson;
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
