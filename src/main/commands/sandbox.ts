import { exit } from "../env.ts";
import type { CliCommand } from "../command.ts";
import { readFlags } from "../command.ts";

const SYNOPSIS = "drover sandbox [--port N] [--webhook-url URL] [--webhook-secret S] [--quiet]";
const DEFAULT_WEBHOOK_URL = "http://127.0.0.1:3000/api/github/webhooks";

export const sandbox: CliCommand = {
  name: "sandbox",
  usage: `  sandbox [--port N] [--webhook-url URL] [--webhook-secret S]
                                      run the local stand-in for GitHub; prints one JSON line with
                                      its URLs, app credentials and seeded users' tokens
`,
  help: `Usage: ${SYNOPSIS}

Runs the sandbox, Drover's local stand-in for GitHub (the REST endpoints Drover uses, shaped after
GitHub's OpenAPI description, with git over HTTP), until Ctrl-C. Prints one JSON line on stdout: its
URLs, a GitHub App's credentials, seeded users' tokens, and "env", the variables to start Drover
against it. Requests are logged on stderr.

Options:
  --port N              the port, 0 for any free one (default 0)
  --webhook-url URL     where it delivers webhooks (default ${DEFAULT_WEBHOOK_URL})
  --webhook-secret S    the secret webhooks are signed with (default: a random one, in the JSON line)
  --quiet               no request log on stderr (default: off)

Exit codes:
  0  stopped by Ctrl-C or SIGTERM
  1  a bad option, or it could not start (e.g. the port is taken)

Example:
  drover sandbox --port 3100 --webhook-url http://127.0.0.1:3000/api/github/webhooks
`,
  async run(args) {
    const { values } = readFlags("sandbox", SYNOPSIS, {
      args,
      options: {
        port: { type: "string", default: "0" },
        "webhook-url": { type: "string", default: DEFAULT_WEBHOOK_URL },
        "webhook-secret": { type: "string" },
        quiet: { type: "boolean", default: false },
      },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      exit("--port must be a port number (0 picks a free one)");
    const { startSandbox } = await import("../../sandbox/server.ts");
    const started = await startSandbox({
      port,
      webhookUrl: values["webhook-url"],
      ...(values["webhook-secret"] ? { webhookSecret: values["webhook-secret"] } : {}),
      ...(values.quiet ? {} : { log: (line: string) => process.stderr.write(`sandbox: ${line}\n`) }),
    }).catch((error: unknown) => exit(`the sandbox could not start: ${(error as Error).message}`));
    process.stdout.write(`${JSON.stringify({ ...started.describe(), env: started.droverEnv() })}\n`);
    const stop = () => void started.close().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  },
};
