import { randomInt } from "node:crypto";
import { commandRunsOf, recordCommandRun } from "../src/db/commands.ts";
import { findRepository } from "../src/db/repositories.ts";
import { getIssue } from "../src/db/graph-rows.ts";
import { findTask, type Task } from "../src/db/tasks.ts";
import { webUrlOf } from "../src/github/discussion.ts";
import { authorise } from "../src/github/people.ts";
import { readIssueFacts } from "../src/github/read-issues.ts";
import { repoRef, type Octokit, type RepoRef } from "../src/github/types.ts";
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
 *
 * An operator's control (`via: "operator"`, the `drover` command line: `retry --failed`, `import-jsonl`)
 * is not asked about on GitHub: whoever runs the command already holds Drover's database and queue. It
 * acts as the App: the task is credited to the App's bot (read here, once per process), and `author` (who
 * ran the command) goes to the log. `/drover run` may name an issue that is no task yet (one just
 * imported): the issue is read from GitHub, as a comment's webhook would have carried it.
 */
export async function controlJob(deps: JobDeps, payload: JobPayload<"control">): Promise<void> {
  const done = await commandRunsOf(deps.db, payload.controlId);
  if (done.size > 0) return;
  const repository = await findRepository(deps.db, payload.repoFullName);
  if (!repository) throw new PermanentJobError(`repository ${payload.repoFullName} is not recorded`);
  const task = await findTask(deps.db, repository.id, payload.number);
  const [parsed] = parseCommands(payload.command);
  if (!parsed) throw new PermanentJobError(`"${payload.command.slice(0, 40)}" is no /drover command`);
  const commandName = parsed.ok ? parsed.command.name : "unknown";
  // Only `/drover run` makes an issue a task; any other control needs one.
  if (!task && commandName !== "run")
    throw new PermanentJobError(`${payload.repoFullName}#${payload.number} is no Drover task`);

  const octokit = await deps.github.installation(repository.installationId);
  const repo = repoRef(repository.fullName);
  const author =
    payload.via === "operator"
      ? { login: await deps.github.botLogin(), id: 0, type: "Bot" }
      : { ...payload.author, type: "User" };
  const run = { deliveryId: payload.controlId, index: 0, author: author.login };
  if (payload.via === "person") {
    const access = await authorise(octokit, repo, { login: payload.author.login, type: "User" });
    if (!access.allowed) {
      await recordCommandRun(deps.db, { ...run, command: commandName }, task?.id ?? null, {
        applied: false,
        say: `${payload.author.login} cannot steer Drover here: GitHub says their permission is "${access.permission}" (write, maintain or admin is needed).`,
        changed: false,
        help: false,
      });
      return;
    }
  }

  const issue = await issueOf(deps, octokit, repo, payload, task);
  const source: CommentSource = {
    kind: "dashboard",
    // Unique among this repository's dashboard hints (`hints.source_id` is `dashboard:<id>`).
    id: randomInt(1, 2 ** 47),
    body: payload.command,
    author,
    url: `${webUrlOf(octokit)}/${repository.fullName}/issues/${payload.number}`,
    number: payload.number,
    pullRequest: null,
    issue,
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
      task: task?.id ?? null,
      issue: payload.number,
      command: commandName,
      by: author.login,
      via: payload.via,
      ...(payload.via === "operator" ? { requestedBy: payload.author.login } : {}),
      applied: outcome.applied,
    },
    "control applied",
  );
  if (outcome.changed && task) await showTask(deps, octokit, repo, task.id);
  if (outcome.applied) await requestSchedule(deps);
}

/**
 * The issue the control is about, as a comment's webhook would carry it: a task's from what Drover
 * recorded, an issue that is no task yet (an operator's `/drover run`) read from GitHub.
 */
async function issueOf(
  deps: JobDeps,
  octokit: Octokit,
  repo: RepoRef,
  payload: JobPayload<"control">,
  task: Task | undefined,
): Promise<NonNullable<CommentSource["issue"]>> {
  if (task) {
    const recorded = await getIssue(deps.db, issueKey(payload.repoFullName, task.issueNumber));
    return {
      number: task.issueNumber,
      title: task.title,
      author: { login: task.createdBy, id: task.createdById ?? 0 },
      state: recorded?.state ?? "open",
    };
  }
  const read = await readIssueFacts(octokit, repo, payload.number);
  if (!read.ok) throw new PermanentJobError(`${payload.repoFullName}#${payload.number}: ${read.reason}`);
  if (read.issue.isPullRequest)
    throw new PermanentJobError(`${payload.repoFullName}#${payload.number} is a pull request, not an issue`);
  const { number, title, author, state } = read.issue;
  return { number, title, author, state };
}
