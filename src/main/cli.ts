// `drover <command>`: the command line. Wiring only; each command's work lives in its module.
import { parseArgs } from "node:util";
import { openDatabase } from "../db/client.ts";
import { loadGraph } from "../db/graph.ts";
import { DatabaseUnreachableError, migrateDatabase } from "../db/migrate.ts";
import { renderStatusReport, statusRows } from "../report/status.ts";
import { environment, exit, loadDotEnv } from "./boot.ts";

const USAGE = `Usage: drover <command>

Commands:
  status --repo owner/name [--tree]   the repository's tasks, their states and what they wait for
                                      (--tree: stories with their sub-issues)
  migrate                             create the database if needed and apply migrations
  help                                this text
`;

loadDotEnv();
const [command = "help", ...rest] = process.argv.slice(2);
switch (command) {
  case "status": {
    const { values } = parseArgs({
      args: rest,
      options: { repo: { type: "string" }, tree: { type: "boolean", default: false } },
    });
    if (!values.repo || !/^[^/\s]+\/[^/\s]+$/.test(values.repo))
      exit(`status needs --repo owner/name\n\n${USAGE}`);
    const env = environment();
    await migrate(env.DATABASE_URL);
    const database = openDatabase(env.DATABASE_URL, { max: 2 });
    try {
      const graph = await loadGraph(database.db);
      const { rows, edges } = statusRows(graph);
      process.stdout.write(renderStatusReport({ repoFullName: values.repo, rows, edges, tree: values.tree }));
    } catch (error) {
      exit(`could not read PostgreSQL at DATABASE_URL: ${(error as Error).message}`);
    } finally {
      await database.close();
    }
    break;
  }
  case "migrate": {
    await migrate(environment().DATABASE_URL);
    process.stdout.write("drover: database is up to date\n");
    break;
  }
  case "help":
  case "--help":
    process.stdout.write(USAGE);
    break;
  default:
    exit(`unknown command "${command}"\n\n${USAGE}`);
}

async function migrate(url: string): Promise<void> {
  try {
    await migrateDatabase(url);
  } catch (error) {
    if (error instanceof DatabaseUnreachableError) exit(error.message);
    throw error;
  }
}
