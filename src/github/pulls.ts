import type { Octokit, RepoRef } from "./types.ts";

export type PullRequestRef = { number: number; url: string; created: boolean };

/**
 * One pull request per task branch: finds the open one for `head` and updates it, or opens it. GitHub
 * refuses a second PR for the same head and base, which backs up the step record.
 */
export async function openOrUpdatePullRequest(
  octokit: Octokit,
  repo: RepoRef,
  pr: { head: string; base: string; title: string; body: string; draft: boolean },
): Promise<PullRequestRef> {
  const { data: open } = await octokit.rest.pulls.list({
    ...repo,
    head: `${repo.owner}:${pr.head}`,
    state: "open",
    per_page: 1,
  });
  const existing = open[0];
  if (existing) {
    await octokit.rest.pulls.update({
      ...repo,
      pull_number: existing.number,
      title: pr.title,
      body: pr.body,
    });
    return { number: existing.number, url: existing.html_url, created: false };
  }
  const { data } = await octokit.rest.pulls.create({
    ...repo,
    head: pr.head,
    base: pr.base,
    title: pr.title,
    body: pr.body,
    draft: pr.draft,
  });
  return { number: data.number, url: data.html_url, created: true };
}
