import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { SpawnedAgent } from "../../../src/agent/orphans.ts";
import type { AttemptStart } from "../../../src/db/attempt-start.ts";
import { getStep, recordStep } from "../../../src/db/attempts.ts";
import { attempts, tasks } from "../../../src/db/schema.ts";
import { transitionTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { git } from "../../helpers/git-sandbox.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  BOT,
  mockDiscussion,
  mockIdentity,
  mockIssue,
  mockIssueState,
  recorder,
  REPO_PATH,
  taskOf,
  type Sent,
} from "../../helpers/github-flows.ts";
import { checkRunReply, TEST_APP } from "../../helpers/github-replies.ts";
import { queuedTask } from "../../helpers/tasks.ts";

/**
 * An `update` or `conflict` attempt merges its pull request's base into the task branch and pushes the
 * merge on top of the branch: a merge commit with both parents, never a force-push. A clean merge runs no
 * agent; conflicts go to the agent, and what it cannot resolve leaves the task in `conflict`, its pull
 * request's head asking for action and nothing pushed.
 */
describe("run-task merging the base into the task branch", () => {
  const { db, harness, sandbox, repo, github } = useDrover();

  const origin = (...args: string[]) => git(sandbox().origin, ...args);

  /** The task branch on "GitHub": main as it is now, plus a commit writing `file`. Returns its head. */
  async function taskBranch(branch: string, file: string, content: string): Promise<string> {
    const clone = path.join(sandbox().root, `clone-${branch.replaceAll("/", "-")}`);
    await git(sandbox().root, "clone", "--quiet", sandbox().origin, clone);
    await git(clone, "checkout", "--quiet", "-B", "work", "origin/main");
    await writeFile(path.join(clone, file), content);
    await git(clone, "add", "--all");
    await git(clone, "commit", "--quiet", "-m", `task work on ${file}`);
    await git(clone, "push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
    return git(clone, "rev-parse", "HEAD");
  }

  /** A task in review with pull request `pr` on `branch`, its next attempt queued to merge main in. */
  async function mergeAttempt(issue: number, pr: number, yaml: string, cause: "update" | "conflict") {
    const start: AttemptStart = { from: "branch", cause, by: "alice", merge: { branch: "main" } };
    const queued = await queuedTask(db(), repo(), issue, yaml, start);
    await db().update(tasks).set({ prNumber: pr }).where(eq(tasks.id, queued.taskId));
    return queued;
  }

  type Check = { headSha: string; conclusion: string; title: string };

  /** GitHub for the run: the token, the issue, the bot, the status comment and labels; check runs made. */
  function mockGitHub(
    issue: number,
    options: { agent?: boolean; resumed?: boolean } = {},
  ): { sent: Sent; checks: Check[] } {
    mockInstallationToken(github.api().persist(), repo().installationId);
    const api = github.api();
    // A worker concluding a dead one's judgement reads nothing of the issue.
    if (!options.resumed) mockIssue(api, { number: issue, title: `Task ${issue}` });
    if (options.agent) mockDiscussion(api, issue);
    const optional = github.optional();
    mockIdentity(optional);
    const sent = recorder();
    mockIssueState(optional, sent, { issue, commentId: 9000 + issue, labels: ["drover:review"] });
    return { sent, checks: [] };
  }

  /** A new check run on a head that has none. */
  function mockNewCheckRun(checks: Check[]): void {
    const api = github.api();
    api
      .get(new RegExp(`^${REPO_PATH}/commits/[0-9a-f]{40}/check-runs`))
      .query(true)
      .reply(200, { total_count: 0, check_runs: [] });
    api.post(`${REPO_PATH}/check-runs`).reply(201, (_uri, body) => {
      const {
        name,
        head_sha: headSha,
        conclusion,
        output,
      } = body as {
        name: string;
        head_sha: string;
        conclusion: string;
        output: { title: string };
      };
      checks.push({ headSha, conclusion, title: output.title });
      return checkRunReply({ id: 41, name, headSha, app: TEST_APP });
    });
  }

  it("merges a base that merges cleanly without an agent, checks it, and pushes a merge commit on top", async () => {
    const branch = "drover/61-task-61";
    const before = await taskBranch(branch, "TASK-61.md", "the task's work\n");
    const baseTip = await sandbox().commitToOrigin("BASE-61.md", "the base moved on\n");
    const { checks } = mockGitHub(61);
    mockNewCheckRun(checks);
    // An agent that fails if it runs: a clean merge must not start one. The check sees both sides.
    const yaml = agentConfig("exit-code.mjs", {
      args: ["3"],
      extra: 'checks: ["test -f TASK-61.md && test -f BASE-61.md"]',
    });
    const { attemptId } = await mergeAttempt(61, 161, yaml, "update");

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const head = await origin("rev-parse", branch);
    expect(await origin("rev-list", "--parents", "-n", "1", head)).toBe(`${head} ${before} ${baseTip}`);
    expect(await origin("log", "-1", "--format=%s|%an|%cn", head)).toBe(
      `Merge main into ${branch}|${BOT.login}|${BOT.login}`,
    );
    expect(await getStep(db(), attemptId, "agent-process-e1", SpawnedAgent)).toBeUndefined();
    const { task, attempts } = await taskOf(db(), repo(), 61);
    expect(task).toMatchObject({ state: "review", prNumber: 161 });
    expect(task?.stateReason).toContain(`its head is now ${head.slice(0, 12)}`);
    expect(attempts).toMatchObject([{ conclusion: "success", headSha: head }]);
    expect(attempts[0]?.checks).toMatchObject([{ outcome: "passed" }]);
    expect(checks).toEqual([
      { headSha: head, conclusion: "success", title: expect.stringContaining("merged `main`") },
    ]);
  });

  it("runs no agent either for a conflict attempt whose merge is clean by now", async () => {
    const branch = "drover/65-task-65";
    const before = await taskBranch(branch, "TASK-65.md", "the task's work\n");
    const baseTip = await sandbox().commitToOrigin("BASE-65.md", "the base moved on again\n");
    const { checks } = mockGitHub(65);
    mockNewCheckRun(checks);
    const { attemptId } = await mergeAttempt(
      65,
      165,
      agentConfig("exit-code.mjs", { args: ["3"] }),
      "conflict",
    );

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const head = await origin("rev-parse", branch);
    expect(await origin("rev-list", "--parents", "-n", "1", head)).toBe(`${head} ${before} ${baseTip}`);
    expect(await getStep(db(), attemptId, "agent-process-e1", SpawnedAgent)).toBeUndefined();
    expect((await taskOf(db(), repo(), 65)).task?.state).toBe("review");
    expect(checks).toMatchObject([{ headSha: head, conclusion: "success" }]);
  });

  it("pushes nothing and makes no check run when the branch already has the base", async () => {
    const branch = "drover/62-task-62";
    const before = await taskBranch(branch, "TASK-62.md", "the task's work\n");
    const { sent } = mockGitHub(62);
    const { attemptId } = await mergeAttempt(62, 162, agentConfig("exit-code.mjs"), "update");

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    expect(await origin("rev-parse", branch)).toBe(before);
    const { task, attempts } = await taskOf(db(), repo(), 62);
    expect(task?.state).toBe("review");
    expect(attempts).toMatchObject([{ conclusion: "success", headSha: null }]);
    expect(attempts[0]?.reason).toContain("already contains `main`");
    // The status comment was shown; no check run was asked for (the mock would refuse it).
    expect(sent.comments.at(-1)?.body).toContain("already contains `main`");
  });

  it("has the agent resolve conflicts, and pushes the merge as new commits on the same branch", async () => {
    const branch = "drover/63-task-63";
    await sandbox().commitToOrigin("SHARED-63.md", "first line\n");
    const before = await taskBranch(branch, "SHARED-63.md", "first line\nthe task's line\n");
    const baseTip = await sandbox().commitToOrigin("SHARED-63.md", "first line\nthe base's line\n");
    const { checks } = mockGitHub(63, { agent: true });
    mockNewCheckRun(checks);
    const yaml = agentConfig("resolve-from-prompt.mjs", {
      extra: "checks: [\"! grep -q '^=======$' SHARED-63.md\"]",
    });
    const { attemptId } = await mergeAttempt(63, 163, yaml, "conflict");

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 63);
    expect(task?.state).toBe("review");
    const head = await origin("rev-parse", branch);
    // Both sides kept; the reviewed head is an ancestor of the new one (no force-push).
    expect(await origin("show", `${head}:SHARED-63.md`)).toBe("first line\nthe task's line\nthe base's line");
    expect(await origin("rev-list", "--parents", "-n", "1", head)).toBe(`${head} ${before} ${baseTip}`);
    await expect(origin("merge-base", "--is-ancestor", before, head)).resolves.toBe("");
    expect(attempts).toMatchObject([{ conclusion: "success", headSha: head }]);
    expect(attempts[0]?.summary).toBe("Kept both sides in SHARED-63.md");
    expect(attempts[0]?.reason).toContain("resolved the conflicts with `main` in `SHARED-63.md`");
    expect(checks).toEqual([{ headSha: head, conclusion: "success", title: expect.any(String) }]);
  });

  it("leaves the task in conflict when the agent leaves markers: nothing pushed, the check run asks for action", async () => {
    const branch = "drover/64-task-64";
    await sandbox().commitToOrigin("SHARED-64.md", "first line\n");
    const before = await taskBranch(branch, "SHARED-64.md", "first line\nthe task's line\n");
    await sandbox().commitToOrigin("SHARED-64.md", "first line\nthe base's line\n");
    const { sent } = mockGitHub(64, { agent: true });
    // The head's check run from when the pull request passed: edited to ask for action.
    const api = github.api();
    api
      .get(`${REPO_PATH}/commits/${before}/check-runs`)
      .query(true)
      .reply(200, {
        total_count: 1,
        check_runs: [checkRunReply({ id: 77, name: "Drover", headSha: before, app: TEST_APP })],
      });
    const patched: Record<string, unknown>[] = [];
    api.patch(`${REPO_PATH}/check-runs/77`).reply(200, (_uri, body) => {
      patched.push(body as Record<string, unknown>);
      return checkRunReply({ id: 77, name: "Drover", headSha: before, app: TEST_APP });
    });
    const yaml = agentConfig("resolve-from-prompt.mjs", { args: ["leave"] });
    const { attemptId } = await mergeAttempt(64, 164, yaml, "conflict");

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    expect(await origin("rev-parse", branch)).toBe(before);
    const { task, attempts } = await taskOf(db(), repo(), 64);
    expect(task).toMatchObject({ state: "conflict", nextAttemptAt: null });
    expect(task?.stateReason).toContain("still conflicts in `SHARED-64.md`");
    expect(attempts).toMatchObject([{ conclusion: "action_required", headSha: null }]);
    expect(patched).toMatchObject([
      { conclusion: "action_required", output: { title: "Conflicts with main" } },
    ]);
    expect(sent.added.flat()).toContain("drover:conflict");
    expect(sent.comments.at(-1)?.body).toContain("still conflicts in `SHARED-64.md`");
  });

  it("after a worker died between pushing its merge and concluding, the next one concludes without merging again", async () => {
    const branch = "drover/66-task-66";
    const before = await taskBranch(branch, "TASK-66.md", "the task's work\n");
    await sandbox().commitToOrigin("BASE-66.md", "the base moved on\n");
    // The dead worker's merge, pushed: made here in a clone as it made it.
    const clone = path.join(sandbox().root, "clone-dead-worker-66");
    await git(sandbox().root, "clone", "--quiet", "--branch", branch, sandbox().origin, clone);
    await git(clone, "merge", "--quiet", "--no-ff", "-m", `Merge main into ${branch}`, "origin/main");
    const pushed = await git(clone, "rev-parse", "HEAD");
    await git(clone, "push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
    const { checks } = mockGitHub(66, { resumed: true });
    mockNewCheckRun(checks);
    const yaml = agentConfig("exit-code.mjs", { args: ["3"] });
    const { taskId, attemptId } = await mergeAttempt(66, 166, yaml, "update");
    // It had recorded its judgement (then pushed, and died before recording the push or concluding).
    const reason = `merged \`main\` without conflicts; its head is now ${pushed.slice(0, 12)}`;
    await recordStep(db(), attemptId, "judged", {
      outcome: {
        judgement: { conclusion: "success", state: "review", reason, summary: "Merged." },
        fields: { headSha: pushed },
      },
      push: { sha: pushed },
    });
    await db()
      .update(attempts)
      .set({ state: "running", leaseEpoch: 1, leaseOwner: "dead-worker", leaseExpiresAt: new Date(0) })
      .where(eq(attempts.id, attemptId));
    await db().update(tasks).set({ state: "running" }).where(eq(tasks.id, taskId));

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    expect(await origin("rev-parse", branch)).toBe(pushed);
    expect(await origin("rev-parse", `${branch}^1`)).toBe(before);
    const { task, attempts: tried } = await taskOf(db(), repo(), 66);
    expect(task?.state).toBe("review");
    expect(tried).toMatchObject([{ state: "finished", conclusion: "success", headSha: pushed, reason }]);
    expect(checks).toMatchObject([{ headSha: pushed, conclusion: "success" }]);
  });

  it("pushes nothing of a merge whose agent a person stopped", async () => {
    const branch = "drover/67-task-67";
    await sandbox().commitToOrigin("SHARED-67.md", "first line\n");
    const before = await taskBranch(branch, "SHARED-67.md", "first line\nthe task's line\n");
    await sandbox().commitToOrigin("SHARED-67.md", "first line\nthe base's line\n");
    mockGitHub(67, { agent: true });
    const ready = path.join(sandbox().root, "ready-67");
    const yaml = agentConfig("edit-then-hang.mjs", { args: [ready] });
    const { taskId, attemptId } = await mergeAttempt(67, 167, yaml, "conflict");

    await harness().enqueue("run-task", { attemptId });
    await expect.poll(() => existsSync(ready), { timeout: 15_000 }).toBe(true);
    await transitionTask(db(), taskId, ["running"], "paused", { modifiedBy: "alice", stateReason: "paused" });
    await harness().drain();

    expect(await origin("rev-parse", branch)).toBe(before);
    const { task, attempts: tried } = await taskOf(db(), repo(), 67);
    expect(task?.state).toBe("paused");
    expect(tried[0]?.reason).toBe("stopped by @alice (paused); its merge of `main` was not pushed");
  });
});
