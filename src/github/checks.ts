import type { Octokit, RepoRef } from "./types.ts";

export const CHECK_NAME = "Drover";
/** The check run on a pushed commit that changed `.github/drover.yml`: is the file valid. */
export const CONFIG_CHECK_NAME = "Drover config";

/** `action_required`: a pull request that cannot merge into its base (conflicts) until a person acts. */
export type CheckConclusion = "success" | "failure" | "neutral" | "action_required";

/** GitHub caps a check run's summary at 65535 characters. */
const MAX_SUMMARY = 65_000;

/** A completed check run as Drover posts it. */
export type CompletedCheck = {
  headSha: string;
  conclusion: CheckConclusion;
  title: string;
  summary: string;
  detailsUrl?: string;
  /** Default `Drover` (CHECK_NAME). */
  name?: string;
};

/**
 * The `Drover` check run on `headSha`: the one already there (made by a worker that died before recording
 * it), or a new one. GitHub has no idempotency keys; the commit is Drover's own, so a check of this name
 * on it is Drover's.
 */
export async function createCheckRun(
  octokit: Octokit,
  repo: RepoRef,
  check: CompletedCheck,
): Promise<number> {
  const made = await findCheckRun(octokit, repo, check.headSha, check.name);
  return made ? made.id : makeCheckRun(octokit, repo, check);
}

async function makeCheckRun(octokit: Octokit, repo: RepoRef, check: CompletedCheck): Promise<number> {
  const { data } = await octokit.rest.checks.create({
    ...repo,
    name: check.name ?? CHECK_NAME,
    head_sha: check.headSha,
    status: "completed",
    conclusion: check.conclusion,
    completed_at: new Date().toISOString(),
    ...(check.detailsUrl ? { details_url: check.detailsUrl } : {}),
    output: { title: check.title.slice(0, 255), summary: check.summary.slice(0, MAX_SUMMARY) },
  });
  return data.id;
}

/**
 * The `Drover` check run (or the one named `name`) on `headSha`, the latest if there are several;
 * undefined when there is none.
 */
export async function findCheckRun(
  octokit: Octokit,
  repo: RepoRef,
  headSha: string,
  name = CHECK_NAME,
): Promise<{ id: number; status: string; conclusion: string | null } | undefined> {
  const { data } = await octokit.rest.checks.listForRef({
    ...repo,
    ref: headSha,
    check_name: name,
    filter: "latest",
  });
  return data.check_runs.find((run) => run.head_sha === headSha);
}

/**
 * Edits the `Drover` check run `id` already on a commit: a new conclusion, title and summary (a pull
 * request that passed and no longer merges into its base is not "success" any more: `action_required`).
 */
export async function updateCheckRun(
  octokit: Octokit,
  repo: RepoRef,
  id: number,
  check: { conclusion: CheckConclusion; title: string; summary: string },
): Promise<void> {
  await octokit.rest.checks.update({
    ...repo,
    check_run_id: id,
    status: "completed",
    conclusion: check.conclusion,
    completed_at: new Date().toISOString(),
    output: { title: check.title.slice(0, 255), summary: check.summary.slice(0, MAX_SUMMARY) },
  });
}

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
  const made = await findCheckRun(octokit, repo, check.headSha);
  if (!made) return makeCheckRun(octokit, repo, { ...check, conclusion: "action_required" });
  await updateCheckRun(octokit, repo, made.id, { ...check, conclusion: "action_required" });
  return made.id;
}
