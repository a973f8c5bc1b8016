import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SpawnedAgent } from "../../../src/agent/orphans.ts";
import type { AttemptStart } from "../../../src/db/attempt-start.ts";
import { getStep } from "../../../src/db/attempts.ts";
import { transitionTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { queuedTask } from "../../helpers/tasks.ts";
import { git } from "../../helpers/git-sandbox.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  mockDiscussion,
  mockIdentity,
  mockIssue,
  mockIssueState,
  mockRunThatPasses,
  recorder,
  taskOf,
  type Published,
} from "../../helpers/github-flows.ts";

/**
 * An attempt whose start says `branch` (a rework, a resume, a retry of a task in review, a restart)
 * builds on the task branch as it is on GitHub, people's commits included, and pushes its work on top:
 * never a force-push. When someone pushes meanwhile, its push is refused and the attempt says so; when
 * the branch is not on GitHub, it starts from the base branch.
 */
describe("run-task starting from the task branch", () => {
  const { db, harness, sandbox, repo, github } = useDrover();
  // A resume: builds on the branch without a review to answer (publish answers reworks; see publish-rework).
  const FROM_BRANCH: AttemptStart = { from: "branch", cause: "resume", by: "alice" };

  /** A person's commit adding `file` on the origin's `branch` (made from `onto`, main's tip by default). */
  async function personPushes(branch: string, file: string, onto = "main"): Promise<string> {
    const clone = path.join(sandbox().root, `clone-${branch.replaceAll("/", "-")}-${file}`);
    await git(sandbox().root, "clone", "--quiet", sandbox().origin, clone);
    await git(clone, "checkout", "--quiet", "-B", "work", onto === "main" ? "origin/main" : onto);
    await writeFile(path.join(clone, file), `${file} by a person\n`);
    await git(clone, "add", "--all");
    await git(clone, "commit", "--quiet", "-m", `person adds ${file}`);
    await git(clone, "push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
    return git(clone, "rev-parse", "HEAD");
  }

  const origin = (...args: string[]) => git(sandbox().origin, ...args);

  function mockPassingRun(issue: number, pr: number): Published {
    const sent: Published = recorder();
    mockInstallationToken(github.api().persist(), repo().installationId);
    const branch = `drover/${issue}-task-${issue}`;
    mockRunThatPasses(github.api(), sent, { issue: { number: issue, title: `Task ${issue}` }, branch, pr });
    mockIssueState(github.optional(), sent, { issue, commentId: 9000 + issue, labels: ["drover"] });
    return sent;
  }

  it("builds on a person's commit and pushes on top of it, without a force-push", async () => {
    const branch = "drover/51-task-51";
    const theirs = await personPushes(branch, "PERSON.md");
    const sent = mockPassingRun(51, 151);
    const { attemptId } = await queuedTask(db(), repo(), 51, agentConfig("build-on-branch.mjs"), FROM_BRANCH);

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 51);
    expect(task?.state).toBe("review");
    const head = await origin("rev-parse", branch);
    // The agent saw the person's commit; Drover's commit is on top of it.
    expect(await origin("show", `${head}:AGENT.md`)).toBe("saw PERSON.md: PERSON.md by a person");
    expect(await origin("rev-parse", `${head}^`)).toBe(theirs);
    // Recorded: the base branch's tip as the base (base...head is the whole pull request); the diff stat
    // is this attempt's own work, measured from where it started.
    expect(attempts).toMatchObject([
      { conclusion: "success", headSha: head, baseSha: await origin("rev-parse", "main") },
    ]);
    expect(attempts[0]?.diffStat).toContain("AGENT.md");
    expect(attempts[0]?.diffStat).not.toContain("PERSON.md");
    expect(sent.pr).toMatchObject({ head: branch });
  });

  it("refuses to push over commits pushed while it ran, and fails saying why", async () => {
    const branch = "drover/52-task-52";
    const started = await personPushes(branch, "PERSON.md");
    const go = path.join(sandbox().root, "go-52");
    mockInstallationToken(github.api().persist(), repo().installationId);
    const sent = recorder();
    const optional = github.optional();
    mockIssue(optional, { number: 52, title: "Task 52" });
    mockDiscussion(optional, 52);
    mockIdentity(optional);
    mockIssueState(optional, sent, { issue: 52, commentId: 9052, labels: ["drover"] });
    const yaml = agentConfig("build-on-branch.mjs", { args: [go] });
    const { attemptId } = await queuedTask(db(), repo(), 52, yaml, FROM_BRANCH);

    await harness().enqueue("run-task", { attemptId });
    await expect
      .poll(() => getStep(db(), attemptId, "agent-process-e1", SpawnedAgent), { timeout: 15_000 })
      .toBeDefined();
    // A reviewer pushes a fix of their own to the pull request while the agent works.
    const theirs = await personPushes(branch, "REVIEWER.md", "origin/" + branch);
    await writeFile(go, "");
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 52);
    expect(task?.state).toBe("failed");
    expect(attempts).toMatchObject([{ state: "finished", conclusion: "failure", headSha: null }]);
    expect(attempts[0]?.reason).toContain(
      `the branch \`${branch}\` moved on GitHub while Drover worked on it (it started from ` +
        `${started.slice(0, 12)}; it is at ${theirs.slice(0, 12)} now)`,
    );
    expect(attempts[0]?.reason).toContain("comment `/drover retry`");
    // Theirs stays; nothing of the agent's reached the branch.
    expect(await origin("rev-parse", branch)).toBe(theirs);
    expect(sent.comments.at(-1)?.body).toContain("moved on GitHub");
  });

  it("starts from the base branch when the task branch is not on GitHub", async () => {
    const sent = mockPassingRun(53, 153);
    const { attemptId } = await queuedTask(db(), repo(), 53, agentConfig("build-on-branch.mjs"), FROM_BRANCH);

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const head = await origin("rev-parse", "drover/53-task-53");
    expect(await origin("show", `${head}:AGENT.md`)).toBe("no PERSON.md");
    expect(await origin("rev-parse", `${head}^`)).toBe(await origin("rev-parse", "main"));
    expect((await taskOf(db(), repo(), 53)).task?.state).toBe("review");
    expect(sent.pr).toMatchObject({ head: "drover/53-task-53" });
  });

  it("pushes a stopped attempt's partial work on top of the branch it started from", async () => {
    const branch = "drover/55-task-55";
    const theirs = await personPushes(branch, "PERSON.md");
    mockInstallationToken(github.api().persist(), repo().installationId);
    const optional = github.optional();
    mockIssue(optional, { number: 55, title: "Task 55" });
    mockDiscussion(optional, 55);
    mockIdentity(optional);
    mockIssueState(optional, recorder(), { issue: 55, commentId: 9055, labels: ["drover"] });
    const ready = path.join(sandbox().root, "ready-55");
    const yaml = agentConfig("edit-then-hang.mjs", { args: [ready] });
    const { taskId, attemptId } = await queuedTask(db(), repo(), 55, yaml, FROM_BRANCH);

    await harness().enqueue("run-task", { attemptId });
    await expect.poll(() => existsSync(ready), { timeout: 15_000 }).toBe(true);
    await transitionTask(db(), taskId, ["running"], "paused", { modifiedBy: "alice", stateReason: "paused" });
    await harness().drain();

    const head = await origin("rev-parse", branch);
    expect(await origin("rev-parse", `${head}^`)).toBe(theirs);
    expect(await origin("show", `${head}:PARTIAL.md`)).toBe("half done");
    const { attempts } = await taskOf(db(), repo(), 55);
    expect(attempts[0]?.reason).toBe(
      `stopped by @alice (paused); its work so far is on \`${branch}\` at ${head.slice(0, 12)}`,
    );
  });

  it("retries a failed attempt from the branch too, never from the base branch", async () => {
    await personPushes("drover/56-task-56", "PERSON.md");
    mockInstallationToken(github.api().persist(), repo().installationId);
    const optional = github.optional();
    mockIssue(optional, { number: 56, title: "Task 56" });
    mockDiscussion(optional, 56);
    mockIdentity(optional);
    mockIssueState(optional, recorder(), { issue: 56, commentId: 9056, labels: ["drover"] });
    const yaml = agentConfig("exit-code.mjs", { args: ["3"], attempts: 2, extra: "retry_delay: 1h" });
    const { attemptId } = await queuedTask(db(), repo(), 56, yaml, FROM_BRANCH);

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const { task } = await taskOf(db(), repo(), 56);
    expect(task).toMatchObject({ state: "retrying", nextStart: FROM_BRANCH });
  });

  it("from the base branch (no start recorded), replaces what the branch held, as before", async () => {
    const branch = "drover/54-task-54";
    const old = await personPushes(branch, "PERSON.md");
    mockPassingRun(54, 154);
    const { attemptId } = await queuedTask(db(), repo(), 54, agentConfig("build-on-branch.mjs"));

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const head = await origin("rev-parse", branch);
    expect(await origin("show", `${head}:AGENT.md`)).toBe("no PERSON.md");
    expect(await origin("rev-parse", `${head}^`)).toBe(await origin("rev-parse", "main"));
    expect(head).not.toBe(old);
  });
});
