import type { PullRecord } from "./world.ts";

/**
 * The sandbox's stand-in for branch protection, which auto-merge waits for and `mergeable_state` reports:
 * every check run on the head commit is required, and so is having no changes requested. Pure.
 */

/** Conclusions GitHub counts as passing for a required check. */
const PASSING = new Set(["success", "neutral", "skipped"]);

/**
 * Whether `pull` meets its requirements now: at least one check run on its head commit, the latest run of
 * each name completed and passing, and no reviewer whose latest approval or change request asks for changes
 * (a later comment-only review does not lift a change request, as on GitHub).
 */
export function requirementsMet(pull: PullRecord): boolean {
  const latest = new Map<string, { status: string; conclusion: string | null }>();
  for (const run of pull.issue.repo.checkRuns) if (run.headSha === pull.headSha) latest.set(run.name, run);
  if (latest.size === 0) return false;
  for (const run of latest.values())
    if (run.status !== "completed" || !PASSING.has(run.conclusion ?? "")) return false;
  const verdicts = new Map<number, string>();
  for (const review of pull.reviews)
    if (review.state !== "COMMENTED") verdicts.set(review.user.id, review.state);
  return ![...verdicts.values()].includes("CHANGES_REQUESTED");
}
