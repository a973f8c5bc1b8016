import { changedFiles, commitLog } from "../git/history.ts";
import { isAncestor } from "../git/merge.ts";
import { resolveRef } from "../git/refs.ts";
import { workOutMergeable } from "../pull-state.ts";
import { retarget } from "../retarget.ts";
import { updatePullBranch } from "../update-branch.ts";
import { actingAccount } from "../auth.ts";
import { settleAutoMerge } from "../auto-merge.ts";
import { closeIssue, editIssue, reopenIssue } from "../changes.ts";
import type { SandboxContext } from "../context.ts";
import { emitPull, mergePull } from "../merging.ts";
import { addReviewComment, announceReview, placeComment, recordReview } from "../review-threads.ts";
import { reviewCommentRoutes } from "./review-comments.ts";
import {
  field,
  paginate,
  positiveInt,
  requireString,
  stateField,
  type ApiRequest,
  type Router,
} from "../router.ts";
import { pullRequest, pullRequestSimple, review as reviewJson, reviewComment } from "../shapes.ts";
import { SandboxError, type PullRecord } from "../world.ts";

const REVIEW_EVENTS = {
  APPROVE: "APPROVED",
  REQUEST_CHANGES: "CHANGES_REQUESTED",
  COMMENT: "COMMENTED",
} as const;

/**
 * Pull requests: open, list, read, edit (retarget included), merge (a real merge commit), update the
 * branch from base, reviews and their comments.
 */
export function pullRoutes(router: Router, ctx: SandboxContext): void {
  const pullOf = (request: ApiRequest): PullRecord => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    const pull = repo.issues.get(positiveInt(request.params.pull_number, "pull request"))?.pull;
    if (!pull) throw new SandboxError(404, "Not Found");
    return pull;
  };
  const json = (pull: PullRecord) => pullRequest(ctx.urls, pull, ctx.openIssues(pull.issue.repo));

  router.add("GET", "/repos/{owner}/{repo}/pulls", ({ actor, params, query }) => {
    const repo = ctx.visibleRepo(actor, params.owner, params.repo);
    const state = query.get("state") ?? "open";
    const head = query.get("head");
    const baseBranch = query.get("base");
    const pulls = [...repo.issues.values()]
      .flatMap((issue) => (issue.pull ? [issue.pull] : []))
      .filter((pull) => state === "all" || pull.issue.state === state)
      .filter((pull) => head === null || head === `${repo.owner.login}:${pull.head}` || head === pull.head)
      .filter((pull) => baseBranch === null || pull.base === baseBranch)
      .sort((a, b) => b.issue.number - a.issue.number);
    const { page, headers } = paginate(pulls, query, `${ctx.urls.api}/repos/${repo.fullName}/pulls`);
    const simple = (pull: PullRecord) => pullRequestSimple(ctx.urls, pull, ctx.openIssues(repo));
    return { status: 200, body: page.map(simple), headers };
  });

  router.add("POST", "/repos/{owner}/{repo}/pulls", async ({ actor, params, body }) => {
    const repo = ctx.visibleRepo(actor, params.owner, params.repo);
    const author = actingAccount(actor);
    ctx.require(repo, author, "write", "opening a pull request from a branch of this repository");
    const title = requireString(body, "title", "PullRequest");
    const headField = requireString(body, "head", "PullRequest");
    const base = requireString(body, "base", "PullRequest");
    const head = headField.includes(":") ? headField.slice(headField.indexOf(":") + 1) : headField;
    const bare = ctx.barePath(repo);
    const [headSha, baseSha] = await Promise.all([
      resolveRef(bare, `refs/heads/${head}`),
      resolveRef(bare, `refs/heads/${base}`),
    ]);
    const invalid = (fieldName: string, message: string) =>
      new SandboxError(422, `Validation Failed: ${message}`, [
        { resource: "PullRequest", field: fieldName, code: "invalid" },
      ]);
    if (!headSha) throw invalid("head", `head branch '${head}' does not exist`);
    if (!baseSha) throw invalid("base", `base branch '${base}' does not exist`);
    const open = [...repo.issues.values()].find(
      (i) => i.pull && i.state === "open" && i.pull.head === head && i.pull.base === base,
    );
    if (open) throw invalid("head", `A pull request already exists for ${repo.owner.login}:${head}.`);
    const [stats, commits] = await Promise.all([
      changedFiles(bare, baseSha, headSha),
      commitLog(bare, baseSha, headSha),
    ]);
    if (commits.length === 0) throw invalid("head", `No commits between ${base} and ${head}`);
    const text = field(body, "body");
    const issue = ctx.world.createIssue(repo, author, {
      title,
      body: typeof text === "string" ? text : null,
    });
    issue.pull = {
      issue,
      head,
      headSha,
      base,
      baseSha,
      draft: field(body, "draft") === true,
      merged: false,
      mergedAt: null,
      mergedBy: null,
      mergeCommitSha: null,
      reviews: [],
      comments: [],
      autoMerge: null,
      // Worked out when first asked for by number, as GitHub does (null in the answer and the webhook).
      mergeable: null,
      stats: { ...stats, commits: commits.length },
    };
    emitPull(ctx, issue.pull, "opened", author);
    return {
      status: 201,
      body: json(issue.pull),
      headers: { location: `${ctx.urls.api}/repos/${repo.fullName}/pulls/${issue.number}` },
    };
  });

  router.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", async (request) => ({
    status: 200,
    body: json(await workOutMergeable(ctx, pullOf(request))),
  }));

  router.add("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}", async (request) => {
    const pull = pullOf(request);
    const sender = actingAccount(request.actor);
    if (pull.issue.user.id !== sender.id)
      ctx.require(pull.issue.repo, sender, "write", "editing a pull request");
    const state = stateField(request.body, "PullRequest");
    const title = field(request.body, "title");
    const text = field(request.body, "body");
    const base = field(request.body, "base");
    if (base !== undefined && (typeof base !== "string" || base === ""))
      throw new SandboxError(422, 'Invalid request: "base" must be the name of a branch', [
        { resource: "PullRequest", field: "base", code: "invalid" },
      ]);
    const baseChange = base === undefined ? null : await retarget(ctx, pull, base);
    editIssue(
      ctx,
      pull.issue,
      {
        ...(typeof title === "string" ? { title } : {}),
        ...(typeof text === "string" || text === null ? { body: text } : {}),
      },
      sender,
      baseChange ? { base: baseChange } : {},
    );
    if (state === "closed" && !pull.merged) closeIssue(ctx, pull.issue, sender);
    if (state === "open" && !pull.merged) reopenIssue(ctx, pull.issue, sender);
    return { status: 200, body: json(await workOutMergeable(ctx, pull)) };
  });

  router.add("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", async (request) => {
    const pull = pullOf(request);
    const merger = actingAccount(request.actor);
    ctx.require(pull.issue.repo, merger, "write", "merging");
    const method = field(request.body, "merge_method") ?? "merge";
    if (method !== "merge" && method !== "squash") {
      throw new SandboxError(
        422,
        `Invalid request: merge_method ${JSON.stringify(method)}: the sandbox merges with "merge" or "squash"`,
      );
    }
    const sha = field(request.body, "sha");
    const title = field(request.body, "commit_title");
    const message = field(request.body, "commit_message");
    const { sha: merged } = await mergePull(ctx, pull, merger, {
      method,
      ...(typeof sha === "string" ? { sha } : {}),
      ...(typeof title === "string" ? { commitTitle: title } : {}),
      ...(typeof message === "string" ? { commitMessage: message } : {}),
    });
    return { status: 200, body: { sha: merged, merged: true, message: "Pull Request successfully merged" } };
  });

  router.add("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/update-branch", async (request) => {
    const pull = pullOf(request);
    const expected = field(request.body, "expected_head_sha");
    if (expected !== undefined && typeof expected !== "string")
      throw new SandboxError(422, 'Invalid request: "expected_head_sha" must be a commit sha', [
        { resource: "PullRequest", field: "expected_head_sha", code: "invalid" },
      ]);
    await updatePullBranch(ctx, pull, actingAccount(request.actor), expected);
    return { status: 202, body: { message: "Updating pull request branch.", url: json(pull).url } };
  });

  router.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", (request) => {
    const pull = pullOf(request);
    const { page, headers } = paginate(pull.reviews, request.query, `${json(pull).url as string}/reviews`);
    return { status: 200, body: page.map((r) => reviewJson(ctx.urls, pull, r)), headers };
  });

  const reviewOf = (request: ApiRequest) => {
    const pull = pullOf(request);
    const id = positiveInt(request.params.review_id, "review");
    const review = pull.reviews.find((r) => r.id === id);
    if (!review) throw new SandboxError(404, "Not Found");
    return { pull, review };
  };
  router.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}", (request) => {
    const { pull, review } = reviewOf(request);
    return { status: 200, body: reviewJson(ctx.urls, pull, review) };
  });
  router.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments", (request) => {
    const { pull, review } = reviewOf(request);
    const comments = pull.comments.filter((c) => c.review === review);
    const { page, headers } = paginate(
      comments,
      request.query,
      `${json(pull).url as string}/reviews/${review.id}/comments`,
    );
    return { status: 200, body: page.map((c) => reviewComment(ctx.urls, c)), headers };
  });

  /** A commit of the pull request (its head, or an earlier one on its branch), as a full sha. */
  const commitOf = async (pull: PullRecord, sha: string): Promise<string> => {
    const bare = ctx.barePath(pull.issue.repo);
    const found = /^[0-9a-f]{40}$/.test(sha) ? await resolveRef(bare, sha).catch(() => null) : null;
    if (found === null || !(await isAncestor(bare, found, pull.headSha))) {
      throw new SandboxError(422, `Unprocessable Entity: commit_id ${sha} is not part of the pull request`, [
        { resource: "PullRequestReviewComment", field: "commit_id", code: "invalid" },
      ]);
    }
    return found;
  };
  router.add("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", async (request) => {
    const pull = pullOf(request);
    const reviewer = actingAccount(request.actor);
    const event = field(request.body, "event");
    if (typeof event !== "string" || !(event in REVIEW_EVENTS)) {
      throw new SandboxError(
        422,
        `Invalid request: event must be one of ${Object.keys(REVIEW_EVENTS).join(", ")} (the sandbox has no pending reviews)`,
      );
    }
    if (event !== "COMMENT" && reviewer.id === pull.issue.user.id) {
      throw new SandboxError(
        422,
        "Unprocessable Entity: Can not approve or request changes on your own pull request",
      );
    }
    const text = field(request.body, "body");
    const list = field(request.body, "comments") ?? [];
    if (!Array.isArray(list))
      throw new SandboxError(422, 'Invalid request: "comments" must be a list of {path, line, body}');
    if (event === "REQUEST_CHANGES" && (typeof text !== "string" || text === ""))
      throw new SandboxError(422, `Unprocessable Entity: a ${event} review needs a body`);
    if (event === "COMMENT" && (typeof text !== "string" || text === "") && list.length === 0)
      throw new SandboxError(422, `Unprocessable Entity: a ${event} review needs a body or comments`);
    // Everything is checked before anything is recorded: a refused review leaves no trace.
    const commitField = field(request.body, "commit_id");
    let commitId = pull.headSha;
    const placed = [];
    try {
      if (typeof commitField === "string") commitId = await commitOf(pull, commitField);
      for (const [index, entry] of list.entries())
        placed.push(await placeComment(ctx, pull, entry, commitId, `comments[${index}]`));
    } catch (error) {
      // A review's refusals list sentences, not fields (GitHub's validation-error-simple).
      if (!(error instanceof SandboxError)) throw error;
      throw new SandboxError(error.status, error.message, [
        error.message.replace(/^Unprocessable Entity: /, ""),
      ]);
    }
    const record = recordReview(
      ctx,
      pull,
      reviewer,
      REVIEW_EVENTS[event as keyof typeof REVIEW_EVENTS],
      typeof text === "string" ? text : "",
      commitId,
    );
    for (const comment of placed) addReviewComment(ctx, record, pull, comment);
    announceReview(ctx, pull, record);
    await settleAutoMerge(ctx, pull.issue.repo);
    return { status: 200, body: reviewJson(ctx.urls, pull, record) };
  });

  reviewCommentRoutes(router, ctx, pullOf, commitOf);
}
