import { CHECK_NAME, findCheckRun } from "./checks.ts";
import type { Octokit, RepoRef } from "./types.ts";

/** GitHub caps a check run's summary at 65535 characters. */
const MAX_SUMMARY = 65_000;

/**
 * The `Drover` check run on `headSha` made to ask a person for action (`action_required`): the one already
 * there (the earlier success of the same head, which must not stand while the pull request cannot merge,
 * or one marked already when the conflict was first seen) is edited to say why now, else one is made.
 * Returns its id.
 */
export async function requireAction(
  octokit: Octokit,
  repo: RepoRef,
  check: { headSha: string; title: string; summary: string },
): Promise<number> {
  const output = { title: check.title.slice(0, 255), summary: check.summary.slice(0, MAX_SUMMARY) };
  const completed = {
    status: "completed" as const,
    conclusion: "action_required" as const,
    completed_at: new Date().toISOString(),
    output,
  };
  const made = await findCheckRun(octokit, repo, check.headSha);
  if (made) {
    await octokit.rest.checks.update({ ...repo, check_run_id: made.id, ...completed });
    return made.id;
  }
  const { data } = await octokit.rest.checks.create({
    ...repo,
    name: CHECK_NAME,
    head_sha: check.headSha,
    ...completed,
  });
  return data.id;
}
