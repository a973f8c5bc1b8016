import type { ProbotOctokit } from "probot";

export type Octokit = ProbotOctokit;
export type RepoRef = { owner: string; repo: string };

export function repoRef(fullName: string): RepoRef {
  const [owner, repo, ...rest] = fullName.split("/");
  if (!owner || !repo || rest.length > 0) throw new Error(`not an owner/name repository: ${fullName}`);
  return { owner, repo };
}
