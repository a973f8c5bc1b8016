import { readFile } from "node:fs/promises";
import { CONFIG_PATH } from "../../config/schema.ts";
import { exit } from "../env.ts";
import type { CliCommand } from "../command.ts";

const SYNOPSIS = "drover config check [path]";

/** The file `config check` reads and whether it was named, or exit 1 saying what it takes. */
export function configCheckArgs(rest: string[]): { file: string; named: boolean } {
  const [subcommand, ...args] = rest;
  if (subcommand !== "check")
    exit(
      `${subcommand === undefined ? "config needs a subcommand" : `unknown config subcommand "${subcommand}"`}: ${SYNOPSIS}`,
    );
  if (args.length > 1 || args.some((arg) => arg.startsWith("-")))
    exit(`config check takes one path at most, got ${args.join(" ")}: ${SYNOPSIS}`);
  const named = args[0];
  return { file: named ?? CONFIG_PATH, named: named !== undefined };
}

export const config: CliCommand = {
  name: "config",
  usage: `  config check [path]                 check a drover.yml (default .github/drover.yml) as the app does,
                                      with the messages it would post; exit 1 when it is not valid,
                                      2 when the named file is missing
`,
  help: `Usage: ${SYNOPSIS}

Checks a drover.yml as the app does when it reads the repository's .github/drover.yml, and prints what it
would post: the settings in effect, or each problem with the key, what was found and what is accepted.
Reads only the file (no GitHub, no database); \`_extends\` (organisation defaults) is set aside and said so.

Arguments:
  path   the file to check (default ${CONFIG_PATH}, relative to the working directory; when it is
         missing there, Drover's defaults apply and that is said)

Exit codes:
  0  the file is valid (or there is no ${CONFIG_PATH} and none was named)
  1  the file is not valid, or cannot be read
  2  the named file does not exist

Example:
  drover config check proposed-drover.yml
`,
  async run(rest) {
    const { file, named } = configCheckArgs(rest);
    const text = await readFile(file, "utf8").catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT")
        exit(`cannot read ${file}: ${(error as Error).message}`);
      return null;
    });
    if (text === null) {
      if (named) {
        process.stderr.write(`drover: no file at ${file}\n`);
        process.exit(2);
      }
      process.stdout.write(`No ${CONFIG_PATH} here: Drover uses its defaults for this repository.\n`);
      return;
    }
    const { checkConfigText } = await import("../../github/config-check.ts");
    const checked = checkConfigText(text, file);
    process.stdout.write(checked.output.endsWith("\n") ? checked.output : `${checked.output}\n`);
    if (!checked.ok) process.exitCode = 1;
  },
};
