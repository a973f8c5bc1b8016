import { actingAccount } from "../auth.ts";
import type { SandboxContext } from "../context.ts";
import { field, paginate, positiveInt, requireNumber, type ApiRequest, type Router } from "../router.ts";
import { issue as issueJson } from "../shapes.ts";
import { SandboxError, touch, type Account, type IssueRecord } from "../world.ts";

/** GitHub allows this many "blocked by" links per issue, and this many sub-issues per parent. */
const MAX_BLOCKED_BY = 50;
const MAX_SUB_ISSUES = 100;

/** Native issue dependencies ("blocked by" / "blocking") and sub-issues, with both webhook families. */
export function linkRoutes(router: Router, ctx: SandboxContext): void {
  const issueOf = (request: ApiRequest): IssueRecord => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    return ctx.world.issue(repo, positiveInt(request.params.issue_number, "issue"));
  };
  /** Another issue by its database id, visible to the same caller. */
  const byId = (request: ApiRequest, id: number): IssueRecord => {
    const other = ctx.world.issuesById.get(id);
    if (!other) throw new SandboxError(404, `Not Found: no issue with id ${id}`);
    ctx.visibleRepo(request.actor, other.repo.owner.login, other.repo.name);
    return other;
  };
  const list = (request: ApiRequest, issues: IssueRecord[], suffix: string) => {
    const issue = issueOf(request);
    const url = `${ctx.urls.api}/repos/${issue.repo.fullName}/issues/${issue.number}/${suffix}`;
    const { page, headers } = paginate(issues, request.query, url);
    return { status: 200, body: page.map((i) => issueJson(ctx.urls, i)), headers };
  };

  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by", (request) =>
    list(request, issueOf(request).blockedBy, "dependencies/blocked_by"),
  );
  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocking", (request) => {
    const issue = issueOf(request);
    const blocking = [...ctx.world.issuesById.values()].filter((other) => other.blockedBy.includes(issue));
    return list(request, blocking, "dependencies/blocking");
  });

  router.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by", (request) => {
    const blocked = issueOf(request);
    const sender = actingAccount(request.actor);
    ctx.require(blocked.repo, sender, "triage", "adding dependencies");
    const blocking = byId(request, requireNumber(request.body, "issue_id", "IssueDependency"));
    if (blocking === blocked) throw new SandboxError(422, "Validation Failed: an issue cannot block itself");
    if (blocked.blockedBy.includes(blocking)) {
      throw new SandboxError(422, "Validation Failed: this dependency already exists", [
        { resource: "IssueDependency", field: "issue_id", code: "already_exists" },
      ]);
    }
    if (blocked.blockedBy.length >= MAX_BLOCKED_BY)
      throw new SandboxError(
        422,
        `Validation Failed: an issue can be blocked by at most ${MAX_BLOCKED_BY} issues`,
      );
    blocked.blockedBy.push(blocking);
    touch(blocked);
    dependencyEvents(ctx, "added", blocked, blocking, sender);
    return {
      status: 201,
      body: issueJson(ctx.urls, blocking),
      headers: {
        location: `${ctx.urls.api}/repos/${blocked.repo.fullName}/issues/${blocked.number}/dependencies/blocked_by`,
      },
    };
  });

  router.add(
    "DELETE",
    "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by/{issue_id}",
    (request) => {
      const blocked = issueOf(request);
      const sender = actingAccount(request.actor);
      ctx.require(blocked.repo, sender, "triage", "removing dependencies");
      const id = positiveInt(request.params.issue_id, "issue id");
      const blocking = blocked.blockedBy.find((other) => other.id === id);
      if (!blocking) throw new SandboxError(404, "Not Found: that issue does not block this one");
      blocked.blockedBy = blocked.blockedBy.filter((other) => other !== blocking);
      touch(blocked);
      dependencyEvents(ctx, "removed", blocked, blocking, sender);
      return { status: 200, body: issueJson(ctx.urls, blocking) };
    },
  );

  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues", (request) =>
    list(request, issueOf(request).subIssues, "sub_issues"),
  );
  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/parent", (request) => {
    const parent = issueOf(request).parent;
    if (!parent) throw new SandboxError(404, "Not Found: this issue has no parent");
    return { status: 200, body: issueJson(ctx.urls, parent) };
  });

  router.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues", (request) => {
    const parent = issueOf(request);
    const sender = actingAccount(request.actor);
    ctx.require(parent.repo, sender, "triage", "adding sub-issues");
    const child = byId(request, requireNumber(request.body, "sub_issue_id", "SubIssue"));
    if (child === parent || isAncestor(child, parent))
      throw new SandboxError(422, "Validation Failed: a sub-issue cannot contain its own parent");
    if (child.parent === parent) {
      throw new SandboxError(422, "Validation Failed: this issue is already a sub-issue of that parent");
    }
    if (child.parent) {
      if (field(request.body, "replace_parent") !== true)
        throw new SandboxError(
          422,
          "Validation Failed: the issue already has a parent; send replace_parent: true to move it",
        );
      detach(ctx, child.parent, child, sender);
    }
    if (parent.subIssues.length >= MAX_SUB_ISSUES)
      throw new SandboxError(
        422,
        `Validation Failed: a parent can have at most ${MAX_SUB_ISSUES} sub-issues`,
      );
    parent.subIssues.push(child);
    child.parent = parent;
    touch(parent);
    touch(child);
    subIssueEvents(ctx, "added", parent, child, sender);
    return { status: 201, body: issueJson(ctx.urls, parent) };
  });

  router.add("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issue", (request) => {
    const parent = issueOf(request);
    const sender = actingAccount(request.actor);
    ctx.require(parent.repo, sender, "triage", "removing sub-issues");
    const child = byId(request, requireNumber(request.body, "sub_issue_id", "SubIssue"));
    if (child.parent !== parent)
      throw new SandboxError(404, "Not Found: that issue is not a sub-issue of this one");
    detach(ctx, parent, child, sender);
    return { status: 200, body: issueJson(ctx.urls, parent) };
  });

  router.add("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues/priority", (request) => {
    const parent = issueOf(request);
    const sender = actingAccount(request.actor);
    ctx.require(parent.repo, sender, "triage", "reordering sub-issues");
    const child = byId(request, requireNumber(request.body, "sub_issue_id", "SubIssue"));
    if (child.parent !== parent)
      throw new SandboxError(404, "Not Found: that issue is not a sub-issue of this one");
    const after = field(request.body, "after_id");
    const before = field(request.body, "before_id");
    const rest = parent.subIssues.filter((c) => c !== child);
    const anchor = rest.findIndex((c) => c.id === (after ?? before));
    if (anchor === -1)
      throw new SandboxError(422, "Validation Failed: after_id or before_id must name another sub-issue");
    rest.splice(after !== undefined ? anchor + 1 : anchor, 0, child);
    parent.subIssues = rest;
    return { status: 200, body: issueJson(ctx.urls, parent) };
  });
}

function isAncestor(candidate: IssueRecord, issue: IssueRecord): boolean {
  for (let at = issue.parent; at; at = at.parent) if (at === candidate) return true;
  return false;
}

function detach(ctx: SandboxContext, parent: IssueRecord, child: IssueRecord, sender: Account): void {
  parent.subIssues = parent.subIssues.filter((c) => c !== child);
  child.parent = null;
  touch(parent);
  touch(child);
  subIssueEvents(ctx, "removed", parent, child, sender);
}

/** GitHub tells both sides: `blocked_by_*` on the blocked issue's repository, `blocking_*` on the blocker's. */
function dependencyEvents(
  ctx: SandboxContext,
  change: "added" | "removed",
  blocked: IssueRecord,
  blocking: IssueRecord,
  sender: Account,
): void {
  const common = {
    blocked_issue_id: blocked.id,
    blocked_issue: issueJson(ctx.urls, blocked),
    blocking_issue_id: blocking.id,
    blocking_issue: issueJson(ctx.urls, blocking),
  };
  ctx.emit({
    event: "issue_dependencies",
    action: `blocked_by_${change}`,
    repo: blocked.repo,
    sender,
    fields: { ...common, blocking_issue_repo: ctx.repoJson(blocking.repo) },
  });
  ctx.emit({
    event: "issue_dependencies",
    action: `blocking_${change}`,
    repo: blocking.repo,
    sender,
    fields: { ...common, blocked_issue_repo: ctx.repoJson(blocked.repo) },
  });
}

/** Both sides again: `sub_issue_*` on the parent's repository, `parent_issue_*` on the child's. */
function subIssueEvents(
  ctx: SandboxContext,
  change: "added" | "removed",
  parent: IssueRecord,
  child: IssueRecord,
  sender: Account,
): void {
  const common = {
    parent_issue_id: parent.id,
    parent_issue: issueJson(ctx.urls, parent),
    sub_issue_id: child.id,
    sub_issue: issueJson(ctx.urls, child),
  };
  ctx.emit({
    event: "sub_issues",
    action: `sub_issue_${change}`,
    repo: parent.repo,
    sender,
    fields: { ...common, sub_issue_repo: ctx.repoJson(child.repo) },
  });
  ctx.emit({
    event: "sub_issues",
    action: `parent_issue_${change}`,
    repo: child.repo,
    sender,
    fields: { ...common, parent_issue_repo: ctx.repoJson(parent.repo) },
  });
}
