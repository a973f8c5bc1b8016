import {
  addEdge,
  detachSubIssues,
  getIssue,
  removeEdge,
  replaceEdges,
  subIssuesOf,
  upsertIssue,
} from "../src/db/graph-rows.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import { closeDeliveryPending, getDelivery, type Delivery } from "../src/db/deliveries.ts";
import { withIssueLock } from "../src/db/issue-lock.ts";
import { findTaskByKey, transitionTask, updateTask, type Task } from "../src/db/tasks.ts";
import { taskConfig } from "../src/config/stored.ts";
import { parseBodyLinks } from "../src/graph/body-links.ts";
import { statesLeadingTo } from "../src/graph/transitions.ts";
import { issueKey, parseIssueKey, type IssueKey } from "../src/graph/model.ts";
import { issueFacts, readIssueFacts, readIssueLinks, type IssueFacts } from "../src/github/read-issues.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import { DependencyChanged, IssueSnapshot, SubIssueChanged, WebhookIssue } from "../src/intake/payloads.ts";
import { routeWebhook } from "../src/intake/route.ts";
import type { JobDeps } from "./deps.ts";

export type SyncTarget = {
  installationId: number;
  repoFullName: string;
  number: number;
  links: boolean;
  /** The issue as a webhook (or a read just made) showed it: recorded as it is, not read again. */
  issue?: IssueFacts;
  /**
   * The delivery being applied, when no close-task acts on it (a bot took the label off): it is not waited
   * for as a close still pending. Intake marks such a delivery processed only after queueing this job.
   */
  ownDelivery?: string;
};

/** The sync-issue job's payload: a target, what asked for it, and the delivery that carries the change. */
export type SyncJob = Omit<SyncTarget, "issue" | "ownDelivery"> & {
  cause?: string;
  deliveryId?: string | undefined;
};

/**
 * An issue's place in the task graph, into PostgreSQL: from the delivery that changed it when there is one
 * (the issue and its labels, or one link, are in its payload: nothing is read from GitHub but what it
 * lacks), from GitHub otherwise (reconcile, a story's parent). The job asks for a scheduling pass after it.
 */
export async function syncIssueJob(deps: JobDeps, job: SyncJob): Promise<void> {
  const { deliveryId, cause: _cause, ...target } = job;
  const delivery = deliveryId === undefined ? undefined : await getDelivery(deps.db, deliveryId);
  const own = delivery && !closeTaskActsOn(delivery) ? { ownDelivery: delivery.id } : {};
  // An issue Drover knows nothing of changed: nothing was recorded, so nothing can be ready now.
  if (delivery && (await applyDelivery(deps, { ...target, ...own }, delivery)) === "unknown") return;
  if (!delivery) await syncIssue(deps, target);
  await requestSchedule(deps);
}

/** Whether close-task is queued for the delivery too (a person's close or label removal), crediting them. */
function closeTaskActsOn(delivery: Delivery): boolean {
  const route = routeWebhook(delivery.event, delivery.payload);
  return route.kind === "dispatch" && route.jobs.includes("close-task");
}

/**
 * Reads one issue's place in the task graph from GitHub into PostgreSQL: its state and labels (unless the
 * caller has them from a payload), and (for tasks, stories and link changes) its native "blocked by"
 * links, the blockers written in its text, its sub-issues in order, and its parent. Every call reads what
 * it is asked to: a caller that has just synced the issue says so instead of calling again (a label's
 * start tells its trigger, `known: { synced: true }`), so no time window decides whether GitHub is asked.
 */
export async function syncIssue(deps: JobDeps, target: SyncTarget): Promise<void> {
  const key = issueKey(target.repoFullName, target.number);
  const task = await findTaskByKey(deps.db, target.repoFullName, target.number);
  const row = await getIssue(deps.db, key);
  // Most issue activity in a repository has nothing to do with Drover: skip it without calling GitHub.
  if (!task && !row && !target.links) return;

  const octokit = await deps.github.installation(target.installationId);
  let issue = target.issue;
  if (!issue) {
    const read = await readIssueFacts(octokit, repoRef(target.repoFullName), target.number);
    if (!read.ok) {
      await upsertIssue(deps.db, {
        key,
        installationId: target.installationId,
        repoFullName: target.repoFullName,
        number: target.number,
        readable: false,
        unreadableReason: read.reason,
      });
      return;
    }
    issue = read.issue;
  }
  // A copy older than the one recorded (a read answered before a newer webhook was applied) says nothing
  // of the task: the newer copy's own sync dealt with it. Its links are recorded all the same.
  if ((await recordIssue(deps, target.installationId, issue)) && task) {
    await applyToTask(deps, task, issue, target);
  }
  if (target.links || task) await syncLinks(deps, octokit, target.installationId, issue);
}

/** What the issue, as just recorded, means for its task: a new title, a close or a label removal missed. */
async function applyToTask(deps: JobDeps, task: Task, issue: IssueFacts, target: SyncTarget): Promise<void> {
  if (target.issue) {
    // A webhook's copy of the issue (a label's start) may be older than the task: it never finishes or
    // cancels one (close-task does, from the close or the removal itself).
    if (task.title !== issue.title) await updateTask(deps.db, task.id, { title: issue.title });
  } else if (issue.state === "closed" && !["done", "cancelled"].includes(task.state)) {
    await finishClosed(deps, task, issue, target.ownDelivery);
  } else {
    await recordTaskFacts(deps, task, issue, target.ownDelivery);
  }
}

/**
 * The close webhook never came (reconcile found it): finish the task as close-task would have. When it did
 * come and is not processed yet, close-task finishes the task (crediting whoever closed it) and shows it:
 * finishing it here first would lose that credit.
 */
async function finishClosed(
  deps: JobDeps,
  task: Task,
  issue: IssueFacts,
  ownDelivery: string | undefined,
): Promise<void> {
  if (await closeDeliveryPending(deps.db, issue.repoFullName, issue.number, "closed", ownDelivery)) return;
  const done = issue.closedAs !== "not_planned";
  const moved = await transitionTask(
    deps.db,
    task.id,
    statesLeadingTo(done ? "done" : "cancelled").filter((s) => s !== "done" && s !== "cancelled"),
    done ? "done" : "cancelled",
    done
      ? { doneAt: new Date(), stateReason: "issue closed as completed" }
      : { stateReason: "issue closed as not planned" },
  );
  if (moved) await deps.enqueue("announce", { taskId: task.id, at: Date.now() });
}

/** A task's title, and its cancellation when its label is gone before it started. */
async function recordTaskFacts(
  deps: JobDeps,
  task: Task,
  issue: IssueFacts,
  ownDelivery: string | undefined,
): Promise<void> {
  const label = taskConfig(task).label;
  if (task.title !== issue.title) await updateTask(deps.db, task.id, { title: issue.title });
  // The label was taken off a task that has not started: it is no longer wanted. When the webhook saying
  // who took it off is still to be processed, close-task cancels it, crediting them.
  if (
    !issue.labels.includes(label) &&
    ["waiting", "ready"].includes(task.state) &&
    !(await closeDeliveryPending(deps.db, issue.repoFullName, issue.number, "unlabeled", ownDelivery))
  ) {
    const moved = await transitionTask(deps.db, task.id, ["waiting", "ready"], "cancelled", {
      stateReason: `the \`${label}\` label was removed`,
    });
    // `task` was read before the issue was: announce only a move that happened.
    if (moved) await deps.enqueue("announce", { taskId: task.id, at: Date.now() });
  }
}

async function syncLinks(
  deps: JobDeps,
  octokit: Octokit,
  installationId: number,
  issue: IssueFacts,
): Promise<void> {
  const links = await readIssueLinks(octokit, repoRef(issue.repoFullName), issue.number, issue.hints);
  const native = links.blockedBy.map((b) => b.key);
  for (const blocker of links.blockedBy) await recordIssue(deps, installationId, blocker);

  const body = await syncBodyBlockers(deps, () => Promise.resolve(octokit), installationId, issue);

  const children = links.subIssues.map((child) => child.key);
  for (const [order, child] of links.subIssues.entries()) {
    await recordIssue(deps, installationId, child, { parentKey: issue.key, subOrder: order });
  }
  await detachSubIssues(deps.db, issue.key, children);

  await replaceEdges(deps.db, issue.key, "native", native);
  await replaceEdges(deps.db, issue.key, "body", body);
  await replaceEdges(deps.db, issue.key, "sub-issue", children);

  if (links.parent) {
    // The story needs its own links (all its sub-issues, in order) for the parent to wait for them, and
    // its checklist. The parent is named by the issue itself (`parent_issue_url`), never probed.
    const parentKey = issueKey(links.parent.repoFullName, links.parent.number);
    const parent = await getIssue(deps.db, parentKey);
    if (!parent?.linksSyncedAt) {
      await deps.enqueue("sync-issue", {
        installationId,
        repoFullName: links.parent.repoFullName,
        number: links.parent.number,
        links: true,
        cause: `parent-of-${issue.key.replace(/[/#]/g, "-")}`,
      });
    }
  }
  await upsertIssue(deps.db, { ...issueRow(installationId, issue), linksSyncedAt: new Date() });
}

/** The blockers written in the issue's text, each read (unless fresh) for its state; returns their keys. */
async function syncBodyBlockers(
  deps: JobDeps,
  octokit: () => Promise<Octokit>,
  installationId: number,
  issue: IssueFacts,
): Promise<IssueKey[]> {
  const body = parseBodyLinks(issue.body, { repoFullName: issue.repoFullName }).blockers.filter(
    (k) => k !== issue.key,
  );
  for (const blocker of body) await refreshBlocker(deps, octokit, installationId, blocker);
  return body;
}

/**
 * A blocker named in the text: read it (also in another repository of the installation) unless Drover
 * has it already. A readable row is kept current by the blocker's own issues.* webhooks (applied for every
 * issue Drover has a row for), and one whose webhook was lost by reconcile (its listing of what changed,
 * or its revisit of every open issue of the graph within 6 hours): reading it again
 * each time an issue naming it is edited or synced would only repeat them. An unreadable one is asked
 * again (the app may have been given access since).
 */
async function refreshBlocker(
  deps: JobDeps,
  octokit: () => Promise<Octokit>,
  installationId: number,
  key: IssueKey,
): Promise<void> {
  if ((await getIssue(deps.db, key))?.readable) return;
  const ref = parseIssueKey(key);
  if (!ref) return;
  const { repoFullName, number } = ref;
  const read = await readIssueFacts(await octokit(), repoRef(repoFullName), number);
  if (read.ok) {
    await recordIssue(deps, installationId, read.issue);
    return;
  }
  await upsertIssue(deps.db, {
    key,
    installationId,
    repoFullName,
    number,
    readable: false,
    unreadableReason: read.reason,
  });
}

/**
 * One change, from the delivery that carries it: an issue event (the issue and its labels), a native link,
 * or a sub-issue link. A payload Drover cannot take its facts from is read from GitHub instead.
 */
async function applyDelivery(
  deps: JobDeps,
  target: Omit<SyncTarget, "issue">,
  delivery: Delivery,
): Promise<Applied> {
  const applied =
    delivery.event === "issues"
      ? await applyIssueEvent(deps, target, delivery.payload)
      : delivery.event === "issue_dependencies"
        ? await applyDependency(deps, target.installationId, delivery.payload)
        : delivery.event === "sub_issues"
          ? await applySubIssue(deps, target.installationId, delivery.payload)
          : "unusable";
  if (applied !== "unusable") return applied;
  await syncIssue(deps, target);
  return "applied";
}

/** What a delivery's payload did: recorded, about an issue Drover does not know, or not usable (read). */
type Applied = "applied" | "unknown" | "unusable";

/**
 * The issue as an issues.* webhook shows it, in the repository the webhook names, or null where the
 * payload does not say enough.
 */
export function issueFromPayload(payload: unknown): IssueFacts | null {
  const p = payload as { issue?: unknown; repository?: { full_name?: unknown } } | null;
  const facts = webhookIssueFacts(p?.issue);
  const repoFullName = p?.repository?.full_name;
  if (!facts || typeof repoFullName !== "string") return facts;
  return { ...facts, repoFullName, key: issueKey(repoFullName, facts.number) };
}

function webhookIssueFacts(raw: unknown): IssueFacts | null {
  const parsed = WebhookIssue.safeParse(raw);
  return parsed.success ? issueFacts(parsed.data) : null;
}

/**
 * issues.*: records the issue as the payload shows it, for an issue Drover knows (a task, or in the graph):
 * an unknown one (most of a repository's issues) costs nothing. Its native links and sub-issues did not
 * change (they come as link events); its text may name other blockers (opened, edited). The close itself
 * is close-task's (it is queued for every issues.closed); a bot taking the label off cancels here.
 * Returns false where the payload cannot be used (deleted, transferred): the issue is read instead.
 */
async function applyIssueEvent(
  deps: JobDeps,
  { installationId, ownDelivery }: Pick<SyncTarget, "installationId" | "ownDelivery">,
  payload: unknown,
): Promise<Applied> {
  const parsed = IssueSnapshot.safeParse(payload);
  if (!parsed.success) return "unusable";
  const { action } = parsed.data;
  if (action === "deleted" || action === "transferred") return "unusable";
  const issue = issueFromPayload(payload);
  if (!issue) return "unusable";
  const task = await findTaskByKey(deps.db, issue.repoFullName, issue.number);
  const row = await getIssue(deps.db, issue.key);
  if (!task && !row) return "unknown";
  // A copy older than the one recorded (webhooks arrive out of order, jobs retry) changes nothing: the
  // newer one was applied already, task and all.
  if (!(await recordIssue(deps, installationId, issue))) return "applied";
  // An older event's payload (labels before the Drover label went on) must not cancel a task: only the
  // removal itself is read as one.
  if (task && action === "unlabeled") await recordTaskFacts(deps, task, issue, ownDelivery);
  else if (task && task.title !== issue.title) await updateTask(deps.db, task.id, { title: issue.title });
  if ((action === "edited" || action === "opened") && (task || row?.linksSyncedAt)) {
    const octokit = lazy(() => deps.github.installation(installationId));
    const body = await syncBodyBlockers(deps, octokit, installationId, issue);
    await replaceEdges(deps.db, issue.key, "body", body);
  }
  return "applied";
}

/**
 * issue_dependencies.*: one "blocked by" link added or removed, from the payload (both issues are in it),
 * in one statement, so links applied at once all stay and need not wait for each other: the blocked
 * issue's lock is taken shared. It is still taken for the start, which holds it whole while it reads the
 * list from GitHub and records it: a link made while that list is read is applied after it is recorded,
 * not overwritten by it. (A sync queued without a start, reconcile's, reads and records the list without
 * the lock: a link applied in between is read again at the issue's next revisit.)
 */
async function applyDependency(deps: JobDeps, installationId: number, payload: unknown): Promise<Applied> {
  const parsed = DependencyChanged.safeParse(payload);
  if (!parsed.success) return "unusable";
  const p = parsed.data;
  const raw = payload as { blocked_issue?: unknown; blocking_issue?: unknown };
  const blocked = webhookIssueFacts(raw.blocked_issue);
  const blocker = webhookIssueFacts(raw.blocking_issue);
  const repoId = p.action.startsWith("blocked_by_") ? p.repository?.id : p.blocked_issue_repo?.id;
  if (!blocked || !blocker || repoId === undefined) return "unusable";
  const apply = async () => {
    await recordIfNew(deps, installationId, blocked);
    await recordIfNew(deps, installationId, blocker);
    if (p.action.endsWith("_added")) await addEdge(deps.db, blocked.key, "native", blocker.key);
    else await removeEdge(deps.db, blocked.key, "native", blocker.key);
  };
  await withIssueLock(deps.db, repoId, blocked.number, apply, undefined, true);
  return "applied";
}

/**
 * sub_issues.*: one sub-issue added to or removed from a parent, from the payload, its edge in one
 * statement. Under the parent's lock: its place among the sub-issues is counted from the rows, and a
 * start reading the whole list from GitHub must not record an older list over it.
 */
async function applySubIssue(deps: JobDeps, installationId: number, payload: unknown): Promise<Applied> {
  const parsed = SubIssueChanged.safeParse(payload);
  if (!parsed.success) return "unusable";
  const p = parsed.data;
  const raw = payload as { parent_issue?: unknown; sub_issue?: unknown };
  const parent = webhookIssueFacts(raw.parent_issue);
  const child = webhookIssueFacts(raw.sub_issue);
  const repoId = p.action.startsWith("sub_issue_") ? p.repository?.id : p.parent_issue_repo?.id;
  if (!parent || !child || repoId === undefined) return "unusable";
  await withIssueLock(deps.db, repoId, parent.number, async () => {
    await recordIfNew(deps, installationId, parent);
    await recordIfNew(deps, installationId, child);
    const current = (await subIssuesOf(deps.db, parent.key)).map((row) => row.key);
    if (p.action.endsWith("_added")) {
      // GitHub adds a sub-issue last.
      const children = current.includes(child.key) ? current : [...current, child.key];
      await upsertIssue(deps.db, {
        key: child.key,
        installationId,
        repoFullName: child.repoFullName,
        number: child.number,
        parentKey: parent.key,
        subOrder: children.indexOf(child.key),
      });
      await addEdge(deps.db, parent.key, "sub-issue", child.key);
    } else {
      await detachSubIssues(
        deps.db,
        parent.key,
        current.filter((key) => key !== child.key),
      );
      await removeEdge(deps.db, parent.key, "sub-issue", child.key);
    }
  });
  return "applied";
}

/**
 * Records an issue seen in a link webhook only when Drover has no row for it: a known issue's row is kept
 * current by its own issues.* webhooks, and the copy inside a link payload may be older than that.
 */
async function recordIfNew(deps: JobDeps, installationId: number, issue: IssueFacts): Promise<void> {
  if (await getIssue(deps.db, issue.key)) return;
  await recordIssue(deps, installationId, issue);
}

/** `make()` on first use, then its answer: an installation client only when something is read. */
function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

async function recordIssue(
  deps: JobDeps,
  installationId: number,
  issue: IssueFacts,
  extra: { parentKey?: string; subOrder?: number; linksSyncedAt?: Date | null } = {},
): Promise<boolean> {
  return upsertIssue(deps.db, { ...issueRow(installationId, issue), ...extra });
}

function issueRow(installationId: number, issue: IssueFacts) {
  return {
    key: issue.key,
    installationId,
    repoFullName: issue.repoFullName,
    number: issue.number,
    title: issue.title,
    state: issue.state,
    closedAs: issue.state === "closed" ? issue.closedAs : null,
    labels: issue.labels,
    milestone: issue.milestone,
    readable: true,
    unreadableReason: null,
    githubCreatedAt: issue.createdAt,
    githubUpdatedAt: issue.updatedAt,
  };
}
