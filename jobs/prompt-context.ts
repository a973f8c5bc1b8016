import type { Guidance, PromptInput, PromptLimits } from "../src/agent/prompt.ts";
import type { DroverConfig } from "../src/config/schema.ts";
import type { Attempt } from "../src/db/attempt-record.ts";
import { hintsOf, type Hint } from "../src/db/hints.ts";
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
  /** The task's hints, when the caller read them already (run-task gives those newer live). [read here] */
  hints?: readonly Hint[];
};

/**
 * Everything the prompt shows for one attempt: recent tasks of the repository, the task's blockers and
 * the hints and review comments people gave it (PostgreSQL), and the comments people with write access made on the issue before the attempt was
 * queued (GitHub). The attempt's creation is its trigger: comments made while it waited for its blockers
 * or a worker count, comments made after do not.
 */
export async function gatherPromptInput(deps: Pick<JobDeps, "db">, run: PromptRun): Promise<PromptInput> {
  const { task, attempt, repository, issue, config, octokit } = run;
  const [recent, blockers, comments, hints] = await Promise.all([
    recentTasks(deps.db, { repoId: repository.id, exceptTaskId: task.id, limit: config.task_context_count }),
    blockersOf(deps.db, issueKey(repository.fullName, task.issueNumber)),
    writersComments(octokit, repoRef(repository.fullName), task.issueNumber, attempt.createdAt),
    run.hints ?? hintsOf(deps.db, task.id),
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
      ...(blocker.resolution ? { resolution: blocker.resolution } : {}),
      diff:
        blocker.baseSha && blocker.headSha
          ? { baseSha: blocker.baseSha, headSha: blocker.headSha, stat: blocker.diffStat }
          : null,
    })),
    guidance: hints.map(guidanceOf),
    limits: promptLimits(config),
  };
}

/** A hint or review comment as the prompt shows it: review comments with their file, line and hunk. */
function guidanceOf(hint: Hint): Guidance {
  return {
    kind: hint.kind === "hint" ? "hint" : "review",
    author: hint.author,
    body: hint.body,
    at: hint.createdAt,
    ...(hint.path !== null ? { path: hint.path } : {}),
    ...(hint.line !== null ? { line: hint.line } : {}),
    ...(hint.url !== null ? { url: hint.url } : {}),
    ...(hint.diffHunk !== null ? { diffHunk: hint.diffHunk } : {}),
  };
}

export function promptLimits(config: DroverConfig): PromptLimits {
  return {
    maxDescriptionSize: config.max_description_size,
    taskContextCount: config.task_context_count,
  };
}
