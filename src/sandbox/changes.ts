import type { SandboxContext } from "./context.ts";
import { comment as commentJson, issue as issueJson, label as labelJson, pullRequest } from "./shapes.ts";
import { now, touch, type Account, type IssueRecord, type LabelRecord, type StateReason } from "./world.ts";

/**
 * Changes to issues and pull requests that more than one endpoint makes, each with the webhook GitHub
 * sends for it. A pull request's own events go out as `pull_request`, an issue's as `issues`.
 */

function issueEvent(ctx: SandboxContext, issue: IssueRecord, sender: Account, action: string, extra = {}) {
  if (issue.pull) {
    ctx.emit({
      event: "pull_request",
      action,
      repo: issue.repo,
      sender,
      fields: {
        number: issue.number,
        pull_request: pullRequest(ctx.urls, issue.pull, ctx.openIssues(issue.repo)),
        ...extra,
      },
    });
  } else {
    ctx.emit({
      event: "issues",
      action,
      repo: issue.repo,
      sender,
      fields: { issue: issueJson(ctx.urls, issue), ...extra },
    });
  }
}

/**
 * A new issue: `opened` with the labels it was created with already on it, then `labeled` for each, as
 * GitHub sends them.
 */
export function announceOpened(
  ctx: SandboxContext,
  issue: IssueRecord,
  sender: Account,
  labelNames: string[] = [],
): void {
  const added: LabelRecord[] = [];
  for (const name of labelNames) {
    const label = ctx.world.label(issue.repo, name);
    if (issue.labels.includes(label)) continue;
    issue.labels.push(label);
    added.push(label);
    ctx.world.recordEvent(issue, sender, "labeled", label);
  }
  issueEvent(ctx, issue, sender, "opened");
  for (const label of added)
    issueEvent(ctx, issue, sender, "labeled", { label: labelJson(ctx.urls, issue.repo, label) });
}

export function addLabel(ctx: SandboxContext, issue: IssueRecord, name: string, sender: Account): void {
  const label = ctx.world.label(issue.repo, name);
  if (issue.labels.includes(label)) return;
  issue.labels.push(label);
  touch(issue);
  ctx.world.recordEvent(issue, sender, "labeled", label);
  issueEvent(ctx, issue, sender, "labeled", { label: labelJson(ctx.urls, issue.repo, label) });
}

export function removeLabel(ctx: SandboxContext, issue: IssueRecord, label: LabelRecord, sender: Account) {
  issue.labels = issue.labels.filter((l) => l !== label);
  touch(issue);
  ctx.world.recordEvent(issue, sender, "unlabeled", label);
  issueEvent(ctx, issue, sender, "unlabeled", { label: labelJson(ctx.urls, issue.repo, label) });
}

export function setLabels(ctx: SandboxContext, issue: IssueRecord, names: string[], sender: Account): void {
  const wanted = names.map((name) => ctx.world.label(issue.repo, name));
  for (const label of [...issue.labels]) if (!wanted.includes(label)) removeLabel(ctx, issue, label, sender);
  for (const label of wanted) addLabel(ctx, issue, label.name, sender);
}

export function closeIssue(
  ctx: SandboxContext,
  issue: IssueRecord,
  sender: Account,
  reason: StateReason = "completed",
): void {
  if (issue.state === "closed") return;
  issue.state = "closed";
  issue.stateReason = reason;
  issue.closedAt = now();
  issue.closedBy = sender;
  touch(issue);
  ctx.world.recordEvent(issue, sender, "closed");
  issueEvent(ctx, issue, sender, "closed");
}

export function reopenIssue(ctx: SandboxContext, issue: IssueRecord, sender: Account): void {
  if (issue.state === "open") return;
  issue.state = "open";
  issue.stateReason = "reopened";
  issue.closedAt = null;
  issue.closedBy = null;
  touch(issue);
  ctx.world.recordEvent(issue, sender, "reopened");
  issueEvent(ctx, issue, sender, "reopened");
}

/**
 * Edits title and body, and sends one `edited` webhook naming what changed: those and `also`, changes
 * already made (a pull request's `base`, see retarget.ts). Sends nothing when nothing changed.
 */
export function editIssue(
  ctx: SandboxContext,
  issue: IssueRecord,
  edit: { title?: string; body?: string | null },
  sender: Account,
  also: Record<string, unknown> = {},
): void {
  const changes: Record<string, unknown> = { ...also };
  if (edit.title !== undefined && edit.title !== issue.title) {
    changes.title = { from: issue.title };
    issue.title = edit.title;
  }
  if (edit.body !== undefined && edit.body !== issue.body) {
    changes.body = { from: issue.body };
    issue.body = edit.body;
  }
  if (Object.keys(changes).length === 0) return;
  touch(issue);
  issueEvent(ctx, issue, sender, "edited", { changes });
}

export function addComment(ctx: SandboxContext, issue: IssueRecord, body: string, sender: Account) {
  const comment = ctx.world.addComment(issue, sender, body);
  ctx.emit({
    event: "issue_comment",
    action: "created",
    repo: issue.repo,
    sender,
    fields: { issue: issueJson(ctx.urls, issue), comment: commentJson(ctx.urls, comment) },
  });
  return comment;
}
