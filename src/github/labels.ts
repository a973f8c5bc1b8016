import type { Octokit, RepoRef } from "./types.ts";

/** The label writes that take an issue from what Drover last set (`last`) to `wanted`. */
export function labelChanges(
  last: readonly string[],
  wanted: readonly string[],
): { add: string[]; remove: string[] } {
  return {
    add: wanted.filter((name) => !last.includes(name)),
    remove: last.filter((name) => !wanted.includes(name)),
  };
}

/**
 * Writes `changes` (from `labelChanges`) without reading the issue's labels first: one request per label
 * removed and one for all those added. A label already gone (a person took it off) is what was wanted.
 */
export async function writeLabelChanges(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  changes: { add: readonly string[]; remove: readonly string[] },
): Promise<void> {
  for (const name of changes.remove) await removeLabel(octokit, repo, issueNumber, name);
  if (changes.add.length > 0) await addLabels(octokit, repo, issueNumber, changes.add);
}

/** The issue's labels as GitHub has them now (for an issue shown before Drover kept what it wrote). */
export async function readLabels(octokit: Octokit, repo: RepoRef, issueNumber: number): Promise<string[]> {
  const { data } = await octokit.rest.issues.listLabelsOnIssue({ ...repo, issue_number: issueNumber });
  return data.map((label) => label.name);
}

async function removeLabel(octokit: Octokit, repo: RepoRef, issueNumber: number, name: string) {
  try {
    await octokit.rest.issues.removeLabel({ ...repo, issue_number: issueNumber, name });
  } catch (error) {
    // Someone removed it already: the outcome is the one we wanted.
    if ((error as { status?: number }).status !== 404) throw error;
  }
}

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
    await removeLabel(octokit, repo, issueNumber, name);
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
