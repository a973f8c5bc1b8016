import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { usage } from "../../../src/main/command.ts";
import { COMMANDS } from "../../../src/main/commands/index.ts";
import { chaosOptions } from "../../../src/main/commands/chaos.ts";
import { configCheckArgs } from "../../../src/main/commands/config.ts";
import { demoOptions } from "../../../src/main/commands/demo.ts";
import { retryControl, retryTarget } from "../../../src/main/commands/retry.ts";
import { statusOptions } from "../../../src/main/commands/status.ts";
import { streamArgs } from "../../../src/main/commands/stream.ts";
import { tokenArgs } from "../../../src/main/commands/token.ts";
import { pruneArgs } from "../../../src/main/commands/worktree.ts";
import { JOBS } from "../../../src/queue/job-catalog.ts";

/**
 * The commands' pure parts: their entries in `drover help`, their `--help`, and how each reads its
 * arguments. A refusal ends the process with one line (src/main/boot.ts `exit`): here `process.exit`
 * throws instead, and the line is caught from stderr.
 */

let said: string[] = [];
beforeEach(() => {
  said = [];
  vi.spyOn(process, "exit").mockImplementation((code) => {
    throw new Error(`exit ${String(code)}`);
  });
  vi.spyOn(process.stderr, "write").mockImplementation((text) => {
    said.push(String(text));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

/** What `parse` refused with, as the person sees it (exit code 1 and the one line). */
function refusal(parse: () => unknown): string {
  expect(parse).toThrow("exit 1");
  expect(said).toHaveLength(1);
  const line = said[0] ?? "";
  said = [];
  return line;
}

/** `refusal` for a parser that resolves: what it was refused with. */
async function refusedAsync(parsed: Promise<unknown>): Promise<string> {
  await expect(parsed).rejects.toThrow("exit 1");
  expect(said).toHaveLength(1);
  const line = said[0] ?? "";
  said = [];
  return line;
}

describe("drover help", () => {
  it("lists every command once, each entry aligned as the others", () => {
    const names = COMMANDS.map((command) => command.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining(["start", "web", "worker", "migrate", "status", "retry", "stream", "token"]),
    );
    const text = usage(COMMANDS);
    for (const command of COMMANDS) {
      expect(text).toContain(command.usage);
      expect(command.usage.endsWith("\n")).toBe(true);
      for (const line of command.usage.slice(0, -1).split("\n")) {
        expect(line.startsWith("  ")).toBe(true);
        // Descriptions start at column 39: after the synopsis on its line, or on lines of their own.
        const described = /^ {2}\S.*? {2,}(\S.*)$/.exec(line);
        if (line.startsWith(" ".repeat(3))) expect(line.search(/\S/)).toBe(38);
        else if (described) expect(line.length - (described[1] ?? "").length).toBe(38);
        expect(line.length).toBeLessThanOrEqual(110);
      }
      expect(command.usage.startsWith(`  ${command.name}`)).toBe(true);
    }
    expect(text.endsWith("  help                                this text\n")).toBe(true);
  });

  it("gives each command a whole help: synopsis, what it does, exit codes, an example", () => {
    for (const command of COMMANDS) {
      const help = command.help;
      expect(help.startsWith(`Usage: drover ${command.name}`), command.name).toBe(true);
      expect(help, command.name).toMatch(/\nExit codes:\s+0 /);
      expect(help, command.name).toMatch(/\nExamples?:\n {2}(\S+=\S+ )*drover /);
      expect(help.endsWith("\n")).toBe(true);
      // Every option the synopsis names is explained.
      const synopsis = help.split("\n\n")[0] ?? "";
      for (const [flag] of synopsis.matchAll(/--[a-z-]+/g))
        expect(help.split("\n\n").slice(1).join("\n"), `${command.name} ${flag}`).toContain(flag);
    }
  });
});

describe("status", () => {
  it("reads once by default, every 2 seconds with --watch, as often as --interval says", () => {
    expect(statusOptions([])).toEqual({ repo: undefined, tree: false, watchSeconds: null });
    expect(statusOptions(["--repo", "octo/widgets", "--tree"])).toEqual({
      repo: "octo/widgets",
      tree: true,
      watchSeconds: null,
    });
    expect(statusOptions(["--watch"]).watchSeconds).toBe(2);
    expect(statusOptions(["--watch", "--interval", "1"]).watchSeconds).toBe(1);
    expect(statusOptions(["--watch", "--interval", "7.5", "--repo", "a/b"])).toMatchObject({
      watchSeconds: 7.5,
      repo: "a/b",
    });
  });

  it("refuses a bad flag naming it and showing the synopsis", () => {
    expect(refusal(() => statusOptions(["--watsh"]))).toBe(
      "drover: status: Unknown option '--watsh'; usage: drover status [--repo owner/name] [--tree] [--watch [--interval SECONDS]]\n",
    );
    expect(refusal(() => statusOptions(["--repo", "widgets"]))).toContain(
      '--repo must be owner/name (got "widgets")',
    );
    expect(refusal(() => statusOptions(["--watch", "--interval", "0.5"]))).toContain(
      "--interval must be a number of seconds from 1 to 3600",
    );
    expect(refusal(() => statusOptions(["--watch", "--interval", "soon"]))).toContain('(got "soon")');
    expect(refusal(() => statusOptions(["--interval", "5"]))).toContain("add --watch");
    expect(refusal(() => statusOptions(["octo/widgets"]))).toContain("Unexpected argument 'octo/widgets'");
  });
});

describe("retry", () => {
  it("takes parked work by delivery or job, or every failed task of a repository", () => {
    expect(retryTarget(["--delivery", "d-1"])).toEqual({ kind: "parked", target: { deliveryId: "d-1" } });
    expect(retryTarget(["--job", "sync-1"])).toEqual({ kind: "parked", target: { jobId: "sync-1" } });
    expect(retryTarget(["--failed", "--repo", "octo/widgets"])).toEqual({
      kind: "failed",
      repoFullName: "octo/widgets",
      dryRun: false,
    });
    expect(retryTarget(["--failed", "--repo", "octo/widgets", "--dry-run"])).toMatchObject({ dryRun: true });
  });

  it("refuses what it cannot do as asked", () => {
    expect(refusal(() => retryTarget([]))).toMatch(/^drover: retry needs one of --delivery ID or --job ID/);
    expect(refusal(() => retryTarget(["--failed", "--job", "x"]))).toContain("needs one of");
    expect(refusal(() => retryTarget(["--failed"]))).toContain("retry --failed needs --repo owner/name");
    expect(refusal(() => retryTarget(["--failed", "--repo", "octo"]))).toContain("--repo must be owner/name");
    expect(refusal(() => retryTarget(["--job", "x", "--dry-run"]))).toContain("--dry-run go with --failed");
    expect(refusal(() => retryTarget(["--failed", "--repo", "a/b", "--force"]))).toContain(
      "Unknown option '--force'; usage: drover retry",
    );
  });

  it("keys each retry by the failure it answers: the same failure once, a later one again", () => {
    const task = {
      taskId: 41,
      number: 12,
      title: "Cache the index",
      reason: "attempts used up",
      attempts: 3,
      verdict: "fail",
      summary: null,
      since: 9001,
    };
    const first = retryControl("octo/widgets", task, "ops");
    expect(first).toEqual({
      controlId: "operator-retry-41-e9001",
      repoFullName: "octo/widgets",
      number: 12,
      command: "/drover retry",
      author: { login: "ops", id: 0 },
      via: "operator",
    });
    expect(JOBS.control.payload.parse(first)).toEqual(first);
    expect(retryControl("octo/widgets", task, "someone else").controlId).toBe(first.controlId);
    expect(retryControl("octo/widgets", { ...task, since: 9500 }, "ops").controlId).not.toBe(first.controlId);
    expect(retryControl("octo/widgets", { ...task, since: null }, "ops").controlId).toBe(
      "operator-retry-41-a3",
    );
  });
});

describe("the other commands' arguments", () => {
  it("start, web and worker take none", async () => {
    for (const name of ["start", "web", "worker", "migrate"]) {
      const command = COMMANDS.find((entry) => entry.name === name);
      await expect(command?.run(["--port", "3000"])).rejects.toThrow("exit 1");
      expect(said.pop()).toBe(`drover: ${name}: Unknown option '--port'; usage: drover ${name}\n`);
    }
  });

  it("worktree prune, config check, token, stream, demo and chaos read theirs as before", async () => {
    expect(pruneArgs(["prune", "--all"])).toEqual({ all: true });
    expect(refusal(() => pruneArgs(["prune", "--everything"]))).toBe(
      "drover: worktree prune: Unknown option '--everything'; usage: drover worktree prune [--all]\n",
    );
    expect(configCheckArgs(["check"])).toEqual({ file: ".github/drover.yml", named: false });
    expect(configCheckArgs(["check", "x.yml"])).toEqual({ file: "x.yml", named: true });
    expect(refusal(() => configCheckArgs(["lint"]))).toContain('unknown config subcommand "lint"');
    expect(tokenArgs(["create", "--name", "grafana", "--write"])).toEqual({
      kind: "create",
      token: { name: "grafana", repos: null, canWrite: true },
    });
    expect(tokenArgs(["revoke", "7"])).toEqual({ kind: "revoke", id: 7 });
    expect(refusal(() => tokenArgs(["create"]))).toContain("needs --name");
    expect(await streamArgs(["--json"])).toMatchObject({ json: true, afterSeq: null });
    expect(await refusedAsync(streamArgs(["--type", "exploded"]))).toContain('unknown event type "exploded"');
    expect(demoOptions([])).toEqual({
      json: false,
      workers: 3,
      agentCommand: undefined,
      timeoutMs: 300_000,
      keep: false,
      dashboard: false,
    });
    expect(demoOptions(["--agent-command", "node 'my agent.mjs'"]).agentCommand).toEqual([
      "node",
      "my agent.mjs",
    ]);
    expect(refusal(() => demoOptions(["--workers", "17"]))).toContain(
      "--workers must be a whole number from 1 to 16",
    );
    expect(chaosOptions(["--runs", "2", "--flushall"])).toMatchObject({
      runs: 2,
      faults: { flushAll: true },
    });
    expect(refusal(() => chaosOptions(["--seed", "4294967296"]))).toContain("--seed must be");
    // One line, even where node's message has several.
    expect(
      refusal(() => chaosOptions(["--seed", "-1"]))
        .trimEnd()
        .split("\n"),
    ).toHaveLength(1);
  });
});
