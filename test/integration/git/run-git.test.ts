import os from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { credentialEnv } from "../../../src/git/credentials.ts";
import { GitError, runGit, subcommandOf } from "../../../src/git/run-git.ts";

const TOKEN = "ghs_SECRET123";
const cwd = os.tmpdir();

function failure(promise: Promise<unknown>): Promise<GitError> {
  return promise.then(
    () => expect.unreachable("expected a GitError"),
    (error: unknown) => {
      expect(error).toBeInstanceOf(GitError);
      return error as GitError;
    },
  );
}

describe("runGit", () => {
  afterEach(() => {
    delete process.env.DROVER_TEST_LEAK;
  });

  it("returns trimmed stdout", async () => {
    expect(await runGit(["--version"], { cwd })).toMatch(/^git version \d+\.\d+/);
  });

  it("feeds input on stdin", async () => {
    const sha = await runGit(["hash-object", "--stdin"], { cwd, input: "hello\n" });
    expect(sha).toBe("ce013625030ba8dba906f756967f9e9ca394464a");
  });

  it("runs git in a controlled environment, not the caller's", async () => {
    process.env.DROVER_TEST_LEAK = "yes";
    const env = await runGit(["-c", "alias.env=!env", "env"], { cwd, env: { EXTRA: "1" } });
    expect(env).toContain("GIT_TERMINAL_PROMPT=0");
    expect(env).toContain("GIT_CONFIG_NOSYSTEM=1");
    expect(env).toContain("GIT_CONFIG_GLOBAL=/dev/null");
    expect(env).toContain("EXTRA=1");
    expect(env).not.toContain("DROVER_TEST_LEAK");
  });

  it("turns a failure into a GitError with subcommand, exit code and stderr tail", async () => {
    const error = await failure(runGit(["-c", "x.y=1", "rev-parse", "--verify", "nope"], { cwd: "/" }));
    expect(error.subcommand).toBe("rev-parse");
    expect(error.exitCode).toBe(128);
    expect(error.stderrTail).toMatch(/not a git repository/);
    expect(error.message).toMatch(/^git rev-parse failed with exit code 128: fatal: not a git repository/);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("times out", async () => {
    const error = await failure(runGit(["-c", "alias.nap=!sleep 5", "nap"], { cwd, timeoutMs: 200 }));
    expect(error.timedOut).toBe(true);
    expect(error.message).toBe("git nap timed out after 200 ms");
  });

  it("stops when the signal aborts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failure(
      runGit(["-c", "alias.nap=!sleep 5", "nap"], { cwd, signal: controller.signal }),
    );
    expect(error.isCanceled).toBe(true);
  });

  it("never puts the token in an error, even when git prints it", async () => {
    const env = credentialEnv(TOKEN);
    const error = await failure(
      runGit(["-c", 'alias.leak=!echo "$GIT_CONFIG_VALUE_0" >&2; exit 3', "leak"], { cwd, env }),
    );
    expect(error.exitCode).toBe(3);
    expect(error.stderrTail).toContain("[REDACTED]");
    const everything = [error.message, error.stderrTail, String(error.cause), JSON.stringify(error)].join(
      "\n",
    );
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(env.GIT_CONFIG_VALUE_0);
    expect(everything).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString("base64"));
  });
});

describe("subcommandOf", () => {
  it("skips options and the values of -c and -C", () => {
    expect(subcommandOf(["-c", "a=b", "-C", "/x", "--no-pager", "push", "origin"])).toBe("push");
    expect(subcommandOf(["--version"])).toBe("git");
  });
});
