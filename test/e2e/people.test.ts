import path from "node:path";
import { describe, expect, it } from "vitest";
import { and, eq, like } from "drizzle-orm";
import { attempts, repositories, steps, tasks } from "../../src/db/schema.ts";
import { taskSummaries } from "../../src/db/tasks.ts";
import { STATUS_MARKER } from "../../src/github/comments.ts";
import { readBlob, resolveRef } from "../../src/sandbox/git/refs.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { git } from "../helpers/git-sandbox.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * People steering Drover where they already are, through the sandbox with Drover's web and worker as
 * their own processes: a review that asks for changes gets new commits on the same pull request, `/drover`
 * commands are acknowledged and applied (or refused, saying why), and a cancel stops a running agent.
 */

const AGENTS = new URL("../fixtures/agents/", import.meta.url).pathname;
const guided = (...args: string[]) =>
  `agent: command\nagent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, "guided.mjs"), ...args])}\n`;

// The fake Claude Code acts out `wait-for-hint` (it answers its prompt once a second message came).
const drover = useStack({
  workers: 2,
  env: { FAKE_AGENT_SCENARIO: "wait-for-hint", DROVER_AGENT_ENV: "FAKE_AGENT_SCENARIO" },
});
const fakeClaude = `agent: claude\nagent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, "fake-claude.mjs")])}\n`;

const world = (name: string) => drover.stack().sandbox.world.repo("acme", name)!;
const issueOf = (name: string, number: number) => world(name).issues.get(number)!;
const status = (name: string, number: number) =>
  issueOf(name, number).comments.find((c) => c.user.login === BOT && c.body.includes(STATUS_MARKER))?.body ??
  "";
const pullsFor = (name: string, number: number): IssueRecord[] =>
  [...world(name).issues.values()].filter((i) => i.pull && i.body?.includes(`Closes #${number}`));
const taskState = async (name: string, number: number) =>
  (await taskSummaries(drover.database().db, `acme/${name}`)).find((t) => t.number === number)?.state;
const bare = (name: string) => drover.stack().sandbox.bareRepository("acme", name);
const blob = async (name: string, ref: string, file: string) =>
  (await readBlob(bare(name), ref, file))?.toString();
const reactionsOn = (name: string, number: number, commentId: number) =>
  issueOf(name, number)
    .comments.find((c) => c.id === commentId)
    ?.reactions.map((r) => `${r.user.login}:${r.content}`) ?? [];
const botReplies = (name: string, number: number) =>
  issueOf(name, number)
    .comments.filter((c) => c.user.login === BOT && !c.body.includes(STATUS_MARKER))
    .map((c) => c.body);

describe("people in the loop", () => {
  it("reworks a pull request on a review that requests changes, then merges it and starts its dependent", async () => {
    const maintainer = drover.as("maintainer");
    const developer = drover.as("developer");
    const name = "reviewed";
    const repo = await repoWithConfig(maintainer, name, guided());
    const { data: first } = await maintainer.rest.issues.create({ ...repo, title: "Write the greeting" });
    const { data: second } = await maintainer.rest.issues.create({ ...repo, title: "Use the greeting" });
    await maintainer.rest.issues.addBlockedByDependency({
      ...repo,
      issue_number: second.number,
      issue_id: first.id,
    });
    for (const issue of [first, second])
      await maintainer.rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });

    const [pull] = await eventually("the first pull request", () => {
      const found = pullsFor(name, first.number);
      return found.length > 0 && found;
    });
    const firstHead = pull!.pull!.headSha;
    expect(await blob(name, firstHead, "ROUND-1.md")).toBe("round 1\n");
    await eventually("the check run on the first head", () =>
      world(name).checkRuns.find((run) => run.headSha === firstHead),
    );

    // The developer asks for changes, with an inline comment on the file the agent wrote.
    await developer.rest.pulls.createReview({
      ...repo,
      pull_number: pull!.number,
      event: "REQUEST_CHANGES",
      body: "Please say hello to the reader too.",
      comments: [{ path: "ROUND-1.md", line: 1, body: "Greet the reader here." }],
    });

    const secondHead = await eventually(
      "new commits on the same pull request",
      () => pull!.pull!.headSha !== firstHead && pull!.pull!.headSha,
      60_000,
    );
    expect(pullsFor(name, first.number)).toHaveLength(1);
    // Never a force-push: the commit the reviewer saw is an ancestor of the new head.
    await git(bare(name), "merge-base", "--is-ancestor", firstHead, secondHead);
    expect(await blob(name, secondHead, "ROUND-2.md")).toBe("round 2\n");
    const guidance = (await blob(name, secondHead, "GUIDANCE.md")) ?? "";
    expect(guidance).toContain("Please say hello to the reader too.");
    expect(guidance).toContain("Greet the reader here.");
    expect(guidance).toContain("ROUND-1.md");
    const message = await git(bare(name), "log", "-1", "--format=%B", secondHead);
    expect(message).toMatch(/Co-authored-by: developer </);
    expect(message).toMatch(/Co-authored-by: maintainer </);
    await eventually("the check run on the new head", () =>
      world(name).checkRuns.find((run) => run.headSha === secondHead && run.conclusion === "success"),
    );
    await eventually("the review answered on the pull request", () =>
      issueOf(name, pull!.number).comments.find(
        (c) => c.user.login === BOT && c.body.includes(secondHead.slice(0, 7)),
      ),
    );

    // Approved and merged: the task is done and its dependent runs.
    await developer.rest.pulls.createReview({ ...repo, pull_number: pull!.number, event: "APPROVE" });
    await maintainer.rest.pulls.merge({ ...repo, pull_number: pull!.number, sha: secondHead });
    await eventually("the first task done", async () => (await taskState(name, first.number)) === "done");
    await eventually("the dependent's pull request", () => pullsFor(name, second.number)[0], 60_000);
    expect(await resolveRef(bare(name), "refs/heads/main")).toBeTruthy();
  }, 150_000);

  it("acknowledges commands, applies a writer's, and refuses a reader's saying who can", async () => {
    const maintainer = drover.as("maintainer");
    const reader = drover.as("reader");
    const name = "commanded";
    const repo = await repoWithConfig(maintainer, name, guided());
    const { data: issue } = await maintainer.rest.issues.create({ ...repo, title: "Say hello" });

    const { data: refused } = await reader.rest.issues.createComment({
      ...repo,
      issue_number: issue.number,
      body: "/drover run",
    });
    await eventually("the refusal", () =>
      botReplies(name, issue.number).find((body) => body.includes("@reader")),
    );
    expect(botReplies(name, issue.number).join("\n")).toMatch(/write, maintain or admin/);
    expect(await taskState(name, issue.number)).toBeUndefined();
    expect(reactionsOn(name, issue.number, refused.id)).toContain(`${BOT}:eyes`);

    const { data: hint } = await maintainer.rest.issues.createComment({
      ...repo,
      issue_number: issue.number,
      body: "Before it starts:\n\n/drover hint Greet in French.",
    });
    await eventually("the hint refused: not a task yet", () => botReplies(name, issue.number).length >= 2);

    const { data: run } = await maintainer.rest.issues.createComment({
      ...repo,
      issue_number: issue.number,
      body: "/drover run\n/drover hint Greet in French.",
    });
    await eventually("the run applied", () =>
      reactionsOn(name, issue.number, run.id).includes(`${BOT}:rocket`),
    );
    expect(issueOf(name, issue.number).labels.map((l) => l.name)).toContain("drover");
    const [pull] = await eventually("the pull request", () => {
      const found = pullsFor(name, issue.number);
      return found.length > 0 && found;
    });
    expect(await blob(name, pull!.pull!.headSha, "GUIDANCE.md")).toContain("Greet in French.");
    // The command comments are not in the agent's issue discussion; the hint is, as a hint, with its author.
    expect(await blob(name, pull!.pull!.headSha, "GUIDANCE.md")).toMatch(/@maintainer/);
    expect(reactionsOn(name, issue.number, hint.id)).toContain(`${BOT}:eyes`);
  }, 120_000);

  it("stops a running agent when a writer cancels, keeping its work on the branch", async () => {
    const maintainer = drover.as("maintainer");
    const name = "cancelled";
    const repo = await repoWithConfig(maintainer, name, guided("600000"));
    const { data: issue } = await maintainer.rest.issues.create({ ...repo, title: "Take forever" });
    await maintainer.rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });
    await eventually("the agent running", async () => (await taskState(name, issue.number)) === "running");
    // Give the agent a moment to write its file.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const asked = Date.now();
    await maintainer.rest.issues.createComment({
      ...repo,
      issue_number: issue.number,
      body: "/drover cancel wrong approach",
    });
    await eventually(
      "the cancelled label",
      () => issueOf(name, issue.number).labels.some((l) => l.name === "drover:cancelled"),
      30_000,
    );
    const branch = await eventually("the partial work on the branch", async () => {
      const refs = await git(bare(name), "for-each-ref", "--format=%(refname)", "refs/heads/drover/");
      return refs.trim() || false;
    });
    expect(await blob(name, branch, "ROUND-1.md")).toBe("round 1\n");
    const shortBranch = branch.replace("refs/heads/", "");
    await eventually("the status comment saying where the work is", () =>
      status(name, issue.number).includes(shortBranch),
    );
    expect(Date.now() - asked).toBeLessThan(30_000);
    expect(await taskState(name, issue.number)).toBe("cancelled");
  }, 90_000);

  it("gives a hint to a running Claude Code as it works, and says so", async () => {
    const maintainer = drover.as("maintainer");
    const name = "hinted";
    const repo = await repoWithConfig(maintainer, name, fakeClaude);
    const { data: issue } = await maintainer.rest.issues.create({ ...repo, title: "Indent the file" });
    await maintainer.rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });
    // Its process started (a hint given before that is in its prompt instead).
    await eventually("the agent's process", async () => {
      const rows = await drover
        .database()
        .db.select({ name: steps.name })
        .from(steps)
        .innerJoin(attempts, eq(attempts.id, steps.attemptId))
        .innerJoin(tasks, eq(tasks.id, attempts.taskId))
        .innerJoin(repositories, eq(repositories.id, tasks.repoId))
        .where(and(like(steps.name, "agent-process-%"), eq(repositories.fullName, `acme/${name}`)));
      return rows.length > 0;
    });
    const { data: hint } = await maintainer.rest.issues.createComment({
      ...repo,
      issue_number: issue.number,
      body: "/drover hint Use tabs, not spaces.",
    });
    await eventually("the hint applied", () =>
      reactionsOn(name, issue.number, hint.id).includes(`${BOT}:rocket`),
    );
    // The 🚀 and the reply are two writes: the reply may land a moment after the reaction.
    await eventually("the reply saying the hint is given", () =>
      botReplies(name, issue.number).join("\n").includes("given the hint within seconds"),
    );
    const [pull] = await eventually("the pull request", () => {
      const found = pullsFor(name, issue.number);
      return found.length > 0 && found;
    });
    const hints = (await blob(name, pull!.pull!.headSha, "HINTS.md")) ?? "";
    expect(hints).toContain("A hint from @maintainer arrived while you work");
    expect(hints).toContain("Use tabs, not spaces.");
    await eventually("the status comment marking the hint given", () =>
      status(name, issue.number).includes(
        "@maintainer (hint, given to the running agent): Use tabs, not spaces.",
      ),
    );
  }, 90_000);
});
