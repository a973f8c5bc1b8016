import { relativizePaths, scrubSecrets, secretValues } from "../../src/agent/scrub.ts";
import { loadRepoConfig } from "../../src/config/load.ts";
import { CONFIG_PATH, type DroverConfig } from "../../src/config/schema.ts";
import {
  commandRunsOf,
  recordCommandRun,
  type CommandOutcome,
  type CommandRunKey,
} from "../../src/db/commands.ts";
import { markPlanAccepted, planRunById } from "../../src/db/plans.ts";
import { getRepository, type Repository } from "../../src/db/repositories.ts";
import { findTask } from "../../src/db/tasks.ts";
import { backlogLabels, createBacklog } from "../../src/github/backlog-create.ts";
import { reply } from "../../src/github/comments.ts";
import { renderConfigProblems } from "../../src/github/render.ts";
import { renderAccepted, renderAcceptError } from "../../src/github/render-plan.ts";
import { repoRef, type Octokit } from "../../src/github/types.ts";
import { proposalPrefix, withIdPrefix } from "../../src/graph/plan.ts";
import type { JobPayload } from "../../src/queue/job-catalog.ts";
import { PermanentJobError } from "../../src/queue/queue.ts";
import type { JobContext, JobDeps } from "../deps.ts";
import { homePaths } from "../run-task/paths.ts";
import { showAndTrigger } from "../trigger-task.ts";

const applied: CommandOutcome = { applied: true, say: null, changed: false, help: false };

/**
 * `/drover plan accept`, queued by the command (jobs/command/plan.ts): the proposal it found created as
 * sub-issues of the spec issue (src/github/backlog-create.ts finds what an earlier run made), its tasks
 * started, and the issues made listed in a reply. Replied once: a job run again after the reply says
 * nothing more; one that fails for good says why, and that accepting again finishes it.
 */
export async function acceptJob(
  deps: JobDeps,
  payload: JobPayload<"plan-accept">,
  context: Pick<JobContext, "fate">,
): Promise<void> {
  const replied = {
    deliveryId: `${payload.deliveryId}#${payload.index}:plan-accepted`,
    index: 0,
    command: "plan",
    author: payload.by.login,
  } satisfies CommandRunKey;
  if ((await commandRunsOf(deps.db, replied.deliveryId)).size > 0) return;
  const proposal = await planRunById(deps.db, payload.proposalId);
  if (!proposal?.items || proposal.version === null)
    throw new PermanentJobError(`plan run ${payload.proposalId} has no proposal`);
  const repository = await getRepository(deps.db, proposal.repoId);
  if (!repository) throw new PermanentJobError(`repository ${proposal.repoId} is not recorded`);
  const octokit = await deps.github.installation(repository.installationId);
  const repo = repoRef(repository.fullName);
  const issueNumber = proposal.issueNumber;

  let body: string;
  try {
    const config = await loadRepoConfig(octokit, repo);
    if (!config.ok) body = renderConfigProblems(config.problems, CONFIG_PATH);
    else {
      const items = withIdPrefix(proposal.items, proposalPrefix(issueNumber, proposal.version));
      const label = config.config.label;
      const result = await createBacklog(octokit, repo, items, {
        label: payload.label ? label : null,
        under: issueNumber,
        dryRun: false,
        botLogin: await deps.github.botLogin(),
      });
      await markPlanAccepted(deps.db, proposal.id, payload.by.login);
      const byId = new Map(items.map((item) => [item.id, item]));
      const created = result.items.map((outcome) => {
        const item = byId.get(outcome.id);
        return {
          title: item?.title ?? outcome.id,
          kind: item?.kind ?? ("task" as const),
          number: outcome.number,
          url: outcome.url,
          created: outcome.created,
          // Made by this run with the Drover label (backlogLabels): starting it adds the label again to none.
          labelled:
            outcome.created &&
            item !== undefined &&
            payload.label &&
            backlogLabels(item, label).includes(label),
        };
      });
      const { started, left } = payload.label
        ? await startTasks(deps, { repository, octokit, config: config.config, by: payload.by }, created)
        : { started: 0, left: 0 };
      body = renderAccepted({ created, started, left, labelled: payload.label, label });
    }
  } catch (error) {
    // Tried for the last time (or never to work): the person who accepted hears why, not silence.
    if (context.fate(error).kind !== "final") throw error;
    deps.log.error(
      { err: error, repo: repository.fullName, on: issueNumber },
      "accepting a plan failed for good",
    );
    const message = relativizePaths(
      scrubSecrets((error as Error).message, secretValues(process.env)),
      await homePaths(deps.env.DROVER_HOME),
    );
    body = renderAcceptError(message);
  }
  await reply(octokit, repo, issueNumber, body);
  await recordCommandRun(deps.db, replied, null, applied);
}

/**
 * The plan's tasks, started as `/drover run` by the person who accepted would start them: the App's own
 * label starts nothing (Drover drops its own webhooks), and this person asked for them. A task is started
 * by an accept at most once ever, whoever accepts again and whatever runs the job again: one that is a
 * Drover task already (started by an earlier accept, or by a person) is left as it is, in review, done or
 * failed alike, and the start is claimed per repository and issue (a command run keyed by both), so an
 * accept interrupted between its claim and the task row is not started twice either.
 */
async function startTasks(
  deps: JobDeps,
  on: { repository: Repository; octokit: Octokit; config: DroverConfig; by: { login: string; id: number } },
  created: readonly { kind: string; number: number | null; title: string; labelled: boolean }[],
): Promise<{ started: number; left: number }> {
  const { repository, by } = on;
  let started = 0;
  let left = 0;
  for (const task of created) {
    if (task.kind !== "task" || task.number === null) continue;
    const number = task.number;
    if (await findTask(deps.db, repository.id, number)) {
      left += 1;
      continue;
    }
    const key = { ...acceptStartKey(repository.id, number), author: by.login };
    const trigger = await showAndTrigger(deps, {
      installationId: repository.installationId,
      repoFullName: repository.fullName,
      repoId: repository.id,
      octokit: on.octokit,
      config: on.config,
      // Made by the App for this person: credited to them, as its author.
      issue: { number, title: task.title, author: by },
      by: by.login,
      cause: "run",
      ...(task.labelled ? { labelled: true as const } : {}),
      claim: { tx: (tx) => recordCommandRun(tx, key, null, applied) },
    });
    if (trigger.kind === "created" || trigger.kind === "restarted") started += 1;
    else left += 1;
  }
  return { started, left };
}

/** The command run that claims starting issue `number` of repository `repoId` from an accepted plan: one per issue, ever. */
function acceptStartKey(repoId: number, number: number): Omit<CommandRunKey, "author"> {
  return { deliveryId: `plan-accept-start:${repoId}`, index: number, command: "run" };
}
