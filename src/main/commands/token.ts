import { environment, exit } from "../env.ts";
import type { CliCommand } from "../command.ts";
import { isRepoName, readFlags, withOperatorDatabase } from "../command.ts";

const CREATE_SYNOPSIS = "drover token create --name NAME [--repo owner/name ...] [--write]";
const SYNOPSIS = `${CREATE_SYNOPSIS} | list | revoke ID`;

export type TokenAction =
  | { kind: "create"; token: { name: string; repos: string[] | null; canWrite: boolean } }
  | { kind: "list" }
  | { kind: "revoke"; id: number };

/** `token create`'s options: a name, the repositories it may read (none given: every one), and --write. */
function tokenCreateArgs(args: string[]): { name: string; repos: string[] | null; canWrite: boolean } {
  const { values } = readFlags("token create", CREATE_SYNOPSIS, {
    args,
    options: {
      name: { type: "string" },
      repo: { type: "string", multiple: true },
      write: { type: "boolean", default: false },
    },
  });
  const name = values.name?.trim() ?? "";
  if (!name)
    exit(
      `token create needs --name, saying who or what holds it (e.g. --name grafana); usage: ${CREATE_SYNOPSIS}`,
    );
  if (name.length > 100) exit("--name is longer than 100 characters");
  const repos = values.repo ?? [];
  const bad = repos.find((repo) => !isRepoName(repo));
  if (bad !== undefined) exit(`--repo "${bad}" is not a repository; use owner/name`);
  return { name, repos: repos.length > 0 ? repos : null, canWrite: values.write };
}

/** `token`'s subcommand and its arguments, checked before the database is opened. */
export function tokenArgs(rest: string[]): TokenAction {
  const [subcommand, ...args] = rest;
  switch (subcommand) {
    case "create":
      return { kind: "create", token: tokenCreateArgs(args) };
    case "list":
      if (args.length > 0) exit(`token list takes no arguments (got ${args.join(" ")})`);
      return { kind: "list" };
    case "revoke":
      if (args.length !== 1 || !/^\d{1,9}$/.test(args[0] ?? ""))
        exit(
          "token revoke takes a token's id: drover token revoke ID (ids as `drover token list` shows them)",
        );
      return { kind: "revoke", id: Number(args[0]) };
    default:
      exit(
        `${subcommand === undefined ? "token needs a subcommand" : `unknown token subcommand "${subcommand}"`}: ${SYNOPSIS}`,
      );
  }
}

export const token: CliCommand = {
  name: "token",
  usage: `  token create --name NAME [--repo owner/name ...] [--write]
                                      issue an API token for /drover/api/... and the dashboard:
                                      shown once; --repo limits what it reads (default: every
                                      repository), --write lets it use the controls
  token list                          the tokens issued (never their secrets) and their last use
  token revoke ID                     stop honouring token ID at once
`,
  help: `Usage: drover token create --name NAME [--repo owner/name ...] [--write]
       drover token list
       drover token revoke ID

Tokens for programs and people that read Drover over HTTP: the events API (/drover/api/events), the
dashboard's data, and, with --write, its controls (retry, pause, hint...). A token is stored hashed:
\`create\` shows it once.

  create   issues a token and prints it with its id
  list     the tokens issued (never their secrets): name, repositories, read or write, last use,
           revoked or not
  revoke   stops honouring token ID at once (ids as \`list\` shows them)

Options of create:
  --name NAME        who or what holds it, up to 100 characters (required)
  --repo owner/name  a repository it may read; repeat for more (default: every repository)
  --write            it may also use the controls (default: read only)

Exit codes:
  0  done
  1  a bad argument, no live token with that id, or PostgreSQL did not answer

Example:
  drover token create --name grafana --repo octo/widgets
`,
  async run(rest) {
    const action = tokenArgs(rest);
    const env = environment();
    const { createApiToken, listApiTokens, revokeApiToken } = await import("../../db/access.ts");
    const { renderTokenCreated, renderTokens } = await import("../../report/api-tokens.ts");
    await withOperatorDatabase(env, async (database) => {
      if (action.kind === "create") {
        const issued = await createApiToken(database.db, action.token);
        process.stdout.write(renderTokenCreated({ ...action.token, ...issued }));
      } else if (action.kind === "list") {
        process.stdout.write(renderTokens(await listApiTokens(database.db)));
      } else {
        if (!(await revokeApiToken(database.db, action.id)))
          exit(`no live token ${action.id}: \`drover token list\` shows the tokens and which are revoked`);
        process.stdout.write(
          `drover: token ${action.id} is revoked; requests with it are refused from now on\n`,
        );
      }
    });
  },
};
