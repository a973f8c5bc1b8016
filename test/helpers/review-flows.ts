import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import nock from "nock";
import * as shapes from "../../src/sandbox/shapes.ts";
import type { Account } from "../../src/sandbox/world.ts";
import { GITHUB_API } from "./github.ts";
import { REPO_PATH, type Scope } from "./github-flows.ts";
import { OCTO_REPO, type TestRepo, type TestUser } from "./payloads.ts";

/** Reviews of Drover's pull requests, for the review and publish tests: webhooks, REST and GraphQL replies. */

type Json = Record<string, unknown>;
const URLS: shapes.Urls = { web: "https://github.com", api: "https://api.github.com" };
const AT = "2026-11-02T10:00:00Z";

function account(who: TestUser): Account {
  return {
    id: who.id,
    login: who.login,
    type: who.type ?? "User",
    name: null,
    token: null,
    permission: "write",
  };
}

export type TestReview = {
  id: number;
  state: "changes_requested" | "approved" | "commented";
  body?: string;
  by: TestUser;
  pr: number;
  headRef: string;
  headSha?: string;
  at?: string;
};

export function reviewUrl(pr: number, reviewId: number, repo = OCTO_REPO.fullName): string {
  return `https://github.com/${repo}/pull/${pr}#pullrequestreview-${reviewId}`;
}

/** A `pull_request_review.submitted` webhook (GitHub's example, with the fields a test names). */
export function reviewSubmitted(review: TestReview, repo: TestRepo = OCTO_REPO): Json {
  const group = (examples as { name: string; examples: Json[] }[]).find(
    (e) => e.name === "pull_request_review",
  );
  const example = group?.examples.find((e) => e.action === "submitted");
  if (!example) throw new Error("no pull_request_review.submitted example in @octokit/webhooks-examples");
  const p = structuredClone(example);
  const [owner, name] = repo.fullName.split("/");
  const base = p.review as Json;
  const pull = p.pull_request as Json;
  const user = (who: TestUser, was: unknown) => ({
    ...(was as Json),
    login: who.login,
    id: who.id,
    type: who.type ?? "User",
  });
  const headSha = review.headSha ?? "1".repeat(40);
  return {
    ...p,
    review: {
      ...base,
      id: review.id,
      body: review.body ?? null,
      state: review.state,
      user: user(review.by, base.user),
      html_url: reviewUrl(review.pr, review.id, repo.fullName),
      submitted_at: review.at ?? AT,
      commit_id: headSha,
    },
    pull_request: {
      ...pull,
      number: review.pr,
      html_url: `https://github.com/${repo.fullName}/pull/${review.pr}`,
      head: { ...(pull.head as Json), ref: review.headRef, sha: headSha },
    },
    repository: {
      ...(p.repository as Json),
      id: repo.id,
      name,
      full_name: repo.fullName,
      clone_url: repo.cloneUrl,
      default_branch: repo.defaultBranch,
      owner: { ...((p.repository as Json).owner as Json), login: owner },
    },
    sender: user(review.by, p.sender),
    installation: { id: repo.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=" },
  };
}

export type TestReviewComment = {
  id: number;
  body: string;
  path: string;
  line: number;
  diffHunk: string;
  by: TestUser;
};

/** One inline comment of review `reviewId` on pull request `pr`, as GitHub lists a review's comments. */
export function reviewCommentReply(comment: TestReviewComment, pr: number, reviewId: number): Json {
  const api = `${URLS.api}/repos/${OCTO_REPO.fullName}/pulls`;
  const html = `${URLS.web}/${OCTO_REPO.fullName}/pull/${pr}#discussion_r${comment.id}`;
  return {
    url: `${api}/comments/${comment.id}`,
    pull_request_review_id: reviewId,
    id: comment.id,
    node_id: shapes.nodeId("PullRequestReviewComment", comment.id),
    diff_hunk: comment.diffHunk,
    path: comment.path,
    position: comment.line,
    original_position: comment.line,
    commit_id: "1".repeat(40),
    original_commit_id: "1".repeat(40),
    user: shapes.user(URLS, account(comment.by)),
    body: comment.body,
    created_at: AT,
    updated_at: AT,
    html_url: html,
    pull_request_url: `${api}/${pr}`,
    author_association: "MEMBER",
    _links: {
      self: { href: `${api}/comments/${comment.id}` },
      html: { href: html },
      pull_request: { href: `${api}/${pr}` },
    },
    side: "RIGHT",
    line: comment.line,
    original_line: comment.line,
    subject_type: "line",
  };
}

/** GET a review's inline comments. */
export function mockReviewComments(
  scope: Scope,
  input: { pr: number; reviewId: number; comments: TestReviewComment[] },
): void {
  scope
    .get(`${REPO_PATH}/pulls/${input.pr}/reviews/${input.reviewId}/comments`)
    .query(true)
    .reply(
      200,
      input.comments.map((c) => reviewCommentReply(c, input.pr, input.reviewId)),
    );
}

/** One review as GET /pulls/{n}/reviews lists it (state in upper case, as the REST API gives it). */
export function reviewListItem(input: {
  id: number;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED";
  by: TestUser;
  pr: number;
}): Json {
  const api = `${URLS.api}/repos/${OCTO_REPO.fullName}/pulls/${input.pr}`;
  const html = `${URLS.web}/${OCTO_REPO.fullName}/pull/${input.pr}`;
  return {
    id: input.id,
    node_id: shapes.nodeId("PullRequestReview", input.id),
    user: shapes.user(URLS, account(input.by)),
    body: "",
    state: input.state,
    html_url: `${html}#pullrequestreview-${input.id}`,
    pull_request_url: api,
    _links: { html: { href: html }, pull_request: { href: api } },
    submitted_at: AT,
    commit_id: "1".repeat(40),
    author_association: "MEMBER",
  };
}

/**
 * GitHub's GraphQL endpoint, which the REST description (and so `useGitHubMock`'s check) does not cover:
 * answered as GitHub documents it, `data` and, for a refusal, `errors` with an HTTP 200. Records each
 * query's variables. `isDone()` tells whether every reply was used.
 */
export function mockGraphql(replies: Json[]): { variables: Json[]; scope: nock.Scope } {
  const variables: Json[] = [];
  const scope = nock(GITHUB_API);
  for (const reply of replies) {
    scope.post("/graphql").reply(200, (_uri, body) => {
      variables.push(((body as { variables?: Json }).variables ?? {}) as Json);
      return reply;
    });
  }
  return { variables, scope };
}

/** enablePullRequestAutoMerge as GitHub answers it when auto-merge is turned on. */
export function autoMergeEnabled(pr: number): Json {
  return {
    data: {
      enablePullRequestAutoMerge: {
        pullRequest: { number: pr, autoMergeRequest: { enabledAt: AT } },
      },
    },
  };
}

/** enablePullRequestAutoMerge refused (the repository does not allow auto-merge, or the PR is clean). */
export function autoMergeRefused(
  message = "Pull request Auto merge is not allowed for this repository",
): Json {
  return {
    data: { enablePullRequestAutoMerge: null },
    errors: [
      {
        type: "UNPROCESSABLE",
        path: ["enablePullRequestAutoMerge"],
        locations: [{ line: 2, column: 3 }],
        message,
      },
    ],
  };
}
