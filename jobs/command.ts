import { commandRunsOf } from "../src/db/commands.ts";
import { getDelivery, markDeliveryProcessed } from "../src/db/deliveries.ts";
import { upsertRepository } from "../src/db/repositories.ts";
import { authorise } from "../src/github/people.ts";
import { react } from "../src/github/reactions.ts";
import { repoRef } from "../src/github/types.ts";
import { parseCommands } from "../src/graph/commands.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import { answer, nameOf, refuseAll, type Answered } from "./command/answer.ts";
import { applyCommand, taskOf, type CommandContext } from "./command/apply.ts";
import { showTask } from "./show-task.ts";
import { commentSourceOf } from "./command/source.ts";
import type { JobDeps } from "./deps.ts";

/**
 * A comment (on an issue, a pull request, a pull request's diff) or a review with `/drover` commands:
 * 👀 at once; then, if its author may steer Drover, each command applied to the task in order (once per
 * delivery, whatever runs the job again), 🚀 for those applied, the task's status shown, a scheduling
 * pass; and one reply with whatever needs saying (refusals with the state and what would work, the help).
 */
export async function commandJob(deps: JobDeps, payload: { deliveryId: string }): Promise<void> {
  const delivery = await getDelivery(deps.db, payload.deliveryId);
  if (!delivery) throw new PermanentJobError(`delivery ${payload.deliveryId} is not recorded`);
  if (delivery.processedAt) return;
  const done = (outcome: string) => markDeliveryProcessed(deps.db, delivery.id, outcome);
  const source = commentSourceOf(delivery.event, delivery.payload);
  const commands = parseCommands(source.body);
  if (commands.length === 0) return done("no command");
  const runs = await commandRunsOf(deps.db, delivery.id);
  const answered = commands.every((command) => runs.get(command.index)?.answered === true);
  if (answered) return done("answered before");

  const log = deps.log.child({
    deliveryId: delivery.id,
    repo: source.repository.full_name,
    on: source.number,
  });
  const repo = repoRef(source.repository.full_name);
  const octokit = await deps.github.installation(source.installationId);
  // 1. Seen: before anything slow, so the person knows Drover has it.
  if (runs.size === 0 && source.reactTo) await react(octokit, repo, source.reactTo, "eyes");

  // 2. Only people with write access steer Drover: anyone else gets one reply and nothing is applied.
  const ctx: CommandContext = { deps, octokit, repo, source, deliveryId: delivery.id };
  const access = await authorise(octokit, repo, source.author);
  if (!access.allowed) {
    log.info({ author: source.author.login, reason: access.reason }, "commands refused");
    await answer(ctx, await refuseAll(ctx, commands, access), "none");
    return done(`refused: ${access.reason}`);
  }

  // 3. Each command in order, each seeing what the ones before it did.
  await upsertRepository(deps.db, {
    id: source.repository.id,
    installationId: source.installationId,
    fullName: source.repository.full_name,
    cloneUrl: source.repository.clone_url,
    defaultBranch: source.repository.default_branch,
  });
  const outcomes: Answered[] = [];
  for (const command of commands) {
    const outcome = runs.get(command.index)?.outcome ?? (await applyCommand(ctx, command));
    outcomes.push({ command, outcome });
  }
  log.info(
    { commands: outcomes.map(({ command, outcome }) => [nameOf(command), outcome.applied]) },
    "commands applied",
  );

  // 4. The task as it is now, on its issue, and a pass to start (or hold) what changed.
  const task = await taskOf(ctx);
  if (task && outcomes.some(({ outcome }) => outcome.changed)) await showTask(deps, octokit, repo, task.id);
  if (outcomes.some(({ outcome }) => outcome.applied)) await requestSchedule(deps);

  // 5. The answer: 🚀 for what was applied, one reply for everything that needs words.
  await answer(ctx, outcomes, task?.state ?? "none");
  const applied = outcomes.filter(({ outcome }) => outcome.applied).length;
  await done(`${applied} of ${outcomes.length} applied`);
}
