import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import type { JobDeps } from "../../../jobs/deps.ts";
import { reviewJob } from "../../../jobs/review.ts";
import { DroverConfig } from "../../../src/config/schema.ts";
import { concludeAttempt } from "../../../src/db/attempts.ts";
import { getDelivery, recordDelivery } from "../../../src/db/deliveries.ts";
import { hintsOf } from "../../../src/db/hints.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { deliveries, events } from "../../../src/db/schema.ts";
import { getTask, updateTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  mockIssueState,
  mockPermission,
  mockReply,
  recorder,
  type Sent,
} from "../../helpers/github-flows.ts";
import { MAINTAINER, OCTO_REPO, type TestUser } from "../../helpers/payloads.ts";
import {
  mockReviewComments,
  reviewSubmitted,
  reviewUrl,
  type TestReview,
  type TestReviewComment,
} from "../../helpers/review-flows.ts";
import { claimedTask } from "../../helpers/tasks.ts";

const REVIEWER: TestUser = { login: "reviewer", id: 303 };
const VISITOR: TestUser = { login: "visitor", id: 909 };

/**
 * The review job: a review of a Drover pull request. "Changes requested" by a writer records the review
 * and its inline comments as hints and makes the task ready to rework on top of the pull request; by
 * anyone else it is ignored; past `max_reworks` Drover says it stops. An approval is recorded.
 */
describe("review", () => {
  const { db, harness, github } = useDrover();

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  /** A task whose pull request `issue + 1` is open for review, as run-task and publish leave it. */
  async function taskInReview(issue: number, config: Record<string, unknown> = {}) {
    const { taskId, lease } = await claimedTask(db(), issue, "earlier-worker", {
      config: DroverConfig.parse(config),
      statusCommentId: 9000 + issue,
    });
    const moved = await concludeAttempt(
      db(),
      lease,
      { conclusion: "success", reason: "the agent reported success", summary: "Added CHANGED.md" },
      {
        from: ["running"],
        to: "review",
        fields: { stateReason: null, prNumber: issue + 1 },
        cause: {},
      },
    );
    if (!moved) throw new Error("task did not move to review");
    return { taskId, pr: issue + 1, branch: `drover/${issue}-task-${issue}`, commentId: 9000 + issue };
  }

  /** A review delivery, recorded as intake records it; returns its id. */
  async function deliver(review: TestReview): Promise<string> {
    const id = `review-${review.id}`;
    await recordDelivery(db(), {
      id,
      event: "pull_request_review",
      action: "submitted",
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload: reviewSubmitted(review),
    });
    return id;
  }

  /** The harness's job deps, with the jobs the review asks for recorded instead of run. */
  function depsRecording() {
    const queued: string[] = [];
    const deps: JobDeps = {
      ...harness().deps,
      enqueue: async (name) => {
        queued.push(name);
      },
    };
    return { deps, queued };
  }

  function token() {
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
  }

  const COMMENTS: TestReviewComment[] = [
    {
      id: 7001,
      body: "Use a constant here.",
      path: "src/widget.ts",
      line: 12,
      diffHunk: "@@ -10,3 +10,4 @@\n const a = 1;\n+const b = 42;",
      by: REVIEWER,
    },
    {
      id: 7002,
      body: "And test it.",
      path: "test/widget.test.ts",
      line: 3,
      diffHunk: "@@ -1,2 +1,3 @@\n+it()",
      by: REVIEWER,
    },
  ];

  it("records a writer's changes-requested review with its inline comments and makes the task ready to rework", async () => {
    const { taskId, pr, branch, commentId } = await taskInReview(61);
    const sent: Sent = recorder();
    token();
    const api = github.api();
    mockPermission(api, REVIEWER.login, "write");
    mockReviewComments(api, { pr, reviewId: 501, comments: COMMENTS });
    mockIssueState(github.optional(), sent, { issue: 61, commentId, labels: ["drover:review"] });
    const review: TestReview = {
      id: 501,
      state: "changes_requested",
      body: "Close, but not yet.\nSee the comments.",
      by: REVIEWER,
      pr,
      headRef: branch,
    };
    const { deps, queued } = depsRecording();

    await reviewJob(deps, { deliveryId: await deliver(review) });

    const task = await getTask(db(), taskId);
    expect(task).toMatchObject({
      state: "ready",
      reworkCount: 1,
      modifiedBy: REVIEWER.login,
      nextStart: { from: "branch", cause: "rework", by: REVIEWER.login, reviewId: 501, prNumber: pr },
    });
    expect(queued).toEqual(["schedule"]);
    const hints = await hintsOf(db(), taskId);
    expect(hints.map((h) => [h.kind, h.author, h.authorId, h.sourceId, h.path, h.line])).toEqual([
      ["review", "reviewer", 303, "review:501", null, null],
      ["review-comment", "reviewer", 303, "review-comment:7001", "src/widget.ts", 12],
      ["review-comment", "reviewer", 303, "review-comment:7002", "test/widget.test.ts", 3],
    ]);
    expect(hints[1]).toMatchObject({
      body: "Use a constant here.",
      diffHunk: COMMENTS[0]!.diffHunk,
      url: "https://github.com/octo-org/widgets/pull/62#discussion_r7001",
      reviewId: 501,
    });
    expect(hints[0]).toMatchObject({ url: reviewUrl(pr, 501) });
    // The status comment says who steered it last, and what they said.
    const status = sent.comments.at(-1)?.body ?? "";
    expect(status).toContain("| Last steered by | @reviewer |");
    expect(status).toContain("| Created by | @hubber |");
    expect(status).toContain("**Guidance from people** (3):");
    expect(status).toContain("- @reviewer (review): Close, but not yet.");
    expect(status).toContain("- @reviewer (review comment): Use a constant here.");
    expect(sent.removed).toContain("drover:review");
  });

  it("applies a review delivered again once: one rework round, each hint once", async () => {
    const { taskId, pr, branch, commentId } = await taskInReview(63);
    const sent: Sent = recorder();
    token();
    const api = github.api();
    mockPermission(api, REVIEWER.login, "write");
    mockReviewComments(api, { pr, reviewId: 503, comments: [{ ...COMMENTS[0]!, id: 7003 }] });
    mockIssueState(github.optional(), sent, { issue: 63, commentId, labels: ["drover:review"] });
    const id = await deliver({
      id: 503,
      state: "changes_requested",
      body: "Again",
      by: REVIEWER,
      pr,
      headRef: branch,
    });
    const { deps } = depsRecording();

    await reviewJob(deps, { deliveryId: id });
    // The same job run again after it finished, and once more as if it had stopped right after the change.
    await reviewJob(deps, { deliveryId: id });
    await db().update(deliveries).set({ processedAt: null }).where(eq(deliveries.id, id));
    await reviewJob(deps, { deliveryId: id });

    expect(await getTask(db(), taskId)).toMatchObject({ state: "ready", reworkCount: 1 });
    expect(await hintsOf(db(), taskId)).toHaveLength(2);
    const reworks = await db()
      .select()
      .from(events)
      .where(and(eq(events.taskId, taskId), eq(events.type, "task.rework")));
    expect(reworks).toHaveLength(1);
    expect((await getDelivery(db(), id))?.outcome).toBe("rework");
  });

  it("ignores changes requested by someone without write access, without a reply", async () => {
    const { taskId, pr, branch } = await taskInReview(65);
    token();
    mockPermission(github.api(), VISITOR.login, "read");
    const id = await deliver({
      id: 505,
      state: "changes_requested",
      body: "Do it differently",
      by: VISITOR,
      pr,
      headRef: branch,
    });
    const { deps, queued } = depsRecording();

    await reviewJob(deps, { deliveryId: id });

    expect(await getTask(db(), taskId)).toMatchObject({ state: "review", reworkCount: 0, nextStart: null });
    expect(await hintsOf(db(), taskId)).toEqual([]);
    expect(queued).toEqual([]);
    expect((await getDelivery(db(), id))?.outcome).toBe("reviewer cannot write");
  });

  it("says it stops at max_reworks, and does not rework", async () => {
    const { taskId, pr, branch } = await taskInReview(67, { max_reworks: 1 });
    await updateTask(db(), taskId, { reworkCount: 1 });
    const sent: Sent = recorder();
    token();
    const api = github.api();
    mockPermission(api, REVIEWER.login, "write");
    mockReply(api, sent, pr, 8067);
    const id = await deliver({
      id: 507,
      state: "changes_requested",
      body: "Still not right",
      by: REVIEWER,
      pr,
      headRef: branch,
    });
    const { deps, queued } = depsRecording();

    await reviewJob(deps, { deliveryId: id });
    await reviewJob(deps, { deliveryId: id });

    expect(await getTask(db(), taskId)).toMatchObject({ state: "review", reworkCount: 1 });
    expect(await hintsOf(db(), taskId)).toEqual([]);
    expect(queued).toEqual([]);
    expect(sent.comments).toHaveLength(1);
    const answer = sent.comments[0]!.body;
    expect(answer).toContain("@reviewer: Drover has reworked this pull request 1 time (`max_reworks`");
    expect(answer).toContain(reviewUrl(pr, 507));
    expect(answer).toContain("Push the changes to the branch yourself, or comment `/drover retry`");
  });

  it("records a writer's approval and changes nothing else", async () => {
    const { taskId, pr, branch } = await taskInReview(69);
    token();
    mockPermission(github.api(), MAINTAINER.login, "maintain");
    const id = await deliver({
      id: 509,
      state: "approved",
      body: "LGTM",
      by: MAINTAINER,
      pr,
      headRef: branch,
      at: "2026-11-03T09:30:00Z",
    });
    const { deps, queued } = depsRecording();

    await reviewJob(deps, { deliveryId: id });
    await reviewJob(deps, { deliveryId: id });

    expect(await getTask(db(), taskId)).toMatchObject({
      state: "review",
      approvedBy: MAINTAINER.login,
      approvedAt: new Date("2026-11-03T09:30:00Z"),
      reworkCount: 0,
    });
    expect(await hintsOf(db(), taskId)).toEqual([]);
    expect(queued).toEqual([]);
    const approvals = await db()
      .select()
      .from(events)
      .where(and(eq(events.taskId, taskId), eq(events.type, "pr.approved")));
    expect(approvals).toMatchObject([{ actor: MAINTAINER.login, data: { reviewId: 509, pr } }]);
  });

  it("does nothing for a comment-only review", async () => {
    const { taskId, pr, branch } = await taskInReview(71);
    const id = await deliver({ id: 511, state: "commented", body: "Hmm", by: REVIEWER, pr, headRef: branch });
    const { deps, queued } = depsRecording();

    await reviewJob(deps, { deliveryId: id });

    expect(await getTask(db(), taskId)).toMatchObject({ state: "review", reworkCount: 0 });
    expect(queued).toEqual([]);
  });
});
