import type { Octokit, RepoRef } from "./types.ts";

export type IssueSnapshot = {
  number: number;
  title: string;
  body: string;
  state: "open" | "closed";
  author: { login: string; id: number };
  url: string;
};

export async function readIssue(octokit: Octokit, repo: RepoRef, number: number): Promise<IssueSnapshot> {
  const { data } = await octokit.rest.issues.get({ ...repo, issue_number: number });
  return {
    number: data.number,
    title: data.title,
    body: data.body ?? "",
    state: data.state === "closed" ? "closed" : "open",
    author: { login: data.user?.login ?? "ghost", id: data.user?.id ?? 0 },
    url: data.html_url,
  };
}
