import { DEFAULT_LABEL } from "../src/config/schema.ts";
import { recordDelivery } from "../src/db/deliveries.ts";
import { issuesToResync } from "../src/db/graph-rows.ts";
import { listRepositories, type Repository } from "../src/db/repositories.ts";
import { findTask, latestConfigOf } from "../src/db/tasks.ts";
import { listLabelledIssues, type IssueFacts } from "../src/github/read-issues.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import type { JobDeps } from "./deps.ts";

/**
 * GitHub → PostgreSQL, for webhooks GitHub never delivered: each known repository's open issues that
 * carry its Drover label. An issue with no task is started as if the label event had arrived (the person
 * who added the label is read from the issue's events, and must have write access as always); every
 * open task, and every issue in the graph, is synced again.
 */
export async function reconcile(deps: JobDeps, _payload: { at: number }): Promise<void> {
  const cause = `reconcile-${Date.now()}`;
  for (const repository of await listRepositories(deps.db)) {
    const label = (await latestConfigOf(deps.db, repository.id))?.label ?? DEFAULT_LABEL;
    const octokit = await deps.github.installation(repository.installationId);
    const repo = repoRef(repository.fullName);
    let labelled;
    try {
      labelled = await listLabelledIssues(octokit, repo, label);
    } catch (error) {
      deps.log.warn({ err: error, repo: repository.fullName }, "reconcile could not list issues");
      continue;
    }
    for (const issue of labelled) {
      const task = await findTask(deps.db, repository.id, issue.number);
      if (task) continue;
      const labeler = await whoLabelled(octokit, repo, issue.number, label);
      if (!labeler) continue;
      // Keyed by GitHub's id for the label event: one start (or one refusal) per labelling, however often
      // reconcile runs.
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
  }
  for (const issue of await issuesToResync(deps.db)) {
    await deps.enqueue("sync-issue", {
      installationId: issue.installationId,
      repoFullName: issue.repoFullName,
      number: issue.number,
      links: issue.isTask,
      cause,
    });
  }
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
