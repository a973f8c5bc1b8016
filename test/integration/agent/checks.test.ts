import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChecks } from "../../../src/agent/checks.ts";
import { isRunning } from "../../helpers/processes.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "drover-checks-"));
  await writeFile(path.join(dir, "ok.txt"), "fine\n");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

describe("runChecks", () => {
  it("runs each command in the worktree and reports each outcome with its output", async () => {
    const results = await runChecks({
      checks: [
        "cat ok.txt",
        "echo broken >&2; exit 3",
        'test -n "$GITHUB_TOKEN" && echo leaked || echo clean',
      ].map((command) => ({ command, timeoutMs: 10_000 })),
      cwd: dir,
      env,
    });
    expect(results.map((r) => [r.outcome, r.exitCode])).toEqual([
      ["passed", 0],
      ["failed", 3],
      ["passed", 0],
    ]);
    expect(results[0]?.outputTail).toBe("fine\n");
    expect(results[1]?.outputTail).toBe("broken\n");
    // Only the environment given reaches a check.
    expect(results[2]?.outputTail).toBe("clean\n");
  });

  it("stops a check that runs over its own time, with everything it started", async () => {
    const results = await runChecks({
      checks: [
        { command: "sleep 30 & echo child=$!; sleep 30", timeoutMs: 300 },
        { command: "sleep 1; echo after", timeoutMs: 10_000 },
      ],
      cwd: dir,
      env,
      killGraceMs: 200,
    });
    expect(results[0]).toMatchObject({ outcome: "timed-out", exitCode: null });
    expect(results[0]!.durationMs).toBeLessThan(5_000);
    // The second check's own limit let it run past the first one's.
    expect(results[1]).toMatchObject({ outcome: "passed", outputTail: "after\n" });
    const child = Number(/child=(\d+)/.exec(results[0]!.outputTail)?.[1]);
    expect(child).toBeGreaterThan(0);
    await expect.poll(() => isRunning(child), { timeout: 2_000 }).toBe(false);
  });

  it("keeps only the end of a flood of output", async () => {
    const [result] = await runChecks({
      checks: [{ command: "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo THE-END", timeoutMs: 20_000 }],
      cwd: dir,
      env,
      maxOutputBytes: 1024,
    });
    expect(result?.outputTail.length).toBe(1024);
    expect(result?.outputTail.endsWith("THE-END\n")).toBe(true);
  });

  it("marks the remaining checks cancelled once the run is cancelled", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const results = await runChecks({
      checks: ["sleep 20", "echo never"].map((command) => ({ command, timeoutMs: 30_000 })),
      cwd: dir,
      env,
      signal: controller.signal,
      killGraceMs: 100,
    });
    expect(results.map((r) => r.outcome)).toEqual(["cancelled", "cancelled"]);
  });
});
