import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
      commands: [
        "cat ok.txt",
        "echo broken >&2; exit 3",
        'test -n "$GITHUB_TOKEN" && echo leaked || echo clean',
      ],
      cwd: dir,
      env,
      timeoutMs: 10_000,
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

  it("stops a check that runs over its time, with everything it started", async () => {
    const marker = path.join(dir, "grandchild-alive");
    const pidFile = path.join(dir, "grandchild-pid");
    // The grandchild says its pid, and would leave the marker 3 s later if it outlived the check.
    const grandchild = `sh -c 'echo $$ > ${pidFile}; sleep 3; touch ${marker}' &`;
    const results = await runChecks({
      commands: [`${grandchild} while [ ! -s ${pidFile} ]; do sleep 0.01; done; sleep 30`, "echo after"],
      cwd: dir,
      env,
      timeoutMs: 300,
      killGraceMs: 200,
    });
    expect(results[0]).toMatchObject({ outcome: "timed-out", exitCode: null });
    expect(results[0]!.durationMs).toBeLessThan(5_000);
    expect(results[1]).toMatchObject({ outcome: "passed", outputTail: "after\n" });
    // Gone, so the marker can never appear: no need to wait the 3 s out.
    const pid = Number(await readFile(pidFile, "utf8"));
    await expect.poll(() => isRunning(pid), { timeout: 2_000 }).toBe(false);
    await expect(access(marker)).rejects.toThrow("ENOENT");
  });

  it("keeps only the end of a flood of output", async () => {
    const [result] = await runChecks({
      commands: ["head -c 5000000 /dev/zero | tr '\\0' x; echo; echo THE-END"],
      cwd: dir,
      env,
      timeoutMs: 20_000,
      maxOutputBytes: 1024,
    });
    expect(result?.outputTail.length).toBe(1024);
    expect(result?.outputTail.endsWith("THE-END\n")).toBe(true);
  });

  it("marks the remaining checks cancelled once the run is cancelled", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const results = await runChecks({
      commands: ["sleep 20", "echo never"],
      cwd: dir,
      env,
      timeoutMs: 30_000,
      signal: controller.signal,
      killGraceMs: 100,
    });
    expect(results.map((r) => r.outcome)).toEqual(["cancelled", "cancelled"]);
  });
});
