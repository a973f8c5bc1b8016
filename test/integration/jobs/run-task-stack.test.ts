import { writeFile } from "node:fs/promises";
import path from "node:path";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { AttemptStart } from "../../../src/db/attempt-start.ts";
import { tasks } from "../../../src/db/schema.ts";
import { useDrover } from "../../helpers/drover.ts";
import { git } from "../../helpers/git-sandbox.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  mockIdentity,
  mockIssue,
  mockIssueState,
  mockRunThatPasses,
  recorder,
  REPO_PATH,
  taskOf,
  type Published,
} from "../../helpers/github-flows.ts";
import { checkRunReply, TEST_APP } from "../../helpers/github-replies.ts";
import { queuedTask } from "../../helpers/tasks.ts";

/**
 * Stacked work on the worker's side (drover.yml `stack: true`): an attempt whose start is `onto` a
 * blocker starts from the blocker's branch as GitHub has it, though the mirror never fetches `drover/`
 * branches; and the stacked pull request, whose base is that branch, is brought up to date with a merge
 * of it when the blocker changes.
 */
describe("run-task stacked on a blocker's branch", () => {
  const { db, harness, sandbox, repo, github } = useDrover();
  const origin = (...args: string[]) => git(sandbox().origin, ...args);

  /** A commit adding `file` on the origin's `branch`, made from `from` (main's tip by default). */
  async function pushTo(branch: string, file: string, from = "origin/main"): Promise<string> {
    const clone = path.join(sandbox().root, `clone-${branch.replaceAll("/", "-")}-${file}`);
    await git(sandbox().root, "clone", "--quiet", sandbox().origin, clone);
    await git(clone, "checkout", "--quiet", "-B", "work", from);
    await writeFile(path.join(clone, file), `${file} by a person\n`);
    await git(clone, "add", "--all");
    await git(clone, "commit", "--quiet", "-m", `adds ${file}`);
    await git(clone, "push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
    return git(clone, "rev-parse", "HEAD");
  }

  const stacked = (branch: string, issueNumber: number, taskId = 1): AttemptStart => ({
    from: "base",
    cause: "label",
    by: "alice",
    onto: { branch, taskId, issueNumber },
  });

  function mockPassingRun(issue: number, pr: number): Published {
    const sent: Published = recorder();
    mockInstallationToken(github.api().persist(), repo().installationId);
    const branch = `drover/${issue}-task-${issue}`;
    mockRunThatPasses(github.api(), sent, { issue: { number: issue, title: `Task ${issue}` }, branch, pr });
    mockIssueState(github.optional(), sent, { issue, commentId: 9000 + issue, labels: ["drover"] });
    return sent;
  }

  it("starts from the blocker's branch: the worktree holds the blocker's commit, pushed under the task's", async () => {
    const blockerTip = await pushTo("drover/70-task-70", "PERSON.md");
    const mainTip = await origin("rev-parse", "main");
    // The blocker, a task of its own (its attempt queued: not done, so the stack holds).
    const blocker = await queuedTask(db(), repo(), 70, agentConfig("build-on-branch.mjs"));
    const sent = mockPassingRun(71, 171);
    const start = stacked("drover/70-task-70", 70, blocker.taskId);
    const { attemptId } = await queuedTask(db(), repo(), 71, agentConfig("build-on-branch.mjs"), start);

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const head = await origin("rev-parse", "drover/71-task-71");
    // The agent saw the blocker's work; the task's commit is on top of the blocker's branch.
    expect(await origin("show", `${head}:AGENT.md`)).toBe("saw PERSON.md: PERSON.md by a person");
    expect(await origin("rev-parse", `${head}^`)).toBe(blockerTip);
    expect(await origin("rev-parse", "drover/70-task-70")).toBe(blockerTip);
    const { task, attempts } = await taskOf(db(), repo(), 71);
    expect(task?.state).toBe("review");
    // The diff stat is the task's own work, not the blocker's.
    expect(attempts[0]?.diffStat).toContain("AGENT.md");
    expect(attempts[0]?.diffStat).not.toContain("PERSON.md");
    expect(attempts[0]?.baseSha).toBe(mainTip);
    // Its pull request goes into the blocker's branch, and says it is stacked.
    expect(sent.pr).toMatchObject({ head: "drover/71-task-71", base: "drover/70-task-70" });
    expect(String(sent.pr?.body)).toContain("Stacked on #70 (branch `drover/70-task-70`)");
  });

  it("starts from the base branch when the blocker's branch is gone from GitHub (its pull request merged)", async () => {
    mockPassingRun(72, 172);
    const start = stacked("drover/79-gone", 79);
    const { attemptId } = await queuedTask(db(), repo(), 72, agentConfig("build-on-branch.mjs"), start);

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const head = await origin("rev-parse", "drover/72-task-72");
    expect(await origin("show", `${head}:AGENT.md`)).toBe("no PERSON.md");
    expect(await origin("rev-parse", `${head}^`)).toBe(await origin("rev-parse", "main"));
    expect((await taskOf(db(), repo(), 72)).task?.state).toBe("review");
  });

  it("merges the blocker's new commits into a stacked branch (an update from a drover/ base)", async () => {
    const blocker = "drover/73-task-73";
    const branch = "drover/74-task-74";
    await pushTo(blocker, "BLOCKER.md");
    const before = await pushTo(branch, "STACKED.md", `origin/${blocker}`);
    // The blocker is reworked: a new commit on its branch.
    const reworked = await pushTo(blocker, "REWORK.md", `origin/${blocker}`);

    mockInstallationToken(github.api().persist(), repo().installationId);
    mockIssue(github.api(), { number: 74, title: "Task 74" });
    const optional = github.optional();
    mockIdentity(optional);
    mockIssueState(optional, recorder(), { issue: 74, commentId: 9074, labels: ["drover:review"] });
    const checks: { headSha: string; conclusion: string }[] = [];
    github
      .api()
      .get(new RegExp(`^${REPO_PATH}/commits/[0-9a-f]{40}/check-runs`))
      .query(true)
      .reply(200, { total_count: 0, check_runs: [] });
    github
      .api()
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, (_uri, body) => {
        const { name, head_sha: headSha, conclusion } = body as Record<string, string>;
        checks.push({ headSha: headSha!, conclusion: conclusion! });
        return checkRunReply({ id: 42, name: name!, headSha: headSha!, app: TEST_APP });
      });
    const yaml = agentConfig("exit-code.mjs", {
      args: ["3"],
      extra: 'checks: ["test -f BLOCKER.md && test -f REWORK.md && test -f STACKED.md"]',
    });
    const start: AttemptStart = { from: "branch", cause: "update", by: "alice", merge: { branch: blocker } };
    const { attemptId, taskId } = await queuedTask(db(), repo(), 74, yaml, start);
    await db().update(tasks).set({ prNumber: 174 }).where(eq(tasks.id, taskId));

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const head = await origin("rev-parse", branch);
    expect(await origin("rev-list", "--parents", "-n", "1", head)).toBe(`${head} ${before} ${reworked}`);
    expect(await origin("log", "-1", "--format=%s", head)).toBe(`Merge ${blocker} into ${branch}`);
    const { task, attempts } = await taskOf(db(), repo(), 74);
    expect(task?.state).toBe("review");
    expect(attempts).toMatchObject([{ conclusion: "success", headSha: head }]);
    expect(checks).toEqual([{ headSha: head, conclusion: "success" }]);
  });
});
