import {
  IssueCommentCreated,
  ReviewCommentCreated,
  ReviewSubmitted,
  type Repository,
} from "../../src/intake/payloads.ts";
import type { ReactionTarget } from "../../src/github/reactions.ts";

/** Where a comment with `/drover` commands was written, and by whom: the three kinds read alike. */
export type CommentSource = {
  /** `dashboard`: a control used on the dashboard (jobs/control.ts), which has no comment to react to. */
  kind: "comment" | "review-comment" | "review" | "dashboard";
  id: number;
  body: string;
  author: { login: string; id: number; type: string };
  url: string;
  /** The issue or pull request it is on: replies go there. */
  number: number;
  /** Set when it is on a pull request: its task is the task whose pull request (or branch) this is. */
  pullRequest: { number: number; headRef: string } | null;
  /** Set when it is on an issue: what `/drover run` starts. */
  issue: {
    number: number;
    title: string;
    author: { login: string; id: number };
    state: "open" | "closed";
  } | null;
  repository: Repository;
  installationId: number;
  /** The comment the reactions go on; a review's body has none (it is answered by a reply). */
  reactTo: ReactionTarget | null;
};

/** The comment a `command` delivery carries, read through the payload's schema. */
export function commentSourceOf(event: string, payload: unknown): CommentSource {
  if (event === "pull_request_review_comment") {
    const p = ReviewCommentCreated.parse(payload);
    return {
      kind: "review-comment",
      id: p.comment.id,
      body: p.comment.body,
      author: p.comment.user,
      url: p.comment.html_url,
      number: p.pull_request.number,
      pullRequest: { number: p.pull_request.number, headRef: p.pull_request.head.ref },
      issue: null,
      repository: p.repository,
      installationId: p.installation.id,
      reactTo: { kind: "review-comment", id: p.comment.id },
    };
  }
  if (event === "pull_request_review") {
    const p = ReviewSubmitted.parse(payload);
    return {
      kind: "review",
      id: p.review.id,
      body: p.review.body,
      author: p.review.user,
      url: p.review.html_url,
      number: p.pull_request.number,
      pullRequest: { number: p.pull_request.number, headRef: p.pull_request.head.ref },
      issue: null,
      repository: p.repository,
      installationId: p.installation.id,
      reactTo: null,
    };
  }
  const p = IssueCommentCreated.parse(payload);
  const onPull = p.issue.pull_request !== undefined && p.issue.pull_request !== null;
  return {
    kind: "comment",
    id: p.comment.id,
    body: p.comment.body,
    author: p.comment.user,
    url: p.comment.html_url,
    number: p.issue.number,
    // An issue comment on a pull request names no branch: the task is found by the PR's number.
    pullRequest: onPull ? { number: p.issue.number, headRef: "" } : null,
    issue: onPull
      ? null
      : { number: p.issue.number, title: p.issue.title, author: p.issue.user, state: p.issue.state },
    repository: p.repository,
    installationId: p.installation.id,
    reactTo: { kind: "issue-comment", id: p.comment.id },
  };
}

/** The hint's `source_id`: the same comment delivered twice is recorded once. */
export function hintSourceId(source: CommentSource): string {
  return `${source.kind}:${source.id}`;
}
