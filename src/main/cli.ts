// `drover <command>`: the command line. Dispatch only; each command lives in src/main/commands/<name>.ts.
import { loadDotEnv } from "./env.ts";
import { usage, wantsHelp } from "./command.ts";
import { COMMANDS } from "./commands/index.ts";

loadDotEnv();
const [name = "help", ...args] = process.argv.slice(2);
const command = COMMANDS.find((entry) => entry.name === name);
if (command) {
  if (wantsHelp(args)) process.stdout.write(command.help);
  else await command.run(args);
} else if (name === "help" || name === "--help" || name === "-h") {
  // `drover help status` is `drover status --help`.
  const about = COMMANDS.find((entry) => entry.name === args[0]);
  process.stdout.write(about ? about.help : usage(COMMANDS));
} else {
  process.stderr.write(`drover: unknown command "${name}"\n\n${usage(COMMANDS)}`);
  process.exitCode = 1;
}
