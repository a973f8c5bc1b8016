import { actingAccount } from "../auth.ts";
import {
  addComment,
  addLabel,
  announceOpened,
  closeIssue,
  editIssue,
  removeLabel,
  reopenIssue,
  setLabels,
} from "../changes.ts";
import type { SandboxContext } from "../context.ts";
import {
  field,
  paginate,
  positiveInt,
  requireString,
  sinceOf,
  stateField,
  updatedSince,
  type ApiRequest,
  type Router,
} from "../router.ts";
import { comment as commentJson, issue as issueJson, issueEvent, label as labelJson } from "../shapes.ts";
import { deleteReaction, listReactions, react } from "../reactions.ts";
import { now, SandboxError, touch, type IssueRecord, type RepoRecord, type StateReason } from "../world.ts";

const STATE_REASONS = new Set<StateReason>(["completed", "not_planned", "reopened", "duplicate"]);

/** Issues, their labels, comments, reactions and timeline events. */
export function issueRoutes(router: Router, ctx: SandboxContext): void {
  const repoOf = (request: ApiRequest): RepoRecord =>
    ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
  const issueOf = (request: ApiRequest): IssueRecord =>
    ctx.world.issue(repoOf(request), positiveInt(request.params.issue_number, "issue"));
  const base = (repo: RepoRecord) => `${ctx.urls.api}/repos/${repo.fullName}`;

  router.add("GET", "/repos/{owner}/{repo}/issues", ({ actor, params, query }) => {
    const repo = ctx.visibleRepo(actor, params.owner, params.repo);
    const state = query.get("state") ?? "open";
    const wanted = (query.get("labels") ?? "")
      .split(",")
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean);
    const since = sinceOf(query);
    const sort = query.get("sort") ?? "created";
    const direction = query.get("direction") ?? "desc";
    const key = (issue: IssueRecord) =>
      sort === "updated" ? issue.updatedAt : sort === "comments" ? issue.comments.length : issue.createdAt;
    const issues = [...repo.issues.values()]
      .filter((issue) => state === "all" || issue.state === state)
      .filter((issue) => wanted.every((name) => issue.labels.some((l) => l.name.toLowerCase() === name)))
      .filter((issue) => updatedSince(issue.updatedAt, since))
      .sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        const order = x < y ? -1 : x > y ? 1 : a.number - b.number;
        return direction === "asc" ? order : -order;
      });
    const { page, headers } = paginate(issues, query, `${base(repo)}/issues`);
    return { status: 200, body: page.map((issue) => issueJson(ctx.urls, issue)), headers };
  });

  router.add("POST", "/repos/{owner}/{repo}/issues", ({ actor, params, body }) => {
    const repo = ctx.visibleRepo(actor, params.owner, params.repo);
    const author = actingAccount(actor);
    const title = requireString(body, "title", "Issue");
    const text = field(body, "body");
    const labels = field(body, "labels");
    const names = Array.isArray(labels) ? labelNames(labels) : [];
    const issue = ctx.world.createIssue(repo, author, {
      title,
      body: typeof text === "string" ? text : null,
    });
    // As on GitHub, labels from someone who may not triage are dropped without an error.
    announceOpened(ctx, issue, author, ctx.has(repo, author, "triage") ? names : []);
    return { status: 201, body: issueJson(ctx.urls, issue) };
  });

  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}", (request) => ({
    status: 200,
    body: issueJson(ctx.urls, issueOf(request)),
  }));

  router.add("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}", (request) => {
    const issue = issueOf(request);
    const sender = actingAccount(request.actor);
    const { body } = request;
    const own = issue.user.id === sender.id;
    if (!own) ctx.require(issue.repo, sender, "triage", "editing someone else's issue");
    // Everything is checked before anything changes: a refused edit changes nothing.
    const state = stateField(body, "Issue");
    const reason = field(body, "state_reason");
    if (reason !== undefined && reason !== null && !STATE_REASONS.has(reason as StateReason)) {
      throw new SandboxError(
        422,
        `Invalid request: state_reason ${JSON.stringify(reason)} is not one of ${[...STATE_REASONS].join(", ")}`,
      );
    }
    const labels = field(body, "labels");
    const names = Array.isArray(labels) ? labelNames(labels) : null;
    const title = field(body, "title");
    const text = field(body, "body");
    editIssue(
      ctx,
      issue,
      {
        ...(typeof title === "string" ? { title } : {}),
        ...(typeof text === "string" || text === null ? { body: text } : {}),
      },
      sender,
    );
    if (names && ctx.has(issue.repo, sender, "triage")) setLabels(ctx, issue, names, sender);
    if (state === "closed") closeIssue(ctx, issue, sender, (reason as StateReason | null) ?? "completed");
    if (state === "open") reopenIssue(ctx, issue, sender);
    return { status: 200, body: issueJson(ctx.urls, issue) };
  });

  // Labels on an issue.
  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels", (request) => {
    const issue = issueOf(request);
    const { page, headers } = paginate(
      issue.labels,
      request.query,
      `${base(issue.repo)}/issues/${issue.number}/labels`,
    );
    return { status: 200, body: page.map((l) => labelJson(ctx.urls, issue.repo, l)), headers };
  });
  const labelsBody = (body: unknown): string[] => {
    const list = Array.isArray(body) ? body : field(body, "labels");
    if (!Array.isArray(list)) {
      throw new SandboxError(422, 'Invalid request: send {"labels": ["name", ...]}', [
        { resource: "Label", field: "labels", code: "missing_field" },
      ]);
    }
    return labelNames(list);
  };
  router.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", (request) => {
    const issue = issueOf(request);
    const sender = actingAccount(request.actor);
    ctx.require(issue.repo, sender, "triage", "labelling");
    for (const name of labelsBody(request.body)) addLabel(ctx, issue, name, sender);
    return { status: 200, body: issue.labels.map((l) => labelJson(ctx.urls, issue.repo, l)) };
  });
  router.add("PUT", "/repos/{owner}/{repo}/issues/{issue_number}/labels", (request) => {
    const issue = issueOf(request);
    const sender = actingAccount(request.actor);
    ctx.require(issue.repo, sender, "triage", "labelling");
    setLabels(ctx, issue, labelsBody(request.body), sender);
    return { status: 200, body: issue.labels.map((l) => labelJson(ctx.urls, issue.repo, l)) };
  });
  router.add("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", (request) => {
    const issue = issueOf(request);
    const sender = actingAccount(request.actor);
    ctx.require(issue.repo, sender, "triage", "labelling");
    const name = (request.params.name ?? "").toLowerCase();
    const label = issue.labels.find((l) => l.name.toLowerCase() === name);
    if (!label) throw new SandboxError(404, "Label does not exist");
    removeLabel(ctx, issue, label, sender);
    return { status: 200, body: issue.labels.map((l) => labelJson(ctx.urls, issue.repo, l)) };
  });

  // Repository labels.
  router.add("GET", "/repos/{owner}/{repo}/labels", ({ actor, params, query }) => {
    const repo = ctx.visibleRepo(actor, params.owner, params.repo);
    const { page, headers } = paginate(repo.labels, query, `${base(repo)}/labels`);
    return { status: 200, body: page.map((l) => labelJson(ctx.urls, repo, l)), headers };
  });
  router.add("POST", "/repos/{owner}/{repo}/labels", ({ actor, params, body }) => {
    const repo = ctx.visibleRepo(actor, params.owner, params.repo);
    ctx.require(repo, actingAccount(actor), "write", "creating labels");
    const name = requireString(body, "name", "Label");
    if (repo.labels.some((l) => l.name.toLowerCase() === name.toLowerCase())) {
      throw new SandboxError(422, "Validation Failed", [
        { resource: "Label", field: "name", code: "already_exists" },
      ]);
    }
    const label = ctx.world.label(repo, name);
    const color = field(body, "color");
    if (typeof color === "string" && /^[0-9a-fA-F]{6}$/.test(color)) label.color = color.toLowerCase();
    const description = field(body, "description");
    if (typeof description === "string") label.description = description;
    return { status: 201, body: labelJson(ctx.urls, repo, label) };
  });

  // Comments.
  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", (request) => {
    const issue = issueOf(request);
    const since = sinceOf(request.query);
    const comments = issue.comments.filter((c) => updatedSince(c.updatedAt, since));
    const { page, headers } = paginate(
      comments,
      request.query,
      `${base(issue.repo)}/issues/${issue.number}/comments`,
    );
    return { status: 200, body: page.map((c) => commentJson(ctx.urls, c)), headers };
  });
  router.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", (request) => {
    const issue = issueOf(request);
    const comment = addComment(
      ctx,
      issue,
      requireString(request.body, "body", "IssueComment"),
      actingAccount(request.actor),
    );
    return {
      status: 201,
      body: commentJson(ctx.urls, comment),
      headers: { location: `${base(issue.repo)}/issues/comments/${comment.id}` },
    };
  });
  const commentOf = (request: ApiRequest) => {
    const repo = repoOf(request);
    const comment = ctx.world.commentsById.get(positiveInt(request.params.comment_id, "comment"));
    if (!comment || comment.issue.repo !== repo) throw new SandboxError(404, "Not Found");
    return comment;
  };
  router.add("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", (request) => ({
    status: 200,
    body: commentJson(ctx.urls, commentOf(request)),
  }));
  router.add("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", (request) => {
    const comment = commentOf(request);
    const sender = actingAccount(request.actor);
    if (comment.user.id !== sender.id)
      ctx.require(comment.issue.repo, sender, "write", "editing someone else's comment");
    const from = comment.body;
    comment.body = requireString(request.body, "body", "IssueComment");
    comment.updatedAt = now();
    touch(comment.issue);
    ctx.emit({
      event: "issue_comment",
      action: "edited",
      repo: comment.issue.repo,
      sender,
      fields: {
        changes: { body: { from } },
        issue: issueJson(ctx.urls, comment.issue),
        comment: commentJson(ctx.urls, comment),
      },
    });
    return { status: 200, body: commentJson(ctx.urls, comment) };
  });
  router.add("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}", (request) => {
    const comment = commentOf(request);
    const sender = actingAccount(request.actor);
    if (comment.user.id !== sender.id)
      ctx.require(comment.issue.repo, sender, "write", "deleting someone else's comment");
    comment.issue.comments = comment.issue.comments.filter((c) => c !== comment);
    ctx.world.commentsById.delete(comment.id);
    ctx.emit({
      event: "issue_comment",
      action: "deleted",
      repo: comment.issue.repo,
      sender,
      fields: { issue: issueJson(ctx.urls, comment.issue), comment: commentJson(ctx.urls, comment) },
    });
    return { status: 204 };
  });

  // Reactions (on issues and on comments).
  router.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/reactions", (request) =>
    react(ctx, request, issueOf(request)),
  );
  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/reactions", (request) => {
    const issue = issueOf(request);
    return listReactions(ctx, request, issue, `${base(issue.repo)}/issues/${issue.number}/reactions`);
  });
  router.add("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", (request) =>
    react(ctx, request, commentOf(request)),
  );
  router.add("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", (request) => {
    const comment = commentOf(request);
    return listReactions(
      ctx,
      request,
      comment,
      `${base(comment.issue.repo)}/issues/comments/${comment.id}/reactions`,
    );
  });
  router.add(
    "DELETE",
    "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}",
    (request) => {
      const comment = commentOf(request);
      return deleteReaction(ctx, request, comment, comment.issue.repo);
    },
  );

  // Timeline events.
  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/events", (request) => {
    const issue = issueOf(request);
    const { page, headers } = paginate(
      issue.events,
      request.query,
      `${base(issue.repo)}/issues/${issue.number}/events`,
    );
    return { status: 200, body: page.map((event) => issueEvent(ctx.urls, issue, event)), headers };
  });
}

function labelNames(list: unknown[]): string[] {
  return list.map((entry) => {
    const name = typeof entry === "string" ? entry : field(entry, "name");
    if (typeof name !== "string" || name.trim() === "") {
      throw new SandboxError(422, `Invalid request: label ${JSON.stringify(entry)} is not a name`);
    }
    return name.trim();
  });
}
