import { markCommandsAnswered, recordCommandRun, type CommandOutcome } from "../../src/db/commands.ts";
import { reply } from "../../src/github/comments.ts";
import type { Authorisation } from "../../src/github/people.ts";
import { react } from "../../src/github/reactions.ts";
import { renderCommandReply, renderHelp, renderNotAllowed } from "../../src/github/render-commands.ts";
import type { ParsedCommand, TaskStateOrNone } from "../../src/graph/commands.ts";
import type { CommandContext } from "./apply.ts";

export type Answered = { command: ParsedCommand; outcome: CommandOutcome };

export function nameOf(command: ParsedCommand): string {
  return command.ok ? command.command.name : "unknown";
}

/**
 * A comment whose author may not steer Drover: every command recorded as refused (nothing applied), the
 * first carrying the one sentence that answers them all.
 */
export async function refuseAll(
  ctx: CommandContext,
  commands: readonly ParsedCommand[],
  access: Extract<Authorisation, { allowed: false }>,
): Promise<Answered[]> {
  const refusal = renderNotAllowed({ login: ctx.source.author.login, ...access });
  const answered: Answered[] = [];
  for (const command of commands) {
    const outcome = {
      applied: false,
      say: command.index === 0 ? refusal : null,
      changed: false,
      help: false,
    };
    const run = {
      deliveryId: ctx.deliveryId,
      index: command.index,
      command: nameOf(command),
      author: ctx.source.author.login,
    };
    await recordCommandRun(ctx.deps.db, run, null, outcome);
    answered.push({ command, outcome });
  }
  return answered;
}

/**
 * Answers the comment once: 🚀 when a command was applied, and one reply holding whatever needs words
 * (refusals, where a hint applies, the help for `state`). A review's body takes no reaction: what was
 * applied is said instead. Then the commands are marked answered, so a run of the job again says nothing.
 */
export async function answer(
  ctx: CommandContext,
  answered: readonly Answered[],
  state: TaskStateOrNone,
): Promise<void> {
  const { octokit, repo, source } = ctx;
  const parts = answered.flatMap(({ command, outcome }) => {
    if (outcome.say) return [outcome.say];
    return outcome.applied && !source.reactTo && !outcome.help ? [`\`${command.line}\`: done.`] : [];
  });
  if (answered.some(({ outcome }) => outcome.help)) parts.push(renderHelp(state));
  if (source.reactTo && answered.some(({ outcome }) => outcome.applied && !outcome.help))
    await react(octokit, repo, source.reactTo, "rocket");
  if (parts.length > 0)
    await reply(
      octokit,
      repo,
      source.number,
      renderCommandReply({ author: source.author.login, url: source.url, parts }),
    );
  await markCommandsAnswered(ctx.deps.db, ctx.deliveryId);
}
