import { changedFiles, commitLog } from "../git/history.ts";
import { isMergeable, mergeBranches } from "../git/merge.ts";
import { resolveRef } from "../git/refs.ts";
import { actingAccount } from "../auth.ts";
import { closeIssue, editIssue, reopenIssue } from "../changes.ts";
import type { SandboxContext } from "../context.ts";
import { announcePush } from "../pushes.ts";
import {
  field,
  paginate,
  positiveInt,
  requireString,
  stateField,
  type ApiRequest,
  type Router,
} from "../router.ts";
import { pullRequest, review as reviewJson } from "../shapes.ts";
import { now, SandboxError, touch, type IssueRecord, type PullRecord } from "../world.ts";

/** "Closes #3", "fixes #4", "Resolved #5": the issues a merged pull request closes (GitHub's keywords). */
export function closingReferences(text: string | null): number[] {
  const found = new Set<number>();
  for (const match of (text ?? "").matchAll(/\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+#(\d+)\b/gi))
    found.add(Number(match[1]));
  return [...found];
}

const REVIEW_EVENTS = {
  APPROVE: "APPROVED",
  REQUEST_CHANGES: "CHANGES_REQUESTED",
  COMMENT: "COMMENTED",
} as const;

/** Pull requests: open, list, read, edit, merge (a real merge commit), and reviews. */
export function pullRoutes(router: Router, ctx: SandboxContext): void {
  const pullOf = (request: ApiRequest): PullRecord => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    const pull = repo.issues.get(positiveInt(request.params.pull_number, "pull request"))?.pull;
    if (!pull) throw new SandboxError(404, "Not Found");
    return pull;
  };
  const json = (pull: PullRecord) => pullRequest(ctx.urls, pull, ctx.openIssues(pull.issue.repo));
  const emitPull = (pull: PullRecord, action: string, sender: IssueRecord["user"], extra = {}) =>
    ctx.emit({
      event: "pull_request",
      action,
      repo: pull.issue.repo,
      sender,
      fields: { number: pull.issue.number, pull_request: json(pull), ...extra },
    });

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
    return { status: 200, body: page.map(json), headers };
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
      mergeable: await isMergeable(bare, base, head),
      stats: { ...stats, commits: commits.length },
    };
    emitPull(issue.pull, "opened", author);
    return {
      status: 201,
      body: json(issue.pull),
      headers: { location: `${ctx.urls.api}/repos/${repo.fullName}/pulls/${issue.number}` },
    };
  });

  router.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", (request) => ({
    status: 200,
    body: json(pullOf(request)),
  }));

  router.add("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}", (request) => {
    const pull = pullOf(request);
    const sender = actingAccount(request.actor);
    if (pull.issue.user.id !== sender.id)
      ctx.require(pull.issue.repo, sender, "write", "editing a pull request");
    const state = stateField(request.body, "PullRequest");
    const title = field(request.body, "title");
    const text = field(request.body, "body");
    editIssue(
      ctx,
      pull.issue,
      {
        ...(typeof title === "string" ? { title } : {}),
        ...(typeof text === "string" || text === null ? { body: text } : {}),
      },
      sender,
    );
    if (state === "closed" && !pull.merged) closeIssue(ctx, pull.issue, sender);
    if (state === "open" && !pull.merged) reopenIssue(ctx, pull.issue, sender);
    return { status: 200, body: json(pull) };
  });

  router.add("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", async (request) => {
    const pull = pullOf(request);
    const repo = pull.issue.repo;
    const merger = actingAccount(request.actor);
    ctx.require(repo, merger, "write", "merging");
    if (pull.merged || pull.issue.state === "closed")
      throw new SandboxError(405, "Pull Request is not mergeable");
    if (pull.draft) throw new SandboxError(405, "Pull Request is still a draft");
    const method = field(request.body, "merge_method") ?? "merge";
    if (method !== "merge" && method !== "squash") {
      throw new SandboxError(
        422,
        `Invalid request: merge_method ${JSON.stringify(method)}: the sandbox merges with "merge" or "squash"`,
      );
    }
    const expected = field(request.body, "sha");
    if (typeof expected === "string" && expected !== pull.headSha)
      throw new SandboxError(409, "Head branch was modified. Review and try the merge again.");
    const titleField = field(request.body, "commit_title");
    const bare = ctx.barePath(repo);
    const before = await resolveRef(bare, `refs/heads/${pull.base}`);
    const result = await mergeBranches(bare, {
      base: pull.base,
      head: pull.head,
      squash: method === "squash",
      message:
        typeof titleField === "string"
          ? titleField
          : method === "squash"
            ? `${pull.issue.title} (#${pull.issue.number})`
            : `Merge pull request #${pull.issue.number} from ${repo.owner.login}/${pull.head}\n\n${pull.issue.title}`,
      committer: {
        name: merger.name ?? merger.login,
        email: `${merger.id}+${merger.login}@users.noreply.sandbox`,
      },
    });
    if (!result.merged) throw new SandboxError(405, `Pull Request is not mergeable: ${result.detail}`);

    pull.merged = true;
    pull.mergedAt = now();
    pull.mergedBy = merger;
    pull.mergeCommitSha = result.sha;
    pull.baseSha = before ?? pull.baseSha;
    pull.issue.state = "closed";
    pull.issue.closedAt = pull.mergedAt;
    pull.issue.closedBy = merger;
    touch(pull.issue);
    ctx.world.recordEvent(pull.issue, merger, "merged");
    ctx.world.recordEvent(pull.issue, merger, "closed");
    emitPull(pull, "closed", merger);
    repo.pushedAt = now();
    await announcePush(ctx, repo, merger, [{ ref: `refs/heads/${pull.base}`, before, after: result.sha }]);
    if (pull.base === repo.defaultBranch) {
      for (const number of closingReferences(pull.issue.body)) {
        const target = repo.issues.get(number);
        if (target && !target.pull) closeIssue(ctx, target, merger, "completed");
      }
    }
    return {
      status: 200,
      body: { sha: result.sha, merged: true, message: "Pull Request successfully merged" },
    };
  });

  router.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", (request) => {
    const pull = pullOf(request);
    return { status: 200, body: pull.reviews.map((r) => reviewJson(ctx.urls, pull, r)) };
  });

  router.add("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", (request) => {
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
    if (event !== "APPROVE" && (typeof text !== "string" || text === ""))
      throw new SandboxError(422, `Unprocessable Entity: a ${event} review needs a body`);
    const record = {
      id: ctx.world.nextId(),
      user: reviewer,
      state: REVIEW_EVENTS[event as keyof typeof REVIEW_EVENTS],
      body: typeof text === "string" ? text : "",
      commitId: pull.headSha,
      submittedAt: now(),
    };
    pull.reviews.push(record);
    touch(pull.issue);
    ctx.emit({
      event: "pull_request_review",
      action: "submitted",
      repo: pull.issue.repo,
      sender: reviewer,
      fields: { review: reviewJson(ctx.urls, pull, record), pull_request: json(pull) },
    });
    return { status: 200, body: reviewJson(ctx.urls, pull, record) };
  });
}
