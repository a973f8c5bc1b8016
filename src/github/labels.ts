import type { Octokit, RepoRef } from "./types.ts";

/**
 * Makes the issue carry exactly `wanted` among Drover's state labels: removes the others it has and adds
 * `wanted` if missing (GitHub creates a label on first use).
 */
export async function setStateLabel(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  wanted: string | null,
  stateLabels: readonly string[],
): Promise<void> {
  const { data: current } = await octokit.rest.issues.listLabelsOnIssue({
    ...repo,
    issue_number: issueNumber,
  });
  const names = new Set(current.map((label) => label.name));
  for (const name of stateLabels) {
    if (name === wanted || !names.has(name)) continue;
    try {
      await octokit.rest.issues.removeLabel({ ...repo, issue_number: issueNumber, name });
    } catch (error) {
      // Someone removed it between our read and our write: the outcome is the one we wanted.
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
  if (wanted !== null && !names.has(wanted)) {
    await octokit.rest.issues.addLabels({ ...repo, issue_number: issueNumber, labels: [wanted] });
  }
}
