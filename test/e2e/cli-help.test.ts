import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { usage } from "../../src/main/command.ts";
import { COMMANDS } from "../../src/main/commands/index.ts";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;

/**
 * The `drover` command as a person first meets it: `help`, a command's `--help` (on stdout, exit 0), an
 * unknown command and an argument a command does not take (one line on stderr, exit 1). Every command's
 * help text itself is checked in test/unit/main/commands.test.ts; spawning each costs seconds.
 */
describe("drover help", () => {
  const drover = (...args: string[]) =>
    execa(process.execPath, ["--import", "tsx", CLI, ...args], {
      reject: false,
      // No service is needed for any of this: none is reachable. No App either.
      env: {
        DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
        REDIS_URL: "redis://127.0.0.1:1",
        APP_ID: "",
        PRIVATE_KEY: "",
        PRIVATE_KEY_PATH: "",
      },
    });
  const helpOf = (name: string) => COMMANDS.find((command) => command.name === name)?.help.trimEnd();

  it("shows the usage, each command's help, and refuses what it does not know", async () => {
    const [help, bare, status, retry, helpStart, unknown, extra, worker] = await Promise.all([
      drover("help"),
      drover(),
      drover("status", "--help"),
      drover("retry", "--failed", "-h"),
      drover("help", "start"),
      drover("statsu"),
      drover("start", "--now"),
      // The process itself (src/main/worker.ts), which stops at once without the App's credentials.
      drover("worker"),
    ]);
    expect(help).toMatchObject({ exitCode: 0, stdout: usage(COMMANDS).trimEnd(), stderr: "" });
    expect(bare).toMatchObject({ exitCode: 0, stdout: help.stdout });
    expect(status).toMatchObject({ exitCode: 0, stdout: helpOf("status"), stderr: "" });
    expect(retry).toMatchObject({ exitCode: 0, stdout: helpOf("retry") });
    expect(helpStart).toMatchObject({ exitCode: 0, stdout: helpOf("start") });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr.split("\n")[0]).toBe('drover: unknown command "statsu"');
    expect(unknown.stderr).toContain(usage(COMMANDS).trimEnd());
    expect(extra.exitCode).toBe(1);
    expect(extra.stderr).toBe("drover: start: Unknown option '--now'; usage: drover start");
    expect(worker).toMatchObject({
      exitCode: 1,
      stderr: "drover: APP_ID and PRIVATE_KEY are required to run workers.",
    });
  }, 120_000);
});
