import { randomInt } from "node:crypto";
import { commandRunsOf, recordCommandRun } from "../src/db/commands.ts";
import { findRepository } from "../src/db/repositories.ts";
import { getIssue } from "../src/db/graph-rows.ts";
import { findTask } from "../src/db/tasks.ts";
import { webUrlOf } from "../src/github/discussion.ts";
import { authorise } from "../src/github/people.ts";
import { repoRef } from "../src/github/types.ts";
import { issueKey } from "../src/graph/model.ts";
import { parseCommands } from "../src/graph/commands.ts";
import type { JobPayload } from "../src/queue/job-catalog.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import { applyCommand, type CommandContext } from "./command/apply.ts";
import type { CommentSource } from "./command/source.ts";
import type { JobDeps } from "./deps.ts";
import { showTask } from "./show-task.ts";

/**
 * A control used on the dashboard, applied as the `/drover` command it stands for, by the person who
 * used it: authorised again (access may have changed since the page was drawn), applied once per control
 * id whatever runs the job again (`command_runs` keyed by `dashboard-<id>`), the task's status shown on its
 * issue, a scheduling pass. The page reads what came of it from `command_runs`; nothing is said on GitHub
 * beyond the status comment, as no comment asked.
 */
export async function controlJob(deps: JobDeps, payload: JobPayload<"control">): Promise<void> {
  const done = await commandRunsOf(deps.db, payload.controlId);
  if (done.size > 0) return;
  const repository = await findRepository(deps.db, payload.repoFullName);
  if (!repository) throw new PermanentJobError(`repository ${payload.repoFullName} is not recorded`);
  const task = await findTask(deps.db, repository.id, payload.number);
  if (!task) throw new PermanentJobError(`${payload.repoFullName}#${payload.number} is no Drover task`);
  const [parsed] = parseCommands(payload.command);
  if (!parsed) throw new PermanentJobError(`"${payload.command.slice(0, 40)}" is no /drover command`);

  const octokit = await deps.github.installation(repository.installationId);
  const repo = repoRef(repository.fullName);
  const run = { deliveryId: payload.controlId, index: 0, author: payload.author.login };
  const commandName = parsed.ok ? parsed.command.name : "unknown";
  if (payload.via === "person") {
    const access = await authorise(octokit, repo, { login: payload.author.login, type: "User" });
    if (!access.allowed) {
      await recordCommandRun(deps.db, { ...run, command: commandName }, task.id, {
        applied: false,
        say: `${payload.author.login} cannot steer Drover here: GitHub says their permission is "${access.permission}" (write, maintain or admin is needed).`,
        changed: false,
        help: false,
      });
      return;
    }
  }

  const issue = await getIssue(deps.db, issueKey(repository.fullName, task.issueNumber));
  const source: CommentSource = {
    kind: "dashboard",
    // Unique among this repository's dashboard hints (`hints.source_id` is `dashboard:<id>`).
    id: randomInt(1, 2 ** 47),
    body: payload.command,
    author: { login: payload.author.login, id: payload.author.id, type: "User" },
    url: `${webUrlOf(octokit)}/${repository.fullName}/issues/${task.issueNumber}`,
    number: task.issueNumber,
    pullRequest: null,
    issue: {
      number: task.issueNumber,
      title: task.title,
      author: { login: task.createdBy, id: task.createdById ?? 0 },
      state: issue?.state ?? "open",
    },
    repository: {
      id: repository.id,
      full_name: repository.fullName,
      clone_url: repository.cloneUrl,
      default_branch: repository.defaultBranch,
    },
    installationId: repository.installationId,
    reactTo: null,
  };
  const ctx: CommandContext = { deps, octokit, repo, source, deliveryId: payload.controlId };
  const outcome = await applyCommand(ctx, parsed);
  deps.log.info(
    {
      control: payload.controlId,
      task: task.id,
      command: commandName,
      by: payload.author.login,
      applied: outcome.applied,
    },
    "dashboard control applied",
  );
  if (outcome.changed) await showTask(deps, octokit, repo, task.id);
  if (outcome.applied) await requestSchedule(deps);
}
