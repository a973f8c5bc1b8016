import type { Octokit, RepoRef } from "./types.ts";

/**
 * Makes the issue carry exactly `wanted` among the labels Drover manages (`managed`): removes the others it
 * has and adds the wanted ones it lacks (GitHub creates a label on first use). Labels people added are
 * never touched.
 */
export async function setManagedLabels(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  wanted: readonly string[],
  managed: readonly string[],
): Promise<void> {
  const { data: current } = await octokit.rest.issues.listLabelsOnIssue({
    ...repo,
    issue_number: issueNumber,
  });
  const names = new Set(current.map((label) => label.name));
  for (const name of managed) {
    if (wanted.includes(name) || !names.has(name)) continue;
    try {
      await octokit.rest.issues.removeLabel({ ...repo, issue_number: issueNumber, name });
    } catch (error) {
      // Someone removed it between our read and our write: the outcome is the one we wanted.
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
  const missing = wanted.filter((name) => !names.has(name));
  if (missing.length > 0)
    await octokit.rest.issues.addLabels({ ...repo, issue_number: issueNumber, labels: missing });
}

/** Adds `names` to the issue (GitHub creates a label on first use; one it has already is kept). */
export async function addLabels(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  names: readonly string[],
): Promise<void> {
  await octokit.rest.issues.addLabels({ ...repo, issue_number: issueNumber, labels: [...names] });
}

/**
 * Gives the issue the one priority label `wanted` (`priority: high`), removing every other label that
 * names a priority (`priority: low`, `P2`, in any case): the scheduler reads the most urgent of them.
 */
export async function setPriorityLabel(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  wanted: string,
  isPriority: (label: string) => boolean,
): Promise<void> {
  const { data: current } = await octokit.rest.issues.listLabelsOnIssue({
    ...repo,
    issue_number: issueNumber,
  });
  const names = current.map((label) => label.name);
  for (const name of names.filter((name) => name !== wanted && isPriority(name))) {
    try {
      await octokit.rest.issues.removeLabel({ ...repo, issue_number: issueNumber, name });
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
  if (!names.includes(wanted)) await addLabels(octokit, repo, issueNumber, [wanted]);
}
