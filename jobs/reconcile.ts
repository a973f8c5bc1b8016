import { DEFAULT_LABEL } from "../src/config/schema.ts";
import { recordDelivery } from "../src/db/deliveries.ts";
import { getIssue, subIssuesOf } from "../src/db/graph-rows.ts";
import { owedWrites } from "../src/db/last-written.ts";
import { issuesDueForRevisit, reconcileMarkOf, setReconcileMark } from "../src/db/reconcile-marks.ts";
import { listRepositories, type Repository } from "../src/db/repositories.ts";
import { findTask, findTaskByKey, latestConfigOf } from "../src/db/tasks.ts";
import { whenBudgetLow, type DeferCosmetic } from "../src/github/issue-status.ts";
import { listChangedIssues, type IssueFacts } from "../src/github/read-issues.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import { issueKey } from "../src/graph/model.ts";
import type { JobDeps } from "./deps.ts";

/** An open task nothing told Drover about is read again after at most this long (spread, see below). */
export const REVISIT_EVERY_MS = 6 * 60 * 60_000;
/** Revisits queued by one pass at most: a graph synced all at once is read again over several passes. */
const REVISITS_PER_PASS = 200;

/**
 * GitHub → PostgreSQL, for webhooks GitHub never delivered. For each known repository, the issues that
 * changed since the last pass (`since=`, oldest change first; the place reached is kept in PostgreSQL),
 * whatever their labels, so a Drover label taken off or a blocker closed is noticed at the next pass: a
 * task or another issue of the graph is synced again, unless its row holds that change already (its
 * webhook brought it); an open issue carrying the label with no task is started as if the label event had arrived (the
 * person who added the label is read from the issue's events, and must have write access as always); any
 * other issue costs nothing. The listing is one request per repository (a 304 when nothing changed). Then the issues nothing changed are read again only rarely (every
 * 4.5 to 6 hours each, spread): an unchanged open task costs well under one request an hour, and those
 * requests are conditional. Last, status edits held back while the rate limit ran low are made.
 */
export async function reconcile(
  deps: JobDeps,
  _payload: { at: number },
  deferCosmetic: DeferCosmetic = whenBudgetLow,
): Promise<void> {
  const cause = `reconcile-${Date.now()}`;
  // Synced already this pass: not queued again as due for its rare revisit (its jobs have not run yet).
  const queued = new Set<string>();
  for (const repository of await listRepositories(deps.db)) {
    const label = (await latestConfigOf(deps.db, repository.id))?.label ?? DEFAULT_LABEL;
    const octokit = await deps.github.installation(repository.installationId);
    const repo = repoRef(repository.fullName);
    const since = await reconcileMarkOf(deps.db, repository.id);
    let changed;
    try {
      changed = await listChangedIssues(octokit, repo, label, since);
    } catch (error) {
      deps.log.warn({ err: error, repo: repository.fullName }, "reconcile could not list issues");
      continue;
    }
    for (const { issue, updatedAt } of changed) {
      const task = await findTask(deps.db, repository.id, issue.number);
      const row = await getIssue(deps.db, issue.key);
      if (row && holdsListedCopy(row, issue, updatedAt)) continue;
      if (task || row) {
        await deps.enqueue("sync-issue", {
          installationId: repository.installationId,
          repoFullName: repository.fullName,
          number: issue.number,
          links: task !== undefined,
          cause: `reconcile-${updatedAt.getTime()}`,
        });
        queued.add(issue.key);
        continue;
      }
      if (issue.state !== "open" || !issue.labels.includes(label)) continue;
      await startMissed(deps, octokit, repository, issue, label);
    }
    const last = changed.at(-1)?.updatedAt;
    // GitHub's `since` includes its instant, and its times have whole seconds: the mark stays on the last
    // change seen, so one made later in the same second is listed next time. What is listed again
    // unchanged is skipped (its row holds that copy) and costs nothing: the same listing is a 304.
    if (last) await setReconcileMark(deps.db, repository.id, last);
  }
  for (const issue of await issuesDueForRevisit(deps.db, REVISIT_EVERY_MS, REVISITS_PER_PASS)) {
    if (queued.has(issueKey(issue.repoFullName, issue.number))) continue;
    await deps.enqueue("sync-issue", {
      installationId: issue.installationId,
      repoFullName: issue.repoFullName,
      number: issue.number,
      links: issue.isTask,
      cause,
    });
  }
  await repayOwedWrites(deps, deferCosmetic);
}

/**
 * Whether the change listed is recorded already: the issue's row holds a newer copy, or one of the same
 * second that says the same (its webhook brought it, or an earlier pass synced it). GitHub's times have
 * whole seconds, so a change made in the second of the copy recorded (a label taken off just after
 * Drover's own comment) lists with the same time: what the listing says is compared then. A link changed
 * with no issues.* webhook, lost too, is read at the issue's revisit.
 */
export function holdsListedCopy(
  row: {
    githubUpdatedAt: Date | null;
    state: string;
    title: string;
    labels: readonly string[];
    milestone: string | null;
  },
  listed: Pick<IssueFacts, "state" | "title" | "labels" | "milestone">,
  updatedAt: Date,
): boolean {
  const recorded = row.githubUpdatedAt?.getTime() ?? null;
  if (recorded === null || recorded < updatedAt.getTime()) return false;
  if (recorded > updatedAt.getTime()) return true;
  const sameLabels =
    row.labels.length === listed.labels.length && listed.labels.every((label) => row.labels.includes(label));
  return (
    row.state === listed.state &&
    row.title === listed.title &&
    row.milestone === listed.milestone &&
    sameLabels
  );
}

/** An open labelled issue with no task, whose label webhook never came: started as that webhook would. */
async function startMissed(
  deps: JobDeps,
  octokit: Octokit,
  repository: Repository,
  issue: IssueFacts,
  label: string,
): Promise<void> {
  const labeler = await whoLabelled(octokit, repoRef(repository.fullName), issue.number, label);
  if (!labeler) return;
  // Keyed by GitHub's id for the label event: one start (or one refusal) per labelling, however often
  // reconcile sees the issue.
  const deliveryId = `reconcile-${repository.id}-${issue.number}-${labeler.eventId}`;
  const recorded = await recordDelivery(deps.db, {
    id: deliveryId,
    event: "issues",
    action: "labeled",
    installationId: repository.installationId,
    repoFullName: repository.fullName,
    payload: syntheticLabelEvent(repository, issue, label, {
      login: labeler.login,
      id: labeler.id,
      type: labeler.type,
    }),
  });
  if (recorded) await deps.enqueue("start-task", { deliveryId });
}

/** Status edits held back while the rate limit ran low, made once the installation may again. */
async function repayOwedWrites(deps: JobDeps, deferCosmetic: DeferCosmetic): Promise<void> {
  const at = Date.now();
  for (const key of await owedWrites(deps.db)) {
    const issue = await getIssue(deps.db, key);
    if (!issue || deferCosmetic(issue.installationId)) continue;
    const task = await findTaskByKey(deps.db, issue.repoFullName, issue.number);
    // A story's checklist is written again by announcing one of its tasks.
    const shown = task ?? (await firstTaskOf(deps, key));
    if (shown) await deps.enqueue("announce", { taskId: shown.id, at });
  }
}

async function firstTaskOf(deps: JobDeps, parentKey: string) {
  for (const child of await subIssuesOf(deps.db, parentKey)) {
    const task = await findTaskByKey(deps.db, child.repoFullName, child.number);
    if (task) return task;
  }
  return undefined;
}

async function whoLabelled(
  octokit: Octokit,
  repo: { owner: string; repo: string },
  number: number,
  label: string,
): Promise<{ login: string; id: number; type: string; eventId: number } | undefined> {
  const events = await octokit.paginate(octokit.rest.issues.listEvents, {
    ...repo,
    issue_number: number,
    per_page: 100,
  });
  const labelled = events.filter(
    (e) => e.event === "labeled" && (e as { label?: { name?: string } }).label?.name === label,
  );
  const last = labelled.at(-1);
  const actor = last?.actor;
  return last && actor
    ? { login: actor.login, id: actor.id, type: actor.type ?? "User", eventId: last.id }
    : undefined;
}

function syntheticLabelEvent(
  repository: Repository,
  issue: IssueFacts,
  label: string,
  sender: { login: string; id: number; type: string },
) {
  return {
    action: "labeled",
    issue: {
      number: issue.number,
      title: issue.title,
      state: issue.state,
      user: { login: issue.author.login, id: issue.author.id, type: "User" },
    },
    label: { name: label },
    repository: {
      id: repository.id,
      full_name: repository.fullName,
      clone_url: repository.cloneUrl,
      default_branch: repository.defaultBranch,
    },
    sender,
    installation: { id: repository.installationId },
  };
}
