import { fileDiff } from "./git/history.ts";
import { resolveRef } from "./git/refs.ts";
import type { SandboxContext } from "./context.ts";
import { locateLine, type Side } from "./diff-lines.ts";
import { field } from "./router.ts";
import { pullRequest, review as reviewJson, reviewComment } from "./shapes.ts";
import {
  now,
  SandboxError,
  touch,
  type Account,
  type PullRecord,
  type ReviewCommentRecord,
  type ReviewRecord,
} from "./world.ts";

/**
 * Reviews and their inline comments: where a comment sits in the pull request's diff, recording reviews
 * and comments, and the webhooks that follow (`pull_request_review_comment.created` for each comment, then
 * `pull_request_review.submitted`).
 */

/** A review comment's place, checked against the diff: everything but the review, author and reply. */
export type Placed = Pick<
  ReviewCommentRecord,
  "path" | "line" | "side" | "startLine" | "startSide" | "position" | "diffHunk" | "commitId" | "body"
>;

const invalid = (fieldName: string, message: string) =>
  new SandboxError(422, `Unprocessable Entity: ${message}`, [
    { resource: "PullRequestReviewComment", field: fieldName, code: "invalid" },
  ]);

function sideOf(value: unknown, name: string): Side | undefined {
  if (value === undefined) return undefined;
  if (value === "LEFT" || value === "RIGHT") return value;
  throw invalid(name, `${name} must be "LEFT" or "RIGHT", not ${JSON.stringify(value)}`);
}

/**
 * Checks one comment of a request (`{path, line, side?, start_line?, start_side?, body}`) against the
 * diff of the pull request at `commitId` and says where it sits; 422 naming the field when it does not.
 * `what` names it in messages ("comments[2]").
 */
export async function placeComment(
  ctx: SandboxContext,
  pull: PullRecord,
  input: unknown,
  commitId: string,
  what: string,
): Promise<Placed> {
  if (field(input, "position") !== undefined) {
    throw invalid(
      "position",
      `${what}: the sandbox takes "line" (and "side"), not the closing-down "position"`,
    );
  }
  if (field(input, "subject_type") === "file")
    throw invalid("subject_type", `${what}: the sandbox takes comments on lines, not on whole files`);
  const path = field(input, "path");
  const body = field(input, "body");
  const line = field(input, "line");
  const startLine = field(input, "start_line");
  if (typeof path !== "string" || path === "") throw invalid("path", `${what}: "path" is required`);
  if (typeof body !== "string" || body === "") throw invalid("body", `${what}: "body" is required`);
  if (typeof line !== "number" || !Number.isInteger(line) || line < 1)
    throw invalid("line", `${what}: "line" is required and must be a positive integer`);
  if (startLine !== undefined && (typeof startLine !== "number" || startLine < 1 || startLine >= line))
    throw invalid("start_line", `${what}: "start_line" must be a line before "line"`);
  const side = sideOf(field(input, "side"), "side") ?? "RIGHT";
  const startSide =
    startLine === undefined ? null : (sideOf(field(input, "start_side"), "start_side") ?? side);

  const bare = ctx.barePath(pull.issue.repo);
  const base = pull.merged
    ? pull.baseSha
    : ((await resolveRef(bare, `refs/heads/${pull.base}`)) ?? pull.baseSha);
  let patch: string;
  try {
    patch = await fileDiff(bare, base, commitId, path);
  } catch {
    throw invalid("path", `${what}: Pull request review thread path could not be resolved`);
  }
  if (patch === "") throw invalid("path", `${what}: ${path} is not part of the pull request's diff`);
  const at = locateLine(patch, line, side);
  if (!at) throw invalid("line", `${what}: Pull request review thread line must be part of the diff`);
  if (typeof startLine === "number" && !locateLine(patch, startLine, startSide ?? side))
    throw invalid("start_line", `${what}: Pull request review thread start line must be part of the diff`);
  return {
    path,
    line,
    side,
    startLine: typeof startLine === "number" ? startLine : null,
    startSide,
    position: at.position,
    diffHunk: at.diffHunk,
    commitId,
    body,
  };
}

/** Records a submitted review (no webhook yet: `announceReview` sends it after its comments'). */
export function recordReview(
  ctx: SandboxContext,
  pull: PullRecord,
  reviewer: Account,
  state: ReviewRecord["state"],
  body: string,
  commitId = pull.headSha,
): ReviewRecord {
  const record = { id: ctx.world.nextId(), user: reviewer, state, body, commitId, submittedAt: now() };
  pull.reviews.push(record);
  touch(pull.issue);
  return record;
}

/** Records a review comment and sends `pull_request_review_comment.created`. */
export function addReviewComment(
  ctx: SandboxContext,
  review: ReviewRecord,
  pull: PullRecord,
  placed: Placed,
  inReplyTo: ReviewCommentRecord | null = null,
): ReviewCommentRecord {
  const at = now();
  const record: ReviewCommentRecord = {
    ...placed,
    id: ctx.world.nextId(),
    pull,
    review,
    user: review.user,
    inReplyTo,
    createdAt: at,
    updatedAt: at,
    reactions: [],
  };
  pull.comments.push(record);
  ctx.world.reviewCommentsById.set(record.id, record);
  touch(pull.issue);
  ctx.emit({
    event: "pull_request_review_comment",
    action: "created",
    repo: pull.issue.repo,
    sender: review.user,
    fields: {
      comment: reviewComment(ctx.urls, record),
      pull_request: pullRequest(ctx.urls, pull, ctx.openIssues(pull.issue.repo)),
    },
  });
  return record;
}

/** Sends `pull_request_review.submitted` (state in lower case, as GitHub's webhooks carry it). */
export function announceReview(ctx: SandboxContext, pull: PullRecord, review: ReviewRecord): void {
  ctx.emit({
    event: "pull_request_review",
    action: "submitted",
    repo: pull.issue.repo,
    sender: review.user,
    fields: {
      review: reviewJson(ctx.urls, pull, review, { webhook: true }),
      pull_request: pullRequest(ctx.urls, pull, ctx.openIssues(pull.issue.repo)),
    },
  });
}

/**
 * A reply to `to`'s thread (GitHub files it under the thread's first comment), in a comment-only review
 * of its own, as GitHub does for a lone comment.
 */
export function replyTo(
  ctx: SandboxContext,
  to: ReviewCommentRecord,
  author: Account,
  body: string,
): ReviewCommentRecord {
  const root = to.inReplyTo ?? to;
  const review = recordReview(ctx, root.pull, author, "COMMENTED", "", root.commitId);
  const reply = addReviewComment(
    ctx,
    review,
    root.pull,
    {
      path: root.path,
      line: root.line,
      side: root.side,
      startLine: root.startLine,
      startSide: root.startSide,
      position: root.position,
      diffHunk: root.diffHunk,
      commitId: root.commitId,
      body,
    },
    root,
  );
  announceReview(ctx, root.pull, review);
  return reply;
}
