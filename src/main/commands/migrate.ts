import type { CliCommand } from "../command.ts";
import { migrateOrExit, readFlags } from "../command.ts";
import { environment } from "../env.ts";

const SYNOPSIS = "drover migrate";

export const migrate: CliCommand = {
  name: "migrate",
  usage: `  migrate                             create the database if needed and apply migrations\n`,
  help: `Usage: ${SYNOPSIS}

Creates the database named in DATABASE_URL if it does not exist, then applies every migration not yet
applied. Safe to run again: it does nothing when the database is up to date. \`drover start\`, \`web\`
and \`worker\` migrate too when they start; run this first when upgrading (migrations before new code).

Options: none.

Environment:
  DATABASE_URL   the PostgreSQL to migrate (default postgres://postgres@127.0.0.1:5432/drover)

Exit codes:
  0  the database is up to date
  1  PostgreSQL did not answer, or a migration failed

Example:
  DATABASE_URL=postgres://drover@db.internal/drover drover migrate
`,
  async run(args) {
    readFlags("migrate", SYNOPSIS, { args, options: {} });
    await migrateOrExit(environment().DATABASE_URL);
    process.stdout.write("drover: database is up to date\n");
  },
};
