import type { Db } from "../../db/client.ts";
import { getAttemptByNumber, hasStep } from "../../db/attempts.ts";
import { findTaskByKey } from "../../db/tasks.ts";
import { STATUS_MARKER } from "../../github/comments.ts";
import { ZERO_SHA } from "../../sandbox/pushes.ts";
import type { Sandbox } from "../../sandbox/server.ts";
import { DEMO_ISSUES } from "../scenario.ts";

/**
 * What the run left on GitHub that should be there once and was made more than once:
 * - duplicate PRs: the app's pull requests that close an issue, beyond one per issue;
 * - duplicate comments: the app's status comments (STATUS_MARKER) on an issue, beyond one;
 * - duplicate pushes: pushes that moved a task's branch (distinct deliveries: a redelivered webhook is
 *   not a second push; a branch deletion is not counted) beyond one per attempt that recorded a push.
 *   An attempt pushes at most once (its passing result, or the partial work of a run that timed out); a
 *   retry is a new attempt and may push again. One attempt pushing twice (e.g. a worker killed between
 *   its push and recording it, and its successor running the agent again) counts one duplicate.
 */
export async function footprints(db: Db, sandbox: Sandbox, repoFullName: string) {
  const { world, bot } = repoOf(sandbox, repoFullName);
  let duplicatePRs = 0;
  let duplicateComments = 0;
  let duplicatePushes = 0;
  for (const { number } of DEMO_ISSUES) {
    const pulls = pullsClosing(sandbox, repoFullName, number);
    const comments = (world?.issues.get(number)?.comments ?? []).filter(
      (comment) => comment.user.login === bot && comment.body.includes(STATUS_MARKER),
    );
    duplicatePRs += Math.max(0, pulls.length - 1);
    duplicateComments += Math.max(0, comments.length - 1);

    const task = await findTaskByKey(db, repoFullName, number);
    if (!task) continue;
    const pushes = new Set(
      sandbox.deliveries
        .filter((d) => {
          const repository = d.payload.repository as { full_name?: string } | undefined;
          return (
            d.event === "push" &&
            repository?.full_name === repoFullName &&
            d.payload.ref === `refs/heads/${task.branch}` &&
            d.payload.after !== ZERO_SHA
          );
        })
        .map((d) => d.id),
    );
    let pushingAttempts = 0;
    for (let n = 1; n <= task.attemptCount; n++) {
      const attempt = await getAttemptByNumber(db, task.id, n);
      if (attempt && (await hasStep(db, attempt.id, "push"))) pushingAttempts++;
    }
    duplicatePushes += Math.max(0, pushes.size - pushingAttempts);
  }
  return { duplicatePRs, duplicateComments, duplicatePushes };
}

/** An unfinished task's pull request as GitHub (the sandbox) has it: what a person would look at. */
export function onGitHub(sandbox: Sandbox, repoFullName: string, number: number): string {
  const { world } = repoOf(sandbox, repoFullName);
  const [pull] = pullsClosing(sandbox, repoFullName, number);
  if (!pull?.pull) return `no pull request; issue ${world?.issues.get(number)?.state ?? "missing"}`;
  const headSha = pull.pull.headSha;
  const check = world?.checkRuns.find((run) => run.name === "Drover" && run.headSha === headSha);
  return (
    `pull request #${pull.number} ${pull.pull.merged ? "merged" : pull.state}, ` +
    `check run ${check ? (check.conclusion ?? check.status) : "missing"}; issue ${world?.issues.get(number)?.state}`
  );
}

/** The app's pull requests that say they close issue `number`. */
function pullsClosing(sandbox: Sandbox, repoFullName: string, number: number) {
  const { world, bot } = repoOf(sandbox, repoFullName);
  const closes = new RegExp(`Closes #${number}\\b`);
  return [...(world?.issues.values() ?? [])].filter(
    (issue) => issue.pull && issue.user.login === bot && closes.test(issue.body ?? ""),
  );
}

function repoOf(sandbox: Sandbox, repoFullName: string) {
  const [owner = "", name = ""] = repoFullName.split("/");
  return { world: sandbox.world.repo(owner, name), bot: sandbox.world.app?.bot.login };
}
