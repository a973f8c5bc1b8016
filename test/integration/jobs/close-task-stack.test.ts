import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import type { AttemptStart } from "../../../src/db/attempt-start.ts";
import { concludeAttempt } from "../../../src/db/attempts.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { attempts, events } from "../../../src/db/schema.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { BOT, mockClosed, recorder, REPO_PATH, taskOf } from "../../helpers/github-flows.ts";
import { pullReply } from "../../helpers/github-replies.ts";
import { issueClosed, MAINTAINER, OCTO_REPO, pullRequestClosed } from "../../helpers/payloads.ts";
import { claimedTask } from "../../helpers/tasks.ts";

/**
 * Stacked work (drover.yml `stack: true`): when a blocker's pull request merges, the pull requests stacked
 * on its branch go into the branch it merged into. GitHub moves them itself when the merged branch is
 * deleted; Drover moves those still into it, and leaves alone the pull requests that do not stack on it.
 */
describe("close-task with pull requests stacked on the merged one", () => {
  const { db, harness, github } = useDrover();

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  /** A task in review with pull request `pr`, its attempt started `start` (stacked, or not). */
  async function inReview(issue: number, pr: number, start?: AttemptStart): Promise<number> {
    const { taskId, lease } = await claimedTask(db(), issue, "earlier-worker", {
      statusCommentId: 7000 + issue,
    });
    if (start) await db().update(attempts).set({ start }).where(eq(attempts.id, lease.attemptId));
    await concludeAttempt(
      db(),
      lease,
      { conclusion: "success", reason: "the agent reported success", summary: "Done." },
      { from: ["running"], to: "review", fields: { prNumber: pr }, cause: {} },
    );
    return taskId;
  }

  const onto = (taskId: number, issueNumber: number): AttemptStart => ({
    from: "base",
    cause: "label",
    by: "alice",
    onto: { branch: `drover/${issueNumber}-task-${issueNumber}`, taskId, issueNumber },
  });

  it("retargets the stacked pull requests still into the merged branch, and only those, to the base", async () => {
    const blocker = await inReview(41, 141);
    await inReview(42, 142, onto(blocker, 41)); // stacked, still into drover/41-task-41
    await inReview(43, 143, onto(blocker, 41)); // stacked, already moved by GitHub (branch deleted)
    await inReview(44, 144); // not stacked

    const sent = recorder();
    const retargeted: { pr: number; body: unknown }[] = [];
    const api = github.api();
    mockInstallationToken(api.persist(), OCTO_REPO.installationId);
    api
      .get(`${REPO_PATH}/pulls`)
      .query((query) => query.base === "drover/41-task-41" && query.state === "open")
      .reply(200, [
        pullReply({ number: 142, head: "drover/42-task-42", by: BOT }),
        pullReply({ number: 99, head: "someones-branch", by: MAINTAINER }),
      ]);
    api.patch(`${REPO_PATH}/pulls/142`).reply(200, (_uri, body) => {
      retargeted.push({ pr: 142, body });
      return pullReply({ number: 142, head: "drover/42-task-42", by: BOT });
    });
    mockClosed(github.optional(), sent, { issue: 41, commentId: 7041, labels: ["drover:review"] });

    await harness().receive(
      "pull_request",
      pullRequestClosed({ number: 141, headRef: "drover/41-task-41", merged: true }),
    );
    await harness().drain();

    expect((await taskOf(db(), OCTO_REPO, 41)).task?.state).toBe("done");
    expect(retargeted).toEqual([{ pr: 142, body: { base: "main" } }]);
    expect((await taskOf(db(), OCTO_REPO, 42)).task?.state).toBe("review");
  });

  it("still retargets them when the issue the merge closed finished the task first", async () => {
    // Merging sends two events, the pull request's close and its issue's ("Closes #46"); two workers may
    // take them in either order.
    const blocker = await inReview(46, 146);
    await inReview(47, 147, onto(blocker, 46));

    const sent = recorder();
    const retargeted: unknown[] = [];
    const api = github.api();
    mockInstallationToken(api.persist(), OCTO_REPO.installationId);
    mockClosed(api, sent, { issue: 46, commentId: 7046, labels: ["drover:review"] });
    await harness().receive("issues", issueClosed({ number: 46, stateReason: "completed" }));
    await harness().drain();
    expect((await taskOf(db(), OCTO_REPO, 46)).task?.state).toBe("done");

    api
      .get(`${REPO_PATH}/pulls`)
      .query((query) => query.base === "drover/46-task-46" && query.state === "open")
      .reply(200, [pullReply({ number: 147, head: "drover/47-task-47", by: BOT })]);
    api.patch(`${REPO_PATH}/pulls/147`).reply(200, (_uri, body) => {
      retargeted.push(body);
      return pullReply({ number: 147, head: "drover/47-task-47", by: BOT });
    });
    await harness().receive(
      "pull_request",
      pullRequestClosed({ number: 146, headRef: "drover/46-task-46", merged: true }),
    );
    await harness().drain();

    expect(retargeted).toEqual([{ base: "main" }]);
    expect(api.isDone()).toBe(true);
    // The merge is in the task's events once, as when the pull request's close comes first.
    const merged = await db()
      .select({ actor: events.actor, data: events.data })
      .from(events)
      .where(and(eq(events.taskId, blocker), eq(events.type, "pr.merged")));
    expect(merged).toEqual([{ actor: MAINTAINER.login, data: { pr: 146 } }]);
  });

  it("reads nothing of GitHub's pull requests when nothing is stacked on the merged one", async () => {
    await inReview(45, 145);
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockClosed(github.api(), sent, { issue: 45, commentId: 7045, labels: ["drover:review"] });

    await harness().receive(
      "pull_request",
      pullRequestClosed({ number: 145, headRef: "drover/45-task-45", merged: true }),
    );
    await harness().drain();

    expect((await taskOf(db(), OCTO_REPO, 45)).task?.state).toBe("done");
  });
});
