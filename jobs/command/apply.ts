import { loadRepoConfig } from "../../src/config/load.ts";
import { CONFIG_PATH } from "../../src/config/schema.ts";
import {
  commandRunsOf,
  recordCommandRun,
  steerTask,
  type CommandOutcome,
  type CommandRunKey,
} from "../../src/db/commands.ts";
import { findTask, findTaskByPullRequest, type Task } from "../../src/db/tasks.ts";
import { webUrlOf } from "../../src/github/discussion.ts";
import { setManagedLabels } from "../../src/github/labels.ts";
import { renderConfigProblems } from "../../src/github/render.ts";
import type { Octokit, RepoRef } from "../../src/github/types.ts";
import {
  appliesIn,
  isPriorityLabel,
  priorityLabel,
  type ParsedCommand,
  type PriorityName,
} from "../../src/graph/commands.ts";
import type { JobDeps } from "../deps.ts";
import { syncIssue } from "../sync-issue.ts";
import { showAndTrigger, startStory } from "../trigger-task.ts";
import { decide, refused } from "./decide.ts";
import { planCommand } from "./plan.ts";
import { baseBranchOf } from "../../src/db/base-pulls.ts";
import { pullBase, stackOf } from "../../src/db/stacks.ts";
import { showTask } from "../show-task.ts";
import type { CommentSource } from "./source.ts";

export type CommandContext = {
  deps: JobDeps;
  octokit: Octokit;
  repo: RepoRef;
  source: CommentSource;
  deliveryId: string;
};

const said = (applied: boolean, say: string | null): CommandOutcome => ({
  applied,
  say,
  changed: false,
  help: false,
});

/** The task the comment is about: its issue's, or the one whose pull request (or branch) it is on. */
export async function taskOf(ctx: CommandContext): Promise<Task | undefined> {
  const { db } = ctx.deps;
  const repoId = ctx.source.repository.id;
  return ctx.source.pullRequest
    ? findTaskByPullRequest(db, repoId, ctx.source.pullRequest)
    : findTask(db, repoId, ctx.source.number);
}

/** Applies one command of the comment (once per delivery and index) and says what came of it. */
export async function applyCommand(ctx: CommandContext, parsed: ParsedCommand): Promise<CommandOutcome> {
  const run: CommandRunKey = {
    deliveryId: ctx.deliveryId,
    index: parsed.index,
    command: parsed.ok ? parsed.command.name : "unknown",
    author: ctx.source.author.login,
  };
  const task = await taskOf(ctx);
  if (!parsed.ok)
    return record(ctx, run, task, { ...said(false, `\`${parsed.line}\`: ${parsed.problem}.`), help: true });
  const command = parsed.command;
  switch (command.name) {
    case "help":
      return record(ctx, run, task, { ...said(true, null), help: true });
    case "run":
      return runIssue(ctx, run, task);
    case "priority":
      return setPriority(ctx, run, task, command.level);
    case "status":
      return linkStatus(ctx, run, task);
    case "plan":
      return planCommand(ctx, run, command, (outcome) => record(ctx, run, task, outcome));
    default: {
      if (!task) return record(ctx, run, task, refused(command.name, "none"));
      // A closed issue's task is finished: starting it again would run work nobody wants merged.
      const starts =
        command.name === "retry" || command.name === "resume" || (command.name === "hint" && command.restart);
      if (starts && ctx.source.issue?.state === "closed")
        return record(ctx, run, task, said(false, closedIssue(parsed.line)));
      // A stacked task's conflicts are with its blocker's branch, which its pull request targets.
      const stack = task.state === "conflict" ? await stackOf(ctx.deps.db, task.id) : null;
      const prBase = pullBase(stack, baseBranchOf(task, ctx.source.repository.default_branch));
      const result = await steerTask(ctx.deps.db, task.id, run, (locked) =>
        decide(command, parsed.index, locked, ctx.source, prBase),
      );
      return result.outcome;
    }
  }
}

/** Records an outcome that changes no task; the outcome recorded first when another run was quicker. */
async function record(
  ctx: CommandContext,
  run: CommandRunKey,
  task: Task | undefined,
  outcome: CommandOutcome,
): Promise<CommandOutcome> {
  if (await recordCommandRun(ctx.deps.db, run, task?.id ?? null, outcome)) return outcome;
  return (await commandRunsOf(ctx.deps.db, run.deliveryId)).get(run.index)?.outcome ?? outcome;
}

/** `/drover run`: the issue becomes a task (or starts again) as the label would, credited to the commenter. */
async function runIssue(
  ctx: CommandContext,
  run: CommandRunKey,
  task: Task | undefined,
): Promise<CommandOutcome> {
  const { deps, octokit, repo, source } = ctx;
  if (task && !appliesIn("run", task.state)) return record(ctx, run, task, refused("run", task.state));
  const issue = task
    ? { number: task.issueNumber, title: task.title, author: { login: task.createdBy, id: task.createdById } }
    : source.issue;
  if (!issue)
    return record(
      ctx,
      run,
      task,
      said(
        false,
        "`/drover run` starts an issue, and this pull request is not a Drover task's: comment on the issue.",
      ),
    );
  if (source.issue?.state === "closed")
    return record(
      ctx,
      run,
      task,
      said(false, "`/drover run` did nothing: the issue is closed. Reopen it first."),
    );
  const config = await loadRepoConfig(octokit, repo);
  if (!config.ok)
    return record(ctx, run, task, said(false, renderConfigProblems(config.problems, CONFIG_PATH)));

  const request = {
    installationId: source.installationId,
    repoFullName: source.repository.full_name,
    repoId: source.repository.id,
    octokit,
    config: config.config,
    by: source.author.login,
  };
  const applied = said(true, null);
  const trigger = await showAndTrigger(deps, {
    ...request,
    issue,
    cause: "run",
    claim: { tx: (tx) => recordCommandRun(tx, run, task?.id ?? null, applied) },
  });
  if (trigger.kind === "applied-before")
    return (await commandRunsOf(deps.db, run.deliveryId)).get(run.index)?.outcome ?? applied;
  if (trigger.kind === "already-active")
    return record(ctx, run, trigger.task, refused("run", trigger.task.state));
  await startStory(deps, { ...request, parent: issue.number });
  return applied;
}

/** `/drover priority <level>`: the one priority label, then the issue read again for the scheduler. */
async function setPriority(
  ctx: CommandContext,
  run: CommandRunKey,
  task: Task | undefined,
  level: PriorityName,
): Promise<CommandOutcome> {
  const number = task?.issueNumber ?? ctx.source.issue?.number;
  if (number === undefined)
    return record(
      ctx,
      run,
      task,
      said(false, "`/drover priority` sets an issue's label, and this pull request is not a Drover task's."),
    );
  // The one priority label wanted; every other label naming a priority goes (the scheduler reads the most
  // urgent of them).
  await setManagedLabels(ctx.octokit, ctx.repo, number, [priorityLabel(level)], isPriorityLabel);
  await syncIssue(ctx.deps, {
    installationId: ctx.source.installationId,
    repoFullName: ctx.source.repository.full_name,
    number,
    links: false,
  });
  return record(ctx, run, task, said(true, null));
}

/** `/drover status`: the status comment shown afresh, and a link to it. */
async function linkStatus(
  ctx: CommandContext,
  run: CommandRunKey,
  task: Task | undefined,
): Promise<CommandOutcome> {
  if (!task) return record(ctx, run, task, refused("status", "none"));
  const commentId = await showTask(ctx.deps, ctx.octokit, ctx.repo, task.id);
  const url = `${webUrlOf(ctx.octokit)}/${ctx.source.repository.full_name}/issues/${task.issueNumber}#issuecomment-${commentId}`;
  return record(ctx, run, task, said(true, `The status comment is up to date: ${url}`));
}

function closedIssue(line: string): string {
  return `\`${line}\` did nothing: the issue is closed. Reopen it first.`;
}
