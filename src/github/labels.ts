import type { Octokit, RepoRef } from "./types.ts";

/**
 * Makes the issue carry exactly `wanted` among the labels Drover manages (`managed`: a list of names, or
 * which names are of the kind, such as every priority label): removes the others it has and adds the
 * wanted ones it lacks (GitHub creates a label on first use). Labels people added are never touched.
 */
export async function setManagedLabels(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  wanted: readonly string[],
  managed: readonly string[] | ((name: string) => boolean),
): Promise<void> {
  const { data: current } = await octokit.rest.issues.listLabelsOnIssue({
    ...repo,
    issue_number: issueNumber,
  });
  const names = new Set(current.map((label) => label.name));
  const isManaged = typeof managed === "function" ? managed : (name: string) => managed.includes(name);
  for (const name of names) {
    if (wanted.includes(name) || !isManaged(name)) continue;
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
