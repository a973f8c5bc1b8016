import { loadRepoConfig } from "../../src/config/load.ts";
import { CONFIG_PATH } from "../../src/config/schema.ts";
import { recordCommandRun, type CommandOutcome, type CommandRunKey } from "../../src/db/commands.ts";
import { markPlanAccepted, shownProposal } from "../../src/db/plans.ts";
import { createBacklog } from "../../src/github/backlog-create.ts";
import { renderConfigProblems } from "../../src/github/render.ts";
import { renderAccepted } from "../../src/github/render-plan.ts";
import type { Command } from "../../src/graph/commands.ts";
import { proposalPrefix, withIdPrefix } from "../../src/graph/plan.ts";
import { findTask } from "../../src/db/tasks.ts";
import { showAndTrigger } from "../trigger-task.ts";
import type { CommandContext } from "./apply.ts";

const said = (applied: boolean, say: string | null): CommandOutcome => ({
  applied,
  say,
  changed: false,
  help: false,
});

/**
 * `/drover plan` and `/drover plan accept [--no-label]` on an issue. Planning runs an agent for minutes,
 * so it is queued on the agents lane (jobs/plan.ts) and answered there; accepting creates the issue's
 * shown proposal as its sub-issues and starts the tasks as `/drover run` by the person who accepted would.
 * Returns the outcome to record; `record` keeps the first one recorded.
 */
export async function planCommand(
  ctx: CommandContext,
  run: CommandRunKey,
  command: Extract<Command, { name: "plan" }>,
  record: (outcome: CommandOutcome) => Promise<CommandOutcome>,
): Promise<CommandOutcome> {
  const { source } = ctx;
  if (!source.issue || source.pullRequest)
    return record(
      said(false, "`/drover plan` plans from an issue's spec: comment on the issue, not a pull request."),
    );
  if (source.issue.state === "closed")
    return record(said(false, `\`/drover plan\` did nothing: the issue is closed. Reopen it first.`));
  if (!command.accept) {
    // Queued before it is recorded: a job run again after a crash here queues the same job id, once.
    await ctx.deps.enqueue("plan", { deliveryId: ctx.deliveryId, index: run.index });
    return record(
      said(
        true,
        "Planning: the agent reads this issue's spec (and the files of the repository it links) in a read-only checkout. Its proposal follows in a comment here.",
      ),
    );
  }
  return accept(ctx, command.label, record);
}

async function accept(
  ctx: CommandContext,
  labelled: boolean,
  record: (outcome: CommandOutcome) => Promise<CommandOutcome>,
): Promise<CommandOutcome> {
  const { deps, octokit, repo, source } = ctx;
  const issueNumber = source.number;
  const proposal = await shownProposal(deps.db, source.repository.id, issueNumber);
  if (!proposal?.items || proposal.version === null)
    return record(said(false, "There is no proposal to accept on this issue: `/drover plan` makes one."));
  const config = await loadRepoConfig(octokit, repo);
  if (!config.ok) return record(said(false, renderConfigProblems(config.problems, CONFIG_PATH)));
  const label = config.config.label;

  const items = withIdPrefix(proposal.items, proposalPrefix(issueNumber, proposal.version));
  const result = await createBacklog(octokit, repo, items, {
    label: labelled ? label : null,
    under: issueNumber,
    dryRun: false,
  });
  await markPlanAccepted(deps.db, proposal.id, source.author.login);
  const byId = new Map(items.map((item) => [item.id, item]));
  const created = result.items.map((outcome) => {
    const item = byId.get(outcome.id);
    return {
      title: item?.title ?? outcome.id,
      kind: item?.kind ?? ("task" as const),
      number: outcome.number,
      url: outcome.url,
      created: outcome.created,
    };
  });
  const { started, left } = labelled
    ? await startTasks(ctx, created, config.config)
    : { started: 0, left: 0 };
  return record(said(true, renderAccepted({ created, started, left, labelled, label })));
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
  ctx: CommandContext,
  created: readonly { kind: string; number: number | null; title: string }[],
  config: Parameters<typeof showAndTrigger>[1]["config"],
): Promise<{ started: number; left: number }> {
  const { deps, octokit, source } = ctx;
  const applied = said(true, null);
  let started = 0;
  let left = 0;
  for (const task of created) {
    if (task.kind !== "task" || task.number === null) continue;
    const number = task.number;
    if (await findTask(deps.db, source.repository.id, number)) {
      left += 1;
      continue;
    }
    const key = { ...acceptStartKey(source.repository.id, number), author: source.author.login };
    const trigger = await showAndTrigger(deps, {
      installationId: source.installationId,
      repoFullName: source.repository.full_name,
      repoId: source.repository.id,
      octokit,
      config,
      // Made by the App for this person: credited to them, as its author.
      issue: { number, title: task.title, author: { login: source.author.login, id: source.author.id } },
      by: source.author.login,
      cause: "run",
      claim: { tx: (tx) => recordCommandRun(tx, key, null, applied) },
    });
    if (trigger.kind === "created" || trigger.kind === "restarted") started += 1;
    else left += 1;
  }
  return { started, left };
}

/** The command run that claims starting issue `number` of repository `repoId` from an accepted plan: one per issue, ever. */
export function acceptStartKey(repoId: number, number: number): Omit<CommandRunKey, "author"> {
  return { deliveryId: `plan-accept-start:${repoId}`, index: number, command: "run" };
}
