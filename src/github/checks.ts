import type { Octokit, RepoRef } from "./types.ts";

export const CHECK_NAME = "Drover";

export type CheckConclusion = "success" | "failure" | "neutral";

/** GitHub caps a check run's summary at 65535 characters. */
const MAX_SUMMARY = 65_000;

export async function createCheckRun(
  octokit: Octokit,
  repo: RepoRef,
  check: {
    headSha: string;
    conclusion: CheckConclusion;
    title: string;
    summary: string;
    detailsUrl?: string;
  },
): Promise<number> {
  const { data } = await octokit.rest.checks.create({
    ...repo,
    name: CHECK_NAME,
    head_sha: check.headSha,
    status: "completed",
    conclusion: check.conclusion,
    completed_at: new Date().toISOString(),
    ...(check.detailsUrl ? { details_url: check.detailsUrl } : {}),
    output: { title: check.title.slice(0, 255), summary: check.summary.slice(0, MAX_SUMMARY) },
  });
  return data.id;
}
