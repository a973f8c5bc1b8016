import type { Db } from "../db/client.ts";
import { withLastWritten } from "../db/last-written.ts";
import { issueKey } from "../graph/model.ts";
import { ALL_STATE_LABELS, CYCLE_LABEL, LEGACY_STATE_LABELS, STATE_LABELS } from "../graph/transitions.ts";
import { deferCosmetic as budgetIsLow, installationOf } from "./budget.ts";
import { STORY_MARKER, writeMarkedComment } from "./comments.ts";
import { labelChanges, readLabels, writeLabelChanges } from "./labels.ts";
import { renderStatus, type StatusView } from "./render.ts";
import { repoRef, type Octokit, type RepoRef } from "./types.ts";

const MANAGED: readonly string[] = [...ALL_STATE_LABELS, ...LEGACY_STATE_LABELS, CYCLE_LABEL];

/**
 * Whether cosmetic writes (edits of the status comment and of a story's checklist) wait for now in an
 * installation, because its remaining request budget is low. Essential writes (state labels, pull
 * requests, check runs) never wait. Default: the request budget (src/github/budget.ts).
 */
export type DeferCosmetic = (installationId: number) => boolean;
/** Production's: the installation's request budget this hour (10% left, 450 content writes an hour, 64 a minute). */
export const whenBudgetLow: DeferCosmetic = (installationId) => budgetIsLow(installationId);

/**
 * Shows a task's state on its issue: the one status comment (edited in place), the state label (none while
 * queued or running), and `drover:cycle` while the issue is on a dependency cycle. Both are written from
 * what Drover last wrote there (PostgreSQL's `last_written`, the one place the comment's id is kept), never
 * read back first: an edit that changes nothing is not sent, and only labels that change are. A label a
 * person took off stays off while the task stays in the state it shows; the next change of state writes the
 * labels of the new one. Returns the status comment's id.
 */
export async function publishStatus(
  db: Db,
  octokit: Octokit,
  repo: RepoRef,
  task: { issueNumber: number },
  view: StatusView,
  deferCosmetic: DeferCosmetic = whenBudgetLow,
): Promise<number> {
  const key = issueKey(`${repo.owner}/${repo.repo}`, task.issueNumber);
  return withLastWritten(db, key, async (last, record) => {
    const comment = await writeMarkedComment(
      octokit,
      repo,
      task.issueNumber,
      renderStatus(view),
      { id: last?.statusCommentId ?? null, hash: last?.statusHash ?? null },
      { deferEdit: () => deferCosmeticFor(octokit, deferCosmetic) },
    );
    if (comment.outcome !== "unchanged" || last?.owedSince)
      await record({
        statusCommentId: comment.id,
        statusHash: comment.hash,
        owedSince: comment.outcome === "deferred" ? (last?.owedSince ?? new Date()) : null,
      });

    const wanted = [STATE_LABELS[view.state], view.cycle ? CYCLE_LABEL : undefined].filter(
      (label): label is string => label !== undefined,
    );
    // Shown before Drover kept the labels it wrote (or never shown): read once what is there, or nothing is.
    const had =
      last?.labels ??
      (last?.statusCommentId == null
        ? []
        : (await readLabels(octokit, repo, task.issueNumber)).filter((name) => MANAGED.includes(name)));
    const changes = labelChanges(had, wanted);
    if (changes.add.length > 0 || changes.remove.length > 0)
      await writeLabelChanges(octokit, repo, task.issueNumber, changes);
    if (changes.add.length > 0 || changes.remove.length > 0 || last?.labels == null)
      await record({ labels: wanted });
    return comment.id;
  });
}

/**
 * Whether `decide` holds back cosmetic writes now for the installation the client acts for (Drover's
 * clients are tagged with it: src/github/octokit.ts). A client acting for none never defers.
 */
function deferCosmeticFor(octokit: Octokit, decide: DeferCosmetic): boolean {
  const installationId = installationOf(octokit);
  return installationId !== undefined && decide(installationId);
}

/**
 * A story's checklist on its parent issue, edited in place from what Drover last wrote there: an edit that
 * changes nothing is not sent. Returns the comment's id.
 */
export async function publishStory(
  db: Db,
  octokit: Octokit,
  parent: {
    key: string;
    repoFullName: string;
    number: number;
    installationId: number;
  },
  body: string,
  deferCosmetic: DeferCosmetic = whenBudgetLow,
): Promise<number> {
  return withLastWritten(db, parent.key, async (last, record) => {
    const comment = await writeMarkedComment(
      octokit,
      repoRef(parent.repoFullName),
      parent.number,
      body,
      { id: last?.storyCommentId ?? null, hash: last?.storyHash ?? null },
      { marker: STORY_MARKER, deferEdit: () => deferCosmetic(parent.installationId) },
    );
    if (comment.outcome !== "unchanged")
      await record({
        storyCommentId: comment.id,
        storyHash: comment.hash,
        ...(comment.outcome === "deferred" ? { owedSince: last?.owedSince ?? new Date() } : {}),
      });
    return comment.id;
  });
}
