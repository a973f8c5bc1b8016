// `npm run migrate`: create the database if needed and apply migrations. Wiring only.
import { DatabaseUnreachableError, migrateDatabase } from "../db/migrate.ts";
import { environment, exit, loadDotEnv } from "./boot.ts";

loadDotEnv();
const env = environment();
try {
  await migrateDatabase(env.DATABASE_URL);
  process.stdout.write("drover: database is up to date\n");
} catch (error) {
  if (error instanceof DatabaseUnreachableError) exit(error.message);
  throw error;
}
