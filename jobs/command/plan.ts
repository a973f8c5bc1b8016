import type { CommandOutcome, CommandRunKey } from "../../src/db/commands.ts";
import { shownProposal } from "../../src/db/plans.ts";
import type { Command } from "../../src/graph/commands.ts";
import type { CommandContext } from "./apply.ts";

const said = (applied: boolean, say: string | null): CommandOutcome => ({
  applied,
  say,
  changed: false,
  help: false,
});

/**
 * `/drover plan` and `/drover plan accept [--no-label]` on an issue. Planning runs an agent for minutes,
 * so it is queued on the agents lane (jobs/plan.ts) and answered there; accepting queues the creation of
 * the issue's shown proposal as its sub-issues, its tasks started as `/drover run` by the person who
 * accepted would (jobs/plan/accept.ts), answered there too.
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
  return accept(ctx, run, command.label, record);
}

/**
 * The issue's shown proposal, accepted: created and started by a job of its own (jobs/plan/accept.ts), which
 * replies with what it made; a large plan is minutes of paced writes, not a command's to hold a slot for.
 */
async function accept(
  ctx: CommandContext,
  run: CommandRunKey,
  labelled: boolean,
  record: (outcome: CommandOutcome) => Promise<CommandOutcome>,
): Promise<CommandOutcome> {
  const { deps, source } = ctx;
  const proposal = await shownProposal(deps.db, source.repository.id, source.number);
  if (!proposal?.items || proposal.version === null)
    return record(said(false, "There is no proposal to accept on this issue: `/drover plan` makes one."));
  // Queued before it is recorded: a job run again after a crash here queues the same job id, once.
  await deps.enqueue("plan-accept", {
    deliveryId: run.deliveryId,
    index: run.index,
    proposalId: proposal.id,
    label: labelled,
    by: { login: source.author.login, id: source.author.id },
  });
  return record(said(true, null));
}
