import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Person } from "../../../src/demo/maintainer.ts";
import { assertMatchesOperation, assertMatchesWebhook } from "../../helpers/openapi.ts";
import {
  cloneRepo,
  hookNames,
  startTestSandbox,
  statusOf,
  type Clone,
  type TestSandbox,
} from "../../helpers/sandbox.ts";

/**
 * What people steering a pull request through the sandbox notice: reviews with inline comments (and the
 * diff hunk each sits in), replies, reactions, labels on a pull request, and auto-merge through GraphQL
 * merging once the checks pass and nobody asks for changes. One sandbox for the file, a fresh repository
 * per test.
 */

type Repo = { owner: string; repo: string };

let t: TestSandbox;
let repoCount = 0;
const clones: Clone[] = [];

beforeAll(async () => {
  t = await startTestSandbox();
});

afterEach(async () => {
  await Promise.all(clones.splice(0).map((clone) => clone.remove()));
});

afterAll(async () => {
  await t?.close();
});

const as = (login: string): Person => t.as(login);

/** GitHub's example payload for `event` (with one of `actions`), from @octokit/webhooks-examples. */
function exampleOf(event: string, ...actions: string[]): Record<string, unknown> {
  const group = (examples as { name: string; examples: Record<string, unknown>[] }[]).find(
    (e) => e.name === event,
  );
  const found = group?.examples.find((e) => actions.includes(String(e.action)));
  if (!found) throw new Error(`no ${event} example`);
  return found;
}

const WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
const BEFORE = [...WORDS, ...Array.from({ length: 10 }, (_, i) => `line ${i + 11}`)];
const AFTER = [...BEFORE.slice(0, 3), "FOUR", ...BEFORE.slice(4), "twenty-one"];

/**
 * A repository whose main has `notes.txt` (twenty lines) and an open pull request by the developer
 * from `feature`, which changes line 4 and adds line 21: two hunks.
 */
async function pullWithDiff(): Promise<{ repo: Repo; work: Clone; number: number; head: string }> {
  repoCount += 1;
  const repo = await t.newRepo(`reviews-${repoCount}`);
  const work = await cloneRepo(t.sandbox, repo, t.sandbox.token("developer"));
  clones.push(work);
  await work.commit({ "notes.txt": `${BEFORE.join("\n")}\n` }, "Add notes");
  await work.git("push", "--quiet", "origin", "HEAD:main");
  await work.git("checkout", "--quiet", "-b", "feature");
  const head = await work.commit({ "notes.txt": `${AFTER.join("\n")}\n` }, "Change notes");
  await work.git("push", "--quiet", "origin", "feature");
  const { data } = await as("developer").rest.pulls.create({
    ...repo,
    title: "Change notes",
    head: "feature",
    base: "main",
  });
  return { repo, work, number: data.number, head };
}

describe("reviews with inline comments", () => {
  it("records each comment with its line, diff hunk and the head commit, announced before the review", async () => {
    const { repo, number, head } = await pullWithDiff();
    const from = await t.mark();
    const { data: review } = await as("maintainer").rest.pulls.createReview({
      ...repo,
      pull_number: number,
      event: "REQUEST_CHANGES",
      body: "A few things",
      comments: [
        { path: "notes.txt", line: 4, body: "Why shout?" },
        { path: "notes.txt", line: 21, side: "RIGHT", body: "Needed?" },
        { path: "notes.txt", line: 4, side: "LEFT", body: "The old one was fine" },
      ],
    });
    expect(review).toMatchObject({ state: "CHANGES_REQUESTED", body: "A few things", commit_id: head });

    const { data: comments } = await as("reader").rest.pulls.listCommentsForReview({
      ...repo,
      pull_number: number,
      review_id: review.id,
    });
    expect(comments.map((c) => [c.path, c.line, c.side, c.body])).toEqual([
      ["notes.txt", 4, "RIGHT", "Why shout?"],
      ["notes.txt", 21, "RIGHT", "Needed?"],
      ["notes.txt", 4, "LEFT", "The old one was fine"],
    ]);
    const [shout, added, old] = comments as [
      (typeof comments)[0],
      (typeof comments)[0],
      (typeof comments)[0],
    ];
    expect(shout).toMatchObject({ commit_id: head, pull_request_review_id: review.id, position: 5 });
    expect(shout.diff_hunk).toBe("@@ -1,7 +1,7 @@\n one\n two\n three\n-four\n+FOUR");
    expect(old.diff_hunk).toBe("@@ -1,7 +1,7 @@\n one\n two\n three\n-four");
    expect(added).toMatchObject({
      position: 13,
      diff_hunk: "@@ -18,3 +18,4 @@ line 17\n line 18\n line 19\n line 20\n+twenty-one",
    });

    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual([
      "pull_request_review_comment.created",
      "pull_request_review_comment.created",
      "pull_request_review_comment.created",
      "pull_request_review.submitted",
    ]);
    expect(hooks[0]?.payload).toMatchObject({
      comment: { id: shout.id, diff_hunk: shout.diff_hunk, line: 4, user: { login: "maintainer" } },
      pull_request: { number, head: { ref: "feature" } },
      installation: { id: t.sandbox.installationId },
    });
    expect(hooks[3]?.payload).toMatchObject({
      review: { id: review.id, state: "changes_requested", body: "A few things" },
    });
    for (const hook of hooks) assertMatchesWebhook(hook.event, hook.payload);
    // Everything GitHub's own example payloads carry, the sandbox's carry too.
    for (const hook of [hooks[0]!, hooks[3]!]) {
      const example = exampleOf(hook.event, "created", "submitted");
      expect(Object.keys(hook.payload)).toEqual(expect.arrayContaining(Object.keys(example)));
      const part = hook.event === "pull_request_review" ? "review" : "comment";
      expect(Object.keys(hook.payload[part] as object)).toEqual(
        expect.arrayContaining(Object.keys(example[part] as object)),
      );
    }

    const { data: pull } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(pull.review_comments).toBe(3);
    const { data: all } = await as("reader").rest.pulls.listReviewComments({ ...repo, pull_number: number });
    expect(all.map((c) => c.id)).toEqual(comments.map((c) => c.id));
    const { data: one } = await as("reader").rest.pulls.getReviewComment({ ...repo, comment_id: shout.id });
    expect(one.body).toBe("Why shout?");
  });

  it("sends review states in lower case and an empty body as null, as GitHub's webhooks do", async () => {
    const { repo, number } = await pullWithDiff();
    const from = await t.mark();
    await as("maintainer").rest.pulls.createReview({ ...repo, pull_number: number, event: "APPROVE" });
    await as("triager").rest.pulls.createReview({
      ...repo,
      pull_number: number,
      event: "COMMENT",
      body: "Hm",
    });
    const hooks = await t.hooksFor(repo, from);
    expect(hooks.map((h) => (h.payload.review as { state: string; body: unknown }).state)).toEqual([
      "approved",
      "commented",
    ]);
    expect((hooks[0]?.payload.review as { body: unknown }).body).toBeNull();
    const { data: reviews } = await as("reader").rest.pulls.listReviews({ ...repo, pull_number: number });
    expect(reviews.map((r) => r.state)).toEqual(["APPROVED", "COMMENTED"]);
  });

  it("refuses a comment by position, on a line outside the diff or a file it does not change, and records nothing", async () => {
    const { repo, number } = await pullWithDiff();
    const token = t.sandbox.token("maintainer");
    const path = `/repos/${repo.owner}/${repo.repo}/pulls/${number}/reviews`;
    const review = (comment: Record<string, unknown>) =>
      t.call(token, "POST", path, { event: "COMMENT", body: "x", comments: [comment] });
    const byPosition = await review({ path: "notes.txt", position: 2, body: "x" });
    expect(byPosition.status).toBe(422);
    expect((byPosition.body as { message: string }).message).toMatch(/"line".*not.*"position"/);
    const outside = await review({ path: "notes.txt", line: 12, body: "x" });
    expect(outside.status).toBe(422);
    expect((outside.body as { message: string }).message).toMatch(/line must be part of the diff/);
    expect((await review({ path: "README.md", line: 1, body: "x" })).status).toBe(422);
    const { data: reviews } = await as("reader").rest.pulls.listReviews({ ...repo, pull_number: number });
    expect(reviews).toEqual([]);
  });

  it("takes a lone comment and replies (in_reply_to and /replies), each filed under the thread's first comment", async () => {
    const { repo, number, head } = await pullWithDiff();
    const from = await t.mark();
    const { data: first } = await as("reader").rest.pulls.createReviewComment({
      ...repo,
      pull_number: number,
      commit_id: head,
      path: "notes.txt",
      line: 21,
      body: "Is twenty-one right?",
    });
    expect(first).toMatchObject({ line: 21, commit_id: head, user: { login: "reader" } });
    const { data: reply } = await as("developer").rest.pulls.createReplyForReviewComment({
      ...repo,
      pull_number: number,
      comment_id: first.id,
      body: "Yes",
    });
    const { data: again } = await as("reader").rest.pulls.createReviewComment({
      ...repo,
      pull_number: number,
      in_reply_to: reply.id,
      body: "Thanks",
      // Octokit's types want these; with in_reply_to GitHub ignores them.
      commit_id: head,
      path: "elsewhere.txt",
    });
    expect([reply.in_reply_to_id, again.in_reply_to_id]).toEqual([first.id, first.id]);
    expect(again).toMatchObject({ path: "notes.txt", line: 21, diff_hunk: first.diff_hunk });
    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual([
      "pull_request_review_comment.created",
      "pull_request_review.submitted",
      "pull_request_review_comment.created",
      "pull_request_review.submitted",
      "pull_request_review_comment.created",
      "pull_request_review.submitted",
    ]);
    expect(
      await statusOf(
        as("reader").rest.pulls.createReviewComment({
          ...repo,
          pull_number: number,
          commit_id: "f".repeat(40),
          path: "notes.txt",
          line: 21,
          body: "Elsewhere",
        }),
      ),
    ).toBe(422);
  });

  it("takes reactions on a review comment like on an issue comment: 201, then 200 for the same one again", async () => {
    const { repo, number, head } = await pullWithDiff();
    const { data: comment } = await as("maintainer").rest.pulls.createReviewComment({
      ...repo,
      pull_number: number,
      commit_id: head,
      path: "notes.txt",
      line: 4,
      body: "/drover hint keep it lower case",
    });
    const { client: app } = await t.installation();
    const eyes = await app.rest.reactions.createForPullRequestReviewComment({
      ...repo,
      comment_id: comment.id,
      content: "eyes",
    });
    expect(eyes.status).toBe(201);
    expect(eyes.data).toMatchObject({ content: "eyes", user: { login: `${t.sandbox.appSlug}[bot]` } });
    const again = await app.rest.reactions.createForPullRequestReviewComment({
      ...repo,
      comment_id: comment.id,
      content: "eyes",
    });
    expect([again.status, again.data.id]).toEqual([200, eyes.data.id]);
    await app.rest.reactions.createForPullRequestReviewComment({
      ...repo,
      comment_id: comment.id,
      content: "rocket",
    });
    const { data: listed } = await as("reader").rest.reactions.listForPullRequestReviewComment({
      ...repo,
      comment_id: comment.id,
    });
    expect(listed.map((r) => r.content)).toEqual(["eyes", "rocket"]);
    const { data: read } = await as("reader").rest.pulls.getReviewComment({
      ...repo,
      comment_id: comment.id,
    });
    expect(read.reactions).toMatchObject({ total_count: 2, eyes: 1, rocket: 1 });
    await app.rest.reactions.deleteForPullRequestComment({
      ...repo,
      comment_id: comment.id,
      reaction_id: eyes.data.id,
    });
    const { data: left } = await as("reader").rest.reactions.listForPullRequestReviewComment({
      ...repo,
      comment_id: comment.id,
    });
    expect(left.map((r) => r.content)).toEqual(["rocket"]);
  });
});

describe("labels on a pull request", () => {
  it("are added through the issues endpoints, show on the pull request and send pull_request.labeled", async () => {
    const { repo, number } = await pullWithDiff();
    const from = await t.mark();
    const { client: app } = await t.installation();
    await app.rest.issues.addLabels({ ...repo, issue_number: number, labels: ["drover", "automerge"] });
    const { data: pull } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(pull.labels.map((l) => l.name)).toEqual(["drover", "automerge"]);
    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual(["pull_request.labeled", "pull_request.labeled"]);
    expect(hooks[0]?.payload).toMatchObject({ number, label: { name: "drover" } });
  });
});

const ENABLE = `mutation Enable($id: ID!, $mergeMethod: PullRequestMergeMethod) {
  enablePullRequestAutoMerge(input: { pullRequestId: $id, mergeMethod: $mergeMethod }) {
    __typename
    pullRequest { number autoMergeRequest { enabledAt mergeMethod enabledBy { __typename login } } }
  }
}`;

type GraphqlFailure = { errors: { message: string; type: string }[] };

/** What a GraphQL request that GitHub refuses answers: its errors (Octokit throws them). */
async function refusal(call: Promise<unknown>): Promise<GraphqlFailure["errors"]> {
  try {
    await call;
  } catch (error) {
    const errors = (error as Partial<GraphqlFailure>).errors;
    if (errors) return errors;
    throw error;
  }
  throw new Error("the GraphQL request succeeded");
}

describe("auto-merge", () => {
  /** A pull request with Drover's check run in progress on its head. */
  async function pending() {
    const made = await pullWithDiff();
    const { client: app } = await t.installation();
    const { data: run } = await app.rest.checks.create({
      ...made.repo,
      head_sha: made.head,
      name: "Drover",
      status: "in_progress",
    });
    const { data: pull } = await as("reader").rest.pulls.get({ ...made.repo, pull_number: made.number });
    return { ...made, app, run, nodeId: pull.node_id };
  }

  it("is enabled through GraphQL and merges as the enabler once the check run passes", async () => {
    const { repo, number, app, run, nodeId } = await pending();
    const answer = await app.graphql<{
      enablePullRequestAutoMerge: {
        pullRequest: {
          number: number;
          autoMergeRequest: { mergeMethod: string; enabledBy: { login: string } };
        };
      };
    }>(ENABLE, { id: nodeId, mergeMethod: "SQUASH" });
    expect(answer.enablePullRequestAutoMerge).toMatchObject({
      __typename: "EnablePullRequestAutoMergePayload",
      pullRequest: {
        number,
        autoMergeRequest: {
          mergeMethod: "SQUASH",
          enabledBy: { __typename: "Bot", login: `${t.sandbox.appSlug}[bot]` },
        },
      },
    });
    const { data: enabled } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(enabled.auto_merge).toMatchObject({
      merge_method: "squash",
      enabled_by: { login: `${t.sandbox.appSlug}[bot]` },
      commit_title: `Change notes (#${number})`,
    });
    assertMatchesOperation({
      method: "GET",
      path: "/repos/{owner}/{repo}/pulls/{pull_number}",
      status: 200,
      body: enabled,
    });

    const from = await t.mark();
    await app.rest.checks.update({ ...repo, check_run_id: run.id, conclusion: "success" });
    const { data: merged } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(merged).toMatchObject({ merged: true, merged_by: { login: `${t.sandbox.appSlug}[bot]` } });
    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual(["pull_request.closed", "push"]);
    expect(hooks[0]?.payload).toMatchObject({ pull_request: { merged: true } });
  });

  it("waits while a reviewer's latest verdict requests changes, and merges when they approve", async () => {
    const { repo, number, app, run, nodeId } = await pending();
    await as("maintainer").graphql(ENABLE, { id: nodeId });
    await as("maintainer").rest.pulls.createReview({
      ...repo,
      pull_number: number,
      event: "REQUEST_CHANGES",
      body: "Not yet",
    });
    await as("maintainer").rest.pulls.createReview({
      ...repo,
      pull_number: number,
      event: "COMMENT",
      body: "Still no",
    });
    await app.rest.checks.update({ ...repo, check_run_id: run.id, conclusion: "success" });
    const { data: waiting } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(waiting).toMatchObject({
      merged: false,
      state: "open",
      mergeable_state: "blocked",
      auto_merge: { merge_method: "merge" },
    });

    await as("maintainer").rest.pulls.createReview({ ...repo, pull_number: number, event: "APPROVE" });
    const { data: merged } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(merged).toMatchObject({ merged: true, merged_by: { login: "maintainer" } });
  });

  it("waits while a check run fails, and counts neutral as passing, as GitHub does for required checks", async () => {
    const { repo, number, head, app, run, nodeId } = await pending();
    await app.graphql(ENABLE, { id: nodeId });
    await app.rest.checks.create({ ...repo, head_sha: head, name: "Lint", conclusion: "failure" });
    await app.rest.checks.update({ ...repo, check_run_id: run.id, conclusion: "success" });
    const { data: waiting } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(waiting.merged).toBe(false);
    // The latest run of a name is the one that counts.
    await app.rest.checks.create({ ...repo, head_sha: head, name: "Lint", conclusion: "neutral" });
    const { data: merged } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(merged.merged).toBe(true);
    const anonymous = await fetch(t.sandbox.urls.graphql, {
      method: "POST",
      body: JSON.stringify({ query: ENABLE }),
    });
    expect(anonymous.status).toBe(401);
    // Where github.com takes it too: POST /graphql under the REST root.
    const { data } = await app.request("POST /graphql", { query: ENABLE, variables: { id: nodeId } });
    expect(data).toMatchObject({
      errors: [{ type: "UNPROCESSABLE", message: expect.stringContaining("closed") }],
    });
  });

  it("stays on across a push to the head branch, and waits for a passing run on the new head", async () => {
    const { repo, number, work, app, run, nodeId } = await pending();
    await app.graphql(ENABLE, { id: nodeId });
    const from = await t.mark();
    const second = await work.commit({ "more.txt": "more\n" }, "More");
    await work.git("push", "--quiet", "origin", "feature");
    await t.delivery((d) => d.action === "synchronize", from);
    await app.rest.checks.update({ ...repo, check_run_id: run.id, conclusion: "success" });
    const { data: waiting } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(waiting.merged).toBe(false);
    expect(waiting.auto_merge).not.toBeNull();
    await app.rest.checks.create({ ...repo, head_sha: second, name: "Drover", conclusion: "success" });
    const { data: merged } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(merged.merged).toBe(true);
  });

  it("is refused where the repository does not allow it, saying so", async () => {
    const { repo, nodeId, number } = await pending();
    const { data: settings } = await as("maintainer").rest.repos.update({ ...repo, allow_auto_merge: false });
    expect(settings.allow_auto_merge).toBe(false);
    const errors = await refusal(as("maintainer").graphql(ENABLE, { id: nodeId }));
    expect(errors).toMatchObject([
      { type: "UNPROCESSABLE", message: "Pull request Auto merge is not allowed for this repository" },
    ]);
    const { data: pull } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(pull.auto_merge).toBeNull();
    expect(await statusOf(as("developer").rest.repos.update({ ...repo, allow_auto_merge: true }))).toBe(403);
  });

  it("answers errors for an unknown pull request, a draft, nothing left to wait for, and what it does not implement", async () => {
    const { repo, number, app, run, nodeId } = await pending();
    const unknown = Buffer.from("0:PullRequest999999999").toString("base64");
    expect(await refusal(app.graphql(ENABLE, { id: unknown }))).toMatchObject([
      { type: "NOT_FOUND", message: `Could not resolve to a node with the global id of '${unknown}'.` },
    ]);
    expect(await refusal(as("reader").graphql(ENABLE, { id: nodeId }))).toMatchObject([
      { type: "FORBIDDEN" },
    ]);
    expect(await refusal(app.graphql("query { viewer { login } }"))).toMatchObject([
      { type: "NOT_IMPLEMENTED", message: expect.stringContaining("enablePullRequestAutoMerge") },
    ]);
    expect(
      await refusal(
        app.graphql(
          `mutation($id: ID!) { mergePullRequest(input: {pullRequestId: $id}) { clientMutationId } }`,
          {
            id: nodeId,
          },
        ),
      ),
    ).toMatchObject([{ type: "NOT_IMPLEMENTED", message: expect.stringContaining("mergePullRequest") }]);
    expect(
      await refusal(
        app.graphql(
          `mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id}) { pullRequest { mergeStateStatus } } }`,
          { id: nodeId },
        ),
      ),
    ).toMatchObject([{ type: "UNDEFINED_FIELD", message: expect.stringContaining("mergeStateStatus") }]);

    await app.rest.checks.update({ ...repo, check_run_id: run.id, conclusion: "success" });
    const { data: clean } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(clean.mergeable_state).toBe("clean");
    expect(await refusal(app.graphql(ENABLE, { id: nodeId }))).toMatchObject([
      { type: "UNPROCESSABLE", message: "Pull request Pull request is in clean status" },
    ]);

    const work = await cloneRepo(t.sandbox, repo, t.sandbox.token("developer"));
    clones.push(work);
    await work.git("checkout", "--quiet", "-b", "draft");
    await work.commit({ "draft.txt": "draft\n" }, "Draft");
    await work.git("push", "--quiet", "origin", "draft");
    const { data: draft } = await as("developer").rest.pulls.create({
      ...repo,
      title: "Draft",
      head: "draft",
      base: "main",
      draft: true,
    });
    expect(await refusal(app.graphql(ENABLE, { id: draft.node_id }))).toMatchObject([
      { type: "UNPROCESSABLE", message: "Pull request Pull request is in draft state" },
    ]);
    const { data: pull } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(pull.merged).toBe(false);
  });

  it("is turned off again by disablePullRequestAutoMerge, with the webhooks for both", async () => {
    const { repo, number, app, run, nodeId } = await pending();
    const from = await t.mark();
    await app.graphql(ENABLE, { id: nodeId });
    const off = await app.graphql<{
      disablePullRequestAutoMerge: { pullRequest: { autoMergeRequest: null } };
    }>(
      `mutation($id: ID!) { disablePullRequestAutoMerge(input: {pullRequestId: $id}) { pullRequest { autoMergeRequest { enabledAt } } } }`,
      { id: nodeId },
    );
    expect(off.disablePullRequestAutoMerge.pullRequest.autoMergeRequest).toBeNull();
    await app.rest.checks.update({ ...repo, check_run_id: run.id, conclusion: "success" });
    const { data: pull } = await as("reader").rest.pulls.get({ ...repo, pull_number: number });
    expect(pull).toMatchObject({ merged: false, auto_merge: null });
    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual(["pull_request.auto_merge_enabled", "pull_request.auto_merge_disabled"]);
    for (const hook of hooks) assertMatchesWebhook(hook.event, hook.payload);
  });
});
