import type { CommitResult } from "../../src/git/commit.ts";
import { commitAll } from "../../src/git/commit.ts";
import { creditedPeople, hintsOf } from "../../src/db/hints.ts";
import type { IssueFacts } from "../../src/github/read-issues.ts";
import { noreplyEmail } from "../../src/github/people.ts";
import type { JobDeps } from "../deps.ts";
import type { Run } from "./run.ts";
import type { Workspace } from "./worktree.ts";

/**
 * Step 4: commit what the agent changed, authored by the app's bot, credited (`Co-authored-by:`) to the
 * issue's author and to everyone whose hint or review went into the work, each once.
 */
export async function commitWork(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  issue: IssueFacts,
  signal: AbortSignal | undefined,
): Promise<CommitResult> {
  const identity = await deps.github.identity(run.repository.installationId);
  const hints = await hintsOf(deps.db, run.task.id);
  // Bots, the app's own `<slug>[bot]` included, are never credited.
  const credited = creditedPeople(issue.author, hints);
  return commitAll({
    worktree: work.path,
    message: `${issue.title} (#${issue.number})`,
    author: { name: identity.name, email: identity.email },
    trailers: [
      ...credited.map((person) => `Co-authored-by: ${person.login} <${noreplyEmail(person)}>`),
      `Drover-Task: ${run.repository.fullName}#${issue.number}`,
    ],
    baseSha: work.baseSha,
    ...(signal ? { signal } : {}),
  });
}
