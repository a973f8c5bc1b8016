import { describe, expect, it } from "vitest";
import {
  pullReply,
  reactionReply,
  reviewCommentReply,
  reviewReply,
  TEST_BOT,
} from "../../helpers/github-replies.ts";
import { assertMatchesOperation } from "../../helpers/openapi.ts";
import { AUTHOR, MAINTAINER } from "../../helpers/payloads.ts";

/**
 * The reply builders nock-based tests answer with (test/helpers/github-replies.ts) are what GitHub's
 * description says each operation answers, as the sandbox's own answers are.
 */

const PULL = { number: 7, head: "drover/3-fix", by: TEST_BOT };
const REVIEW = { id: 91, pull: PULL, by: MAINTAINER, state: "CHANGES_REQUESTED", body: "Not yet" } as const;

describe("reply builders", () => {
  it("build a pull request with auto-merge on as GitHub answers GET of one", () => {
    const body = pullReply({ ...PULL, labels: ["drover"], autoMerge: { method: "squash" } });
    assertMatchesOperation({
      method: "GET",
      path: "/repos/{owner}/{repo}/pulls/{pull_number}",
      status: 200,
      body,
    });
    expect(body.auto_merge).toMatchObject({ merge_method: "squash", enabled_by: { login: TEST_BOT.login } });
    expect(pullReply(PULL).auto_merge).toBeNull();
  });

  it("build a review and its comments as GitHub answers them", () => {
    const review = reviewReply(REVIEW);
    assertMatchesOperation({
      method: "POST",
      path: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
      status: 200,
      body: review,
    });
    expect(review).toMatchObject({ state: "CHANGES_REQUESTED", commit_id: "1".repeat(40) });
    const comment = reviewCommentReply({ id: 92, review: REVIEW, path: "src/a.ts", line: 3, body: "Why?" });
    assertMatchesOperation({
      method: "GET",
      path: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments",
      status: 200,
      body: [comment],
    });
    const reply = reviewCommentReply({
      id: 93,
      review: { ...REVIEW, id: 94, by: AUTHOR, state: "COMMENTED", body: "" },
      path: "src/a.ts",
      line: 3,
      body: "Because",
      inReplyTo: 92,
    });
    assertMatchesOperation({
      method: "POST",
      path: "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
      status: 201,
      body: reply,
    });
    expect(reply).toMatchObject({ in_reply_to_id: 92, pull_request_review_id: 94 });
  });

  it("build a reaction as GitHub answers creating one", () => {
    const body = reactionReply({ id: 5, content: "eyes", by: TEST_BOT });
    for (const path of [
      "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
      "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
    ])
      assertMatchesOperation({ method: "POST", path, status: 201, body });
  });
});
