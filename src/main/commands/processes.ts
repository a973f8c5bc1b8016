import type { CliCommand } from "../command.ts";
import { readFlags } from "../command.ts";

/**
 * `drover start`, `web`, `worker`: Drover's long-running processes, the same as `npm start`, `npm run web`
 * and `npm run worker`, so the installed `drover` command runs them. Each entry point does its own wiring
 * when imported (src/main/start.ts, web.ts, worker.ts); these only refuse arguments they would ignore.
 */

const ENVIRONMENT = `Environment (or .env in the working directory):
  APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET
                 the GitHub App's credentials (without them \`start\` shows the setup page)
  DATABASE_URL   PostgreSQL (default postgres://postgres@127.0.0.1:5432/drover)
  REDIS_URL      Redis (default redis://127.0.0.1:6379)
  DROVER_HOME    mirrors, worktrees and agent logs (default .drover)
  DROVER_WORKERS agent runs at once in this process (default 2)
  PORT           the web server's port (default 3000)`;

const EXIT_CODES = `Exit codes:
  0  stopped by SIGTERM or Ctrl-C after finishing what it could within 10 seconds
  1  could not start (a setting, PostgreSQL or Redis is wrong: one line says which), or stopped with
     jobs still running (they resume on another worker)`;

function processCommand(input: {
  name: "start" | "web" | "worker";
  describe: string;
  usage: string;
  entry: () => Promise<unknown>;
  example: string;
}): CliCommand {
  const synopsis = `drover ${input.name}`;
  return {
    name: input.name,
    usage: input.usage,
    help: `Usage: ${synopsis}

${input.describe}

Options: none (settings come from the environment).

${ENVIRONMENT}

${EXIT_CODES}

Example:
  ${input.example}
`,
    async run(args) {
      readFlags(input.name, synopsis, { args, options: {} });
      await input.entry();
    },
  };
}

export const start = processCommand({
  name: "start",
  describe: `Runs Drover in one process: the web server (webhooks, the dashboard, the events API, /readyz)
and queue workers, as \`npm start\` does. Migrates the database first. Without the App's credentials it
serves GitHub's "register a GitHub App" page instead. Runs until SIGTERM or Ctrl-C.`,
  usage: `  start                               Drover in one process: web server and workers (as npm start)\n`,
  entry: () => import("../start.ts"),
  example: "PORT=3000 DROVER_WORKERS=4 drover start",
});

export const web = processCommand({
  name: "web",
  describe: `Runs Drover's web server only: webhooks into the queue, the dashboard, the events API and
/readyz, as \`npm run web\` does. Run workers beside it (\`drover worker\`), on this or other machines
sharing PostgreSQL and Redis. Migrates the database first. Runs until SIGTERM or Ctrl-C.`,
  usage: `  web                                 the web server only: webhooks, dashboard, API (as npm run web)\n`,
  entry: () => import("../web.ts"),
  example: "PORT=8080 drover web",
});

export const worker = processCommand({
  name: "worker",
  describe: `Runs queue workers only, as \`npm run worker\` does: they take jobs (agent runs, publishing,
syncing issues) and clean DROVER_HOME every 10 minutes. Scale out by starting more, each with its own
DROVER_HOME, against the same PostgreSQL and Redis. Migrates the database first. Runs until SIGTERM or
Ctrl-C.`,
  usage: `  worker                              queue workers only; start more to scale out (as npm run worker)\n`,
  entry: () => import("../worker.ts"),
  example: "DROVER_HOME=/var/lib/drover DROVER_WORKERS=8 drover worker",
});
