import type { PromptInput, PromptLimits } from "../src/agent/prompt.ts";
import type { DroverConfig } from "../src/config/schema.ts";
import type { Attempt } from "../src/db/attempt-record.ts";
import { blockersOf, recentTasks } from "../src/db/prompt-context.ts";
import type { Repository } from "../src/db/repositories.ts";
import type { Task } from "../src/db/tasks.ts";
import { webUrlOf, writersComments } from "../src/github/discussion.ts";
import type { IssueFacts } from "../src/github/read-issues.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import { issueKey } from "../src/graph/model.ts";
import type { JobDeps } from "./deps.ts";

export type PromptRun = {
  task: Task;
  attempt: Attempt;
  repository: Repository;
  /** The issue as run-task read it. */
  issue: IssueFacts;
  config: DroverConfig;
  /** The installation's client: reads comments and their authors' access. */
  octokit: Octokit;
  /** When the prompt is made, for the ages of recent tasks. [now] */
  now?: Date;
};

/**
 * Everything the prompt shows for one attempt: recent tasks of the repository and the task's blockers
 * (PostgreSQL), and the comments people with write access made on the issue before the attempt was
 * queued (GitHub). The attempt's creation is its trigger: comments made while it waited for its blockers
 * or a worker count, comments made after do not.
 */
export async function gatherPromptInput(deps: Pick<JobDeps, "db">, run: PromptRun): Promise<PromptInput> {
  const { task, attempt, repository, issue, config, octokit } = run;
  const [recent, blockers, comments] = await Promise.all([
    recentTasks(deps.db, { repoId: repository.id, exceptTaskId: task.id, limit: config.task_context_count }),
    blockersOf(deps.db, issueKey(repository.fullName, task.issueNumber)),
    writersComments(octokit, repoRef(repository.fullName), task.issueNumber, attempt.createdAt),
  ]);
  return {
    repoFullName: repository.fullName,
    branch: task.branch,
    baseBranch: config.base_branch ?? repository.defaultBranch,
    guidelines: config.guidelines,
    recentTasks: recent,
    now: run.now ?? new Date(),
    serverUrl: webUrlOf(octokit),
    issue: { number: issue.number, title: issue.title, body: issue.body, author: issue.author.login },
    comments: comments.map(({ author, permission, body, createdAt, url }) => ({
      author,
      permission,
      body,
      createdAt,
      url,
    })),
    blockers: blockers.map((blocker) => ({
      number: blocker.number,
      repoFullName: blocker.repoFullName,
      title: blocker.title,
      state: blocker.state,
      prNumber: blocker.prNumber,
      summary: blocker.summary,
      diff:
        blocker.baseSha && blocker.headSha
          ? { baseSha: blocker.baseSha, headSha: blocker.headSha, stat: blocker.diffStat }
          : null,
    })),
    // TODO(`/drover hint` issue): hints are not recorded yet (no hints table, no command). When they are,
    // read this task's hints and, for a rework attempt, the "changes requested" review that started it,
    // here; and leave `/drover` command comments out of `comments`, so a hint is not shown twice.
    guidance: [],
    limits: promptLimits(config),
  };
}

export function promptLimits(config: DroverConfig): PromptLimits {
  return {
    maxDescriptionSize: config.max_description_size,
    taskContextCount: config.task_context_count,
  };
}
