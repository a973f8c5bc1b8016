import type { Octokit, RepoRef } from "../../src/github/types.ts";
import { PermanentJobError } from "../../src/queue/queue.ts";

/**
 * The spec issue `/drover plan` was asked on: its title and body. One deleted (410) or gone from where the
 * App can see it (404: transferred, or the App's access taken away) since the command fails for good at
 * once, saying so, rather than being read again on every try. Anything else (a rate limit, GitHub down)
 * is thrown as it is, for the job's fate to decide.
 */
export async function readSpecIssue(
  octokit: Octokit,
  repo: RepoRef,
  number: number,
): Promise<{ title: string; body: string }> {
  try {
    const { data } = await octokit.rest.issues.get({ ...repo, issue_number: number });
    return { title: data.title, body: data.body ?? "" };
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 404 || status === 410)
      throw new PermanentJobError(
        `issue #${number} of ${repo.owner}/${repo.repo} cannot be read (HTTP ${status}): ${status === 410 ? "it was deleted" : "it was moved or deleted, or the App has no access to it"}`,
      );
    throw error;
  }
}
