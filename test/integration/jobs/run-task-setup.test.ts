import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { listSlots } from "../../../src/git/pool-slots.ts";
import { useDrover } from "../../helpers/drover.ts";
import { queuedTask } from "../../helpers/tasks.ts";
import { git } from "../../helpers/git-sandbox.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  mockIssue,
  mockIssueState,
  mockRunThatPasses,
  originBranches,
  recorder,
  taskOf,
  type Published,
} from "../../helpers/github-flows.ts";

/**
 * The repository's `setup` (drover.yml) runs in the attempt's pooled worktree before the agent: a setup
 * that fails fails the attempt, saying which command, how it ended and what it printed last (no server
 * path); one that passes is not run again for the next task while the lockfiles stay the same, and the
 * agent and the checks use the same package caches.
 */
describe("run-task with a setup", () => {
  const { db, harness, sandbox, repo, github } = useDrover();

  /** GitHub for one attempt: the issue read, then its status; a passing one's pull request and check run. */
  function mockRun(issue: number, passes: boolean, first = true): Published {
    const sent: Published = recorder();
    if (first) mockInstallationToken(github.api().persist(), repo().installationId);
    const title = `Task ${issue}`;
    if (passes) {
      const branch = `drover/${issue}-task-${issue}`;
      // The app's identity is read once per process.
      mockRunThatPasses(github.api(), sent, {
        issue: { number: issue, title },
        branch,
        pr: 100 + issue,
        identity: first,
      });
    } else {
      mockIssue(github.api(), { number: issue, title });
    }
    mockIssueState(github.optional(), sent, { issue, commentId: 9000 + issue, labels: ["drover"] });
    return sent;
  }

  it("fails the attempt whose setup fails, with the command, its exit code and the end of its output", async () => {
    const setup = 'echo "installing in $PWD"; echo "npm ERR! 404 left-pad is gone" >&2; exit 4';
    const sent = mockRun(61, false);
    const yaml = agentConfig("edit-and-pass.mjs", { extra: `setup: ${JSON.stringify(setup)}` });
    const { attemptId } = await queuedTask(db(), repo(), 61, yaml);

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 61);
    expect(task?.state).toBe("failed");
    expect(attempts).toMatchObject([{ conclusion: "failure", headSha: null }]);
    // Its time is the attempt's setup time, apart from the worktree's.
    expect(attempts[0]?.timings).toMatchObject({
      worktreeMs: expect.any(Number),
      setupMs: expect.any(Number),
    });
    expect(await originBranches(sandbox().origin)).toEqual(["main"]);
    const status = sent.comments.at(-1)?.body ?? "";
    expect(status).toContain(
      `**Why:** the repository's setup \`${setup}\` failed with exit code 4, so no agent ran; its output ends: \`npm ERR! 404 left-pad is gone\``,
    );
    // The end of its output, as the log tail, with the worktree's path shown as `.`.
    expect(status).toMatch(
      /<summary>Log tail<\/summary>[\s\S]*installing in \.\n[\s\S]*npm ERR! 404 left-pad is gone/,
    );
    expect(status).not.toContain(sandbox().root);
    // The worktree went back to the pool, marked for setup again.
    const slots = await listSlots(sandbox().home, repo().fullName);
    expect(slots.map((s) => s.meta?.setupOk)).toEqual([false]);
  });

  it("runs setup once for two tasks with the same lockfiles, with caches the checks see too", async () => {
    const counter = path.join(sandbox().root, "setup-runs.txt");
    const setup = `echo run >> ${counter} && echo downloaded > "$npm_config_cache/dep.tgz"`;
    const checks = ['test "$(cat "$npm_config_cache/dep.tgz")" = downloaded'];
    const yaml = agentConfig("edit-and-pass.mjs", {
      extra: [`setup: ${JSON.stringify(setup)}`, `checks: ${JSON.stringify(checks)}`].join("\n"),
    });
    for (const issue of [62, 63]) {
      mockRun(issue, true, issue === 62);
      const { attemptId } = await queuedTask(db(), repo(), issue, yaml);
      await harness().enqueue("run-task", { attemptId });
      await harness().drain();
      const { task, attempts } = await taskOf(db(), repo(), issue);
      expect(task?.state).toBe("review");
      expect(attempts[0]?.checks).toMatchObject([{ outcome: "passed" }]);
      // Setup ran (and took time) for the first task only.
      const timings = attempts[0]?.timings as { setupMs?: number } | null;
      expect(timings?.setupMs === undefined).toBe(issue === 63);
    }
    expect((await readFile(counter, "utf8")).trim().split("\n")).toEqual(["run"]);
    // One slot served both, handed back at the base tip, no task's files left in it.
    const [slot, ...others] = await listSlots(sandbox().home, repo().fullName);
    expect(others).toEqual([]);
    expect(slot?.meta).toMatchObject({
      setupOk: true,
      sha: await git(sandbox().origin, "rev-parse", "main"),
    });
    expect(await git(slot?.path ?? "", "status", "--porcelain", "--ignored")).toBe("");
  });
});
