import { actingAccount } from "../auth.ts";
import type { SandboxContext } from "../context.ts";
import { deleteReaction, listReactions, react } from "../reactions.ts";
import { addReviewComment, announceReview, placeComment, recordReview, replyTo } from "../review-threads.ts";
import {
  field,
  paginate,
  positiveInt,
  requireString,
  sinceOf,
  updatedSince,
  type ApiRequest,
  type Router,
} from "../router.ts";
import { reviewComment } from "../shapes.ts";
import { SandboxError, type PullRecord } from "../world.ts";

/**
 * Review comments outside a review: a lone comment on a line, replies to a thread, reading them, and
 * their reactions. Anyone who can see the repository may comment, as on GitHub.
 */
export function reviewCommentRoutes(
  router: Router,
  ctx: SandboxContext,
  pullOf: (request: ApiRequest) => PullRecord,
  commitOf: (pull: PullRecord, sha: string) => Promise<string>,
): void {
  const apiOf = (pull: PullRecord) => `${ctx.urls.api}/repos/${pull.issue.repo.fullName}`;
  const commentOf = (request: ApiRequest) => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    const comment = ctx.world.reviewCommentsById.get(positiveInt(request.params.comment_id, "comment"));
    if (!comment || comment.pull.issue.repo !== repo) throw new SandboxError(404, "Not Found");
    return comment;
  };
  const created = (comment: ReturnType<typeof commentOf>) => ({
    status: 201,
    body: reviewComment(ctx.urls, comment),
    headers: { location: `${apiOf(comment.pull)}/pulls/comments/${comment.id}` },
  });

  router.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments", (request) => {
    const pull = pullOf(request);
    const since = sinceOf(request.query);
    const newestFirst = request.query.get("direction") === "desc";
    const comments = pull.comments
      .filter((c) => updatedSince(c.updatedAt, since))
      .sort((a, b) => (newestFirst ? b.id - a.id : a.id - b.id));
    const { page, headers } = paginate(
      comments,
      request.query,
      `${apiOf(pull)}/pulls/${pull.issue.number}/comments`,
    );
    return { status: 200, body: page.map((c) => reviewComment(ctx.urls, c)), headers };
  });

  router.add("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments", async (request) => {
    const pull = pullOf(request);
    const author = actingAccount(request.actor);
    const body = requireString(request.body, "body", "PullRequestReviewComment");
    const inReplyTo = field(request.body, "in_reply_to");
    if (inReplyTo !== undefined) {
      // GitHub ignores every other field of a reply.
      const to = typeof inReplyTo === "number" ? ctx.world.reviewCommentsById.get(inReplyTo) : undefined;
      if (!to || to.pull !== pull)
        throw new SandboxError(
          422,
          "Unprocessable Entity: in_reply_to is not a review comment of this pull request",
          [{ resource: "PullRequestReviewComment", field: "in_reply_to", code: "invalid" }],
        );
      return created(replyTo(ctx, to, author, body));
    }
    const commitId = requireString(request.body, "commit_id", "PullRequestReviewComment");
    const placed = await placeComment(ctx, pull, request.body, await commitOf(pull, commitId), "comment");
    const review = recordReview(ctx, pull, author, "COMMENTED", "", placed.commitId);
    const comment = addReviewComment(ctx, review, pull, placed);
    announceReview(ctx, pull, review);
    return created(comment);
  });

  router.add("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies", (request) => {
    const pull = pullOf(request);
    const to = commentOf(request);
    if (to.pull !== pull) throw new SandboxError(404, "Not Found");
    const body = requireString(request.body, "body", "PullRequestReviewComment");
    return created(replyTo(ctx, to, actingAccount(request.actor), body));
  });

  router.add("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}", (request) => ({
    status: 200,
    body: reviewComment(ctx.urls, commentOf(request)),
  }));

  router.add("POST", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions", (request) =>
    react(ctx, request, commentOf(request)),
  );
  router.add("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions", (request) => {
    const comment = commentOf(request);
    return listReactions(
      ctx,
      request,
      comment,
      `${apiOf(comment.pull)}/pulls/comments/${comment.id}/reactions`,
    );
  });
  router.add(
    "DELETE",
    "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions/{reaction_id}",
    (request) => {
      const comment = commentOf(request);
      return deleteReaction(ctx, request, comment, comment.pull.issue.repo);
    },
  );
}
