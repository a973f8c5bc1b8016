import type { AttemptStart } from "../../src/db/attempt-start.ts";
import type { CommandOutcome, Steering } from "../../src/db/commands.ts";
import type { Task } from "../../src/db/tasks.ts";
import { readsInputWhileRunning } from "../../src/agent/adapters/index.ts";
import { taskConfigOrDefaults } from "../../src/config/stored.ts";
import { baseBranchOf } from "../../src/db/base-pulls.ts";
import { renderNotApplied } from "../../src/github/render-commands.ts";
import { appliesIn, type Command } from "../../src/graph/commands.ts";
import type { TaskState } from "../../src/graph/model.ts";
import { hintSourceId, type CommentSource } from "./source.ts";

/** The commands that move or annotate a task, decided from the task as it is when they apply. */
type SteeringCommand = Extract<
  Command,
  { name: "retry" | "hint" | "cancel" | "pause" | "resume" | "resolve" }
>;

const APPLIED: CommandOutcome = { applied: true, say: null, changed: true, help: false };

export function refused(command: Command["name"], state: TaskState | "none"): CommandOutcome {
  return { applied: false, say: renderNotApplied(command, state), changed: false, help: false };
}

/** What `command`, from the author of `source`, does to `task` now. */
/** `prBase`: the branch the task's pull request targets, when it is stacked on a blocker's branch. */
export function decide(
  command: SteeringCommand,
  index: number,
  task: Task,
  source: CommentSource,
  prBase?: string,
): Steering {
  if (!appliesIn(command.name, task.state)) return { outcome: refused(command.name, task.state) };
  const by = source.author.login;
  const start = (from: AttemptStart["from"], cause: AttemptStart["cause"]): AttemptStart => ({
    from,
    cause,
    by,
  });
  switch (command.name) {
    case "retry":
      if (task.state === "conflict" && !command.fresh) return retryConflict(task, source, prBase);
      return {
        outcome: APPLIED,
        move: {
          to: "ready",
          fields: {
            modifiedBy: by,
            stateReason: `retried by @${by}${command.fresh ? " from the base branch" : ""}`,
            nextStart: start(command.fresh ? "base" : "branch", "retry"),
            nextAttemptAt: null,
            completedBy: null,
            doneAt: null,
          },
          cause: { by, data: { command: "retry", fresh: command.fresh } },
        },
      };
    case "hint":
      return decideHint(command, index, task, source);
    case "cancel":
      return {
        outcome: { ...APPLIED, say: stopping(task, "cancelled") },
        move: {
          to: "cancelled",
          fields: {
            modifiedBy: by,
            stateReason: `cancelled by @${by}${command.reason ? `: ${command.reason}` : ""}`,
            nextAttemptAt: null,
          },
          cause: { by, data: { reason: command.reason } },
        },
      };
    case "pause":
      return {
        outcome: { ...APPLIED, say: stopping(task, "paused") },
        move: {
          to: "paused",
          fields: { modifiedBy: by, stateReason: `paused by @${by}`, nextAttemptAt: null },
          cause: { by },
        },
      };
    case "resume":
      return {
        outcome: {
          ...APPLIED,
          say: command.hint ? "The hint is recorded: the attempt that resumes the task follows it." : null,
        },
        move: {
          to: "ready",
          fields: { modifiedBy: by, stateReason: `resumed by @${by}`, nextStart: start("branch", "resume") },
          cause: { by, data: { command: "resume" } },
        },
        hints: command.hint ? [hintRow(source, index, command.hint)] : [],
      };
    case "resolve":
      return {
        outcome: {
          ...APPLIED,
          say: command.note
            ? "Resolved: the tasks waiting on this one are released, and their agents see the note."
            : "Resolved: the tasks waiting on this one are released.",
        },
        move: {
          to: "done",
          fields: {
            completedBy: by,
            modifiedBy: by,
            doneAt: new Date(),
            resolution: command.note || null,
            stateReason: `resolved by @${by}`,
            nextAttemptAt: null,
          },
          cause: { by, data: { note: command.note } },
        },
      };
  }
}

/**
 * `/drover retry` of a task waiting in `conflict`: another attempt at resolving its pull request's
 * conflicts, its base merged in first. A person asked, so `max_conflict_attempts` does not hold it back.
 */
function retryConflict(task: Task, source: CommentSource, prBase: string | undefined): Steering {
  const by = source.author.login;
  const base = prBase ?? baseBranchOf(task, source.repository.default_branch);
  const nextStart: AttemptStart = {
    from: "branch",
    cause: "conflict",
    by,
    ...(task.prNumber !== null ? { prNumber: task.prNumber } : {}),
    merge: { branch: base },
  };
  return {
    outcome: APPLIED,
    move: {
      to: "ready",
      fields: {
        modifiedBy: by,
        stateReason: `retried by @${by}: the agent resolves the conflicts with \`${base}\``,
        nextStart,
        nextAttemptAt: null,
      },
      cause: { by, data: { command: "retry", cause: "conflict" } },
    },
  };
}

/** States `hint --restart` starts a new attempt from at once (on top of the task branch). */
const RESTARTABLE: readonly TaskState[] = ["running", "review", "blocked", "failed", "cancelled", "paused"];

function decideHint(
  command: Extract<Command, { name: "hint" }>,
  index: number,
  task: Task,
  source: CommentSource,
): Steering {
  const by = source.author.login;
  const hints = [hintRow(source, index, command.text)];
  if (command.restart && RESTARTABLE.includes(task.state)) {
    const running = task.state === "running";
    return {
      outcome: {
        ...APPLIED,
        say: running
          ? `Hint recorded. The running attempt stops (its work so far is pushed to \`${task.branch}\`), and the next one starts from there with the hint.`
          : `Hint recorded. A new attempt starts from \`${task.branch}\` with the hint.`,
      },
      move: {
        to: "ready",
        fields: {
          modifiedBy: by,
          stateReason: `restarted by @${by} with a hint`,
          nextStart: { from: "branch", cause: "restart", by },
          completedBy: null,
          doneAt: null,
        },
        cause: { by, data: { command: "hint", restart: true } },
      },
      hints,
    };
  }
  return {
    outcome: {
      applied: true,
      say: `Hint recorded: ${whenHintApplies(task, command.restart)}`,
      changed: true,
      help: false,
    },
    fields: { modifiedBy: by },
    hints,
  };
}

/**
 * Whether the task's agent reads input while it runs (Claude Code does): its first agent, as drover.yml
 * names it (a failover list's later agents run only after the first could not).
 */
function readsLive(task: Task): boolean {
  const config = taskConfigOrDefaults(task);
  const agent = config.agent[0];
  return agent !== undefined && readsInputWhileRunning(agent, config.agent_args);
}

/** When a hint given now reaches the agent, in a sentence. */
function whenHintApplies(task: Task, restart: boolean): string {
  const nothingRunning = restart ? " (nothing is running, so there is nothing to restart)" : "";
  switch (task.state) {
    case "waiting":
    case "ready":
    case "queued":
      return `${task.attemptCount === 0 ? "the first attempt" : "the next attempt"} follows it${nothingRunning}.`;
    case "running":
      return readsLive(task)
        ? "the running agent reads input while it works, so it is given the hint within seconds (the status comment marks it given); the next attempt follows it too."
        : "the next attempt follows it; the running one goes on without it (`/drover hint --restart <text>` stops it and starts the next at once).";
    case "retrying":
      return `the next attempt follows it${nothingRunning}.`;
    case "paused":
      return "the attempt `/drover resume` starts follows it.";
    default:
      return "the next attempt follows it: `/drover retry` starts one.";
  }
}

function stopping(task: Task, what: "cancelled" | "paused"): string | null {
  if (task.state !== "running") return null;
  return `The running agent is stopped within seconds and its work so far is pushed to \`${task.branch}\`; the task stays ${what}.`;
}

function hintRow(source: CommentSource, index: number, text: string) {
  return {
    kind: "hint" as const,
    author: source.author.login,
    authorId: source.author.id,
    body: text,
    url: source.url,
    // A second hint in the same comment is a hint of its own.
    sourceId: index === 0 ? hintSourceId(source) : `${hintSourceId(source)}#${index}`,
  };
}
