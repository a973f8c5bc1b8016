import type { CommitResult } from "../../src/git/commit.ts";
import { commitAll } from "../../src/git/commit.ts";
import type { IssueFacts } from "../../src/github/read-issues.ts";
import { noreplyEmail } from "../../src/github/people.ts";
import type { JobDeps } from "../deps.ts";
import type { Run } from "./run.ts";
import type { Workspace } from "./worktree.ts";

/** Step 4: commit what the agent changed, authored by the app's bot, credited to the issue's author. */
export async function commitWork(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  issue: IssueFacts,
  signal: AbortSignal | undefined,
): Promise<CommitResult> {
  const identity = await deps.github.identity(run.repository.installationId);
  return commitAll({
    worktree: work.path,
    message: `${issue.title} (#${issue.number})`,
    author: { name: identity.name, email: identity.email },
    trailers: [
      `Co-authored-by: ${issue.author.login} <${noreplyEmail(issue.author)}>`,
      `Drover-Task: ${run.repository.fullName}#${issue.number}`,
    ],
    baseSha: work.baseSha,
    ...(signal ? { signal } : {}),
  });
}
