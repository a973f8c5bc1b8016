import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { like } from "drizzle-orm";
import { commandRuns } from "../../src/db/schema.ts";
import { taskSummaries } from "../../src/db/tasks.ts";
import { STATUS_MARKER } from "../../src/github/comments.ts";
import { resolveRef } from "../../src/sandbox/git/refs.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * `/drover plan` through the sandbox with Drover's web and worker as their own processes, and a fake
 * planning agent (test/fixtures/agents/planner.mjs): a proposal comment from the issue's spec and the file
 * it links, replaced by the next `/drover plan`, created as sub-issues with their links by `/drover plan
 * accept` and started; an agent that writes in its checkout has nothing kept; garbage gets a clear comment.
 */

const AGENTS = new URL("../fixtures/agents/", import.meta.url).pathname;
const planner = `agent: command\nagent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, "planner.mjs")])}\n`;
const PLAN_MARKER = "<!-- drover:plan -->";

const drover = useStack({ workers: 1 });
const world = (name: string) => drover.stack().sandbox.world.repo("acme", name)!;
const issueOf = (name: string, number: number) => world(name).issues.get(number)!;
const botComments = (name: string, number: number) =>
  issueOf(name, number).comments.filter((c) => c.user.login === BOT && !c.body.includes(STATUS_MARKER));
const proposals = (name: string, number: number) =>
  botComments(name, number).filter((c) => c.body.includes(PLAN_MARKER));

describe("/drover plan", () => {
  it("proposes from the spec and the file it links, replaces the proposal, and accept creates and starts it", async () => {
    const maintainer = drover.as("maintainer");
    const name = "planned";
    const repo = await repoWithConfig(maintainer, name, planner);
    for (const [file, text] of [
      ["docs/spec.md", "# Greeting\n\nLINKED-MARKER: read from the linked file.\n"],
      ["README.md", "# planned\n"],
    ] as const)
      await maintainer.rest.repos.createOrUpdateFileContents({
        ...repo,
        path: file,
        message: `Add ${file}`,
        content: Buffer.from(text).toString("base64"),
      });
    const headBefore = await resolveRef(drover.stack().sandbox.bareRepository("acme", name), "main");
    const { data: spec } = await maintainer.rest.issues.create({
      ...repo,
      title: "Greet people",
      body: "We greet people. The details are in [the spec](docs/spec.md).\n\nPLAN-WRITE",
    });

    // 1. A proposal: the tree with its blockers, the linked file's task, and the writes discarded.
    await maintainer.rest.issues.createComment({ ...repo, issue_number: spec.number, body: "/drover plan" });
    const first = await eventually("the proposal", () => proposals(name, spec.number)[0], 60_000);
    expect(first.body).toContain("**epic** `E1` Greeting · priority 7 (high)");
    expect(first.body).toContain("  - **story** `S1` Say hello");
    expect(first.body).toContain("    - **task** `T2` Use the greeting · priority 5 (normal)");
    expect(first.body).toContain("blocked by `T1`");
    expect(first.body).toContain("From the linked file");
    expect(first.body).toMatch(/changed files in its read-only checkout \(.*`planner-was-here.txt`/);
    expect(first.body).toContain("`/drover plan accept`");
    // Nothing the agent wrote was kept: no checkout left, the repository as it was.
    expect(await readdir(path.join(drover.stack().env.DROVER_HOME!, "plans")).catch(() => [])).toEqual([]);
    expect(await resolveRef(drover.stack().sandbox.bareRepository("acme", name), "main")).toBe(headBefore);

    // 2. Planning again replaces it: the same comment, edited; planned from the base branch as it is now
    // (the linked file lost its marker since the first plan).
    const { data: linked } = await maintainer.rest.repos.getContent({ ...repo, path: "docs/spec.md" });
    await maintainer.rest.repos.createOrUpdateFileContents({
      ...repo,
      path: "docs/spec.md",
      message: "The spec, without the marker",
      content: Buffer.from("# Greeting\n\nNothing more.\n").toString("base64"),
      sha: (linked as { sha: string }).sha,
    });
    await maintainer.rest.issues.update({
      ...repo,
      issue_number: spec.number,
      body: "We greet people, see [the spec](docs/spec.md). PLAN-SECOND",
    });
    await maintainer.rest.issues.createComment({ ...repo, issue_number: spec.number, body: "/drover plan" });
    await eventually(
      "the proposal replaced",
      () => proposals(name, spec.number)[0]?.body.includes("second take"),
      60_000,
    );
    expect(proposals(name, spec.number)).toHaveLength(1);
    expect(proposals(name, spec.number)[0]!.id).toBe(first.id);
    expect(proposals(name, spec.number)[0]!.body).not.toContain("From the linked file");

    // 3. Accepted: sub-issues with their parents and "blocked by" links, tasks labelled and started.
    const requestsBefore = drover.stack().sandbox.requests.length;
    await maintainer.rest.issues.createComment({
      ...repo,
      issue_number: spec.number,
      body: "/drover plan accept",
    });
    const accepted = await eventually(
      "the accept's reply",
      () => botComments(name, spec.number).find((c) => c.body.includes("Plan accepted")),
      60_000,
    );
    // Created by the accept's own job (plan-accept), which records its one reply, not by the command's.
    const replies = await drover
      .database()
      .db.select({ deliveryId: commandRuns.deliveryId })
      .from(commandRuns)
      .where(like(commandRuns.deliveryId, "%:plan-accepted"));
    expect(replies).toHaveLength(1);
    const byTitle = (title: string) => [...world(name).issues.values()].find((i) => i.title === title);
    const epic = byTitle("Greeting, second take")!;
    const story = byTitle("Say hello")!;
    const [t1, t2] = [byTitle("Write the greeting")!, byTitle("Use the greeting")!];
    expect(issueOf(name, spec.number).subIssues.map((i) => i.number)).toEqual([epic.number]);
    expect(epic.subIssues.map((i) => i.number)).toEqual([story.number]);
    expect(story.subIssues.map((i) => i.number).sort()).toEqual([t1.number, t2.number].sort());
    expect(t2.blockedBy.map((i) => i.number)).toEqual([t1.number]);
    expect(t1.labels.map((l) => l.name)).toContain("drover");
    expect(epic.labels.map((l) => l.name)).not.toContain("drover");
    expect(accepted.body).toContain(`#${t1.number}`);
    expect(accepted.body).toContain("2 started");
    const tasks = await eventually("the tasks recorded", async () => {
      const found = await taskSummaries(drover.database().db, `acme/${name}`);
      return found.length >= 2 && found;
    });
    expect(tasks.map((t) => t.number).sort()).toEqual([t1.number, t2.number].sort());
    // The label went on with each task's issue as it was made: starting the tasks adds it to none again.
    const labelWrites = drover
      .stack()
      .sandbox.requests.slice(requestsBefore)
      .filter(
        (r) =>
          r.actor === "installation" &&
          r.method === "POST" &&
          r.route === "/repos/{owner}/{repo}/issues/{issue_number}/labels",
      )
      .map((r) => r.url);
    expect(labelWrites).toEqual([]);

    // Accepting again, labelled, creates nothing twice and starts nothing again: a task finished since
    // (closed as completed) stays done.
    await maintainer.rest.issues.update({
      ...repo,
      issue_number: t1.number,
      state: "closed",
      state_reason: "completed",
    });
    const stateOf = async (number: number) =>
      (await taskSummaries(drover.database().db, `acme/${name}`)).find((t) => t.number === number)?.state;
    await eventually("the finished task done", async () => (await stateOf(t1.number)) === "done", 60_000);
    await maintainer.rest.issues.createComment({
      ...repo,
      issue_number: spec.number,
      body: "/drover plan accept",
    });
    const labelledAgain = await eventually(
      "the labelled second accept's reply",
      () => botComments(name, spec.number).filter((c) => c.body.includes("Plan accepted"))[1],
      60_000,
    );
    expect(labelledAgain.body).toContain("0 issues created, 4 found from an earlier accept");
    expect(labelledAgain.body).toContain("0 started, 2 started before and left as they are");
    expect(await stateOf(t1.number)).toBe("done");

    // And without the label: nothing created, nothing started.
    await maintainer.rest.issues.createComment({
      ...repo,
      issue_number: spec.number,
      body: "/drover plan accept --no-label",
    });
    const again = await eventually(
      "the second accept's reply",
      () => botComments(name, spec.number).filter((c) => c.body.includes("Plan accepted"))[2],
      60_000,
    );
    expect(again.body).toContain("0 issues created, 4 found from an earlier accept");
    for (const title of ["Greeting, second take", "Say hello", "Write the greeting", "Use the greeting"])
      expect([...world(name).issues.values()].filter((i) => i.title === title)).toHaveLength(1);
  }, 240_000);

  it("answers an agent's garbage with what was wrong, scrubbed, and keeps no proposal", async () => {
    const maintainer = drover.as("maintainer");
    const name = "garbled";
    const repo = await repoWithConfig(maintainer, name, planner);
    const { data: spec } = await maintainer.rest.issues.create({
      ...repo,
      title: "Spec",
      body: "PLAN-GARBAGE",
    });
    await maintainer.rest.issues.createComment({
      ...repo,
      issue_number: spec.number,
      body: "/drover plan accept",
    });
    await eventually("the refusal", () =>
      botComments(name, spec.number).find((c) => c.body.includes("There is no proposal to accept")),
    );
    await maintainer.rest.issues.createComment({ ...repo, issue_number: spec.number, body: "/drover plan" });
    const failure = await eventually(
      "the failure comment",
      () => botComments(name, spec.number).find((c) => c.body.includes("Drover: no plan")),
      60_000,
    );
    expect(failure.body).toContain('kind must be one of epic, story, task (got "chore")');
    expect(failure.body).toContain("title must be a non-empty string");
    expect(failure.body).toContain("I read the spec in . with [REDACTED:github-token]");
    expect(failure.body).not.toContain(drover.stack().env.DROVER_HOME!);
    expect(proposals(name, spec.number)).toEqual([]);
  }, 120_000);
});
