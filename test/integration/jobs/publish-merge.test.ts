import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { publish } from "../../../jobs/publish.ts";
import { steps } from "../../../src/db/schema.ts";
import { useDrover } from "../../helpers/drover.ts";
import {
  agentConfig,
  mockLabelledRun,
  mockPermission,
  recorder,
  taskOf,
  REPO_PATH,
  type Published,
  type Scope,
} from "../../helpers/github-flows.ts";
import { checkRunReply, labelsReply, TEST_APP } from "../../helpers/github-replies.ts";
import { issueLabeled, MAINTAINER, type TestUser } from "../../helpers/payloads.ts";
import {
  autoMergeEnabled,
  autoMergeRefused,
  mockGraphql,
  reviewListItem,
  reviewSubmitted,
} from "../../helpers/review-flows.ts";

const REVIEWER: TestUser = { login: "reviewer", id: 303 };

/**
 * What publish does with a pull request beyond opening it: drover.yml `default_labels` put on it once,
 * and `auto_merge`: GitHub's auto-merge turned on once, or, where GitHub refuses it, Drover's own merge
 * once its check run passed and no review requests changes.
 */
describe("publish with default_labels and auto_merge", () => {
  const { db, harness, repo, github } = useDrover();

  /** A labelled issue run to a passing pull request `issue + 1`, with `extra` in drover.yml. */
  async function runToReview(issue: number, extra: string, more: (api: Scope) => void = () => {}) {
    const sent: Published = recorder();
    const title = `Merge ${issue}`;
    mockLabelledRun(github, sent, {
      issue: { number: issue, title, labels: ["drover"] },
      commentId: 8000 + issue,
      config: agentConfig("edit-and-pass.mjs", { extra }),
      installationId: repo().installationId,
      passes: { branch: `drover/${issue}-merge-${issue}`, pr: issue + 1 },
    });
    more(github.api());
    await harness().receive("issues", issueLabeled({ repo: repo(), number: issue, title }));
    await harness().drain();
    const { task, attempts } = await taskOf(db(), repo(), issue);
    expect(task).toMatchObject({ state: "review", prNumber: issue + 1 });
    return { attempt: attempts[0]!, sent };
  }

  /** Publish of the same attempt again (the job delivered twice). */
  async function publishAgain(attemptId: number) {
    await db()
      .delete(steps)
      .where(and(eq(steps.attemptId, attemptId), eq(steps.name, "published")));
    await publish(harness().deps, { attemptId });
  }

  /** Drover's check run on the commit the URL names, concluded success (as publish made it). */
  function mockOwnCheck(api: Scope) {
    api
      .get(new RegExp(`^${REPO_PATH}/commits/[0-9a-f]{40}/check-runs`))
      .query(true)
      .reply(200, (uri) => {
        const headSha = /commits\/([0-9a-f]{40})\//.exec(uri)?.[1] ?? "";
        return {
          total_count: 1,
          check_runs: [checkRunReply({ id: 31, name: "Drover", headSha, app: TEST_APP })],
        };
      });
  }

  it("adds default_labels to the pull request once", async () => {
    const added: string[][] = [];
    const { attempt } = await runToReview(91, "default_labels: [ai-made, needs-review]", (api) => {
      api.post(`${REPO_PATH}/issues/92/labels`).reply(200, (_uri, body) => {
        const labels = (body as { labels: string[] }).labels;
        added.push(labels);
        return labelsReply(labels);
      });
    });
    await publishAgain(attempt.id);

    expect(added).toEqual([["ai-made", "needs-review"]]);
  });

  it("turns GitHub's auto-merge on once, with the pull request's node id", async () => {
    const graphql = mockGraphql([autoMergeEnabled(94)]);
    const { attempt } = await runToReview(93, "auto_merge: true");
    await publishAgain(attempt.id);

    expect(graphql.scope.isDone()).toBe(true);
    expect(graphql.variables).toEqual([{ pullRequestId: expect.stringMatching(/\S/), mergeMethod: "MERGE" }]);
    expect(await stepOf(attempt.id)).toEqual({ outcome: "enabled" });
  });

  it("merges the pull request itself when GitHub refuses auto-merge, its check passed and no review requests changes", async () => {
    const graphql = mockGraphql([autoMergeRefused("Pull request is in clean status")]);
    const merges: Record<string, unknown>[] = [];
    const { attempt } = await runToReview(95, "auto_merge: true", (api) => {
      mockOwnCheck(api);
      api.get(`${REPO_PATH}/pulls/96/reviews`).query(true).reply(200, []);
      api.put(`${REPO_PATH}/pulls/96/merge`).reply(200, (_uri, body) => {
        merges.push(body as Record<string, unknown>);
        return { sha: "9".repeat(40), merged: true, message: "Pull Request successfully merged" };
      });
    });
    await publishAgain(attempt.id);

    expect(graphql.scope.isDone()).toBe(true);
    expect(merges).toEqual([{ sha: attempt.headSha, merge_method: "merge" }]);
    expect(await stepOf(attempt.id)).toEqual({ outcome: "merged" });
  });

  it("does not merge while a review requests changes, and merges once it is approved", async () => {
    mockGraphql([autoMergeRefused()]);
    const merges: Record<string, unknown>[] = [];
    const { attempt } = await runToReview(97, "auto_merge: true", (api) => {
      mockOwnCheck(api);
      api
        .get(`${REPO_PATH}/pulls/98/reviews`)
        .query(true)
        .reply(200, [reviewListItem({ id: 701, state: "CHANGES_REQUESTED", by: REVIEWER, pr: 98 })]);
    });
    expect(await stepOf(attempt.id)).toEqual({
      outcome: "waiting",
      reason: "changes requested by @reviewer",
    });

    // The reviewer approves: the approval is what Drover's merge waited for.
    const api = github.api();
    mockPermission(api, REVIEWER.login, "write");
    mockOwnCheck(api);
    api
      .get(`${REPO_PATH}/pulls/98/reviews`)
      .query(true)
      .reply(200, [
        reviewListItem({ id: 701, state: "CHANGES_REQUESTED", by: REVIEWER, pr: 98 }),
        reviewListItem({ id: 702, state: "APPROVED", by: REVIEWER, pr: 98 }),
        reviewListItem({ id: 703, state: "COMMENTED", by: MAINTAINER, pr: 98 }),
      ]);
    api.put(`${REPO_PATH}/pulls/98/merge`).reply(200, (_uri, body) => {
      merges.push(body as Record<string, unknown>);
      return { sha: "9".repeat(40), merged: true, message: "Pull Request successfully merged" };
    });
    await harness().receive(
      "pull_request_review",
      reviewSubmitted({ id: 702, state: "approved", by: REVIEWER, pr: 98, headRef: "drover/97-merge-97" }),
    );
    await harness().drain();

    expect(merges).toEqual([{ sha: attempt.headSha, merge_method: "merge" }]);
    expect(await stepOf(attempt.id)).toEqual({ outcome: "merged" });
    expect((await taskOf(db(), repo(), 97)).task).toMatchObject({ approvedBy: REVIEWER.login });
  });

  async function stepOf(attemptId: number) {
    const [row] = await db()
      .select()
      .from(steps)
      .where(and(eq(steps.attemptId, attemptId), eq(steps.name, "auto-merge")));
    return row?.result;
  }
});
