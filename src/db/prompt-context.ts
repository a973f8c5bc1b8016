import { AgentVerdict } from "./run-results.ts";
import { and, desc, eq, inArray, lt, ne, sql, type SQLWrapper } from "drizzle-orm";
import type { Db } from "./client.ts";
import { attempts, dependencies, issues, repositories, tasks, type TaskState } from "./schema.ts";

/** What the prompt tells an agent about the work around its task: recent tasks and its blockers. */

/**
 * Finished tasks whose outcome says something: merged or in review (also one whose pull request now
 * conflicts with its base: its work stands), failed, or waiting for a person.
 */
const FINISHED: TaskState[] = ["done", "review", "conflict", "failed", "blocked"];

export type RecentTaskRow = {
  number: number;
  title: string;
  /** The latest attempt's verdict status (pass, fail, blocked), or its conclusion when it gave none. */
  verdict: string | null;
  summary: string | null;
  /** When it was merged or closed, or else when its latest attempt finished. */
  completedAt: Date;
  prNumber: number | null;
};

/**
 * The `limit` tasks of a repository that finished most recently, newest first, each with its latest
 * finished attempt's verdict and summary. `exceptTaskId`: the task being run, which is not its own context.
 */
export async function recentTasks(
  db: Db,
  input: { repoId: number; exceptTaskId: number; limit: number },
): Promise<RecentTaskRow[]> {
  if (input.limit <= 0) return [];
  const latest = latestFinishedAttempts(
    db,
    db.select({ id: tasks.id }).from(tasks).where(eq(tasks.repoId, input.repoId)),
  ).as("latest");
  const completedAt = sql<Date>`coalesce(${tasks.doneAt}, ${latest.finishedAt})`.mapWith(tasks.doneAt);
  const rows = await db
    .select({
      number: tasks.issueNumber,
      title: tasks.title,
      prNumber: tasks.prNumber,
      verdict: latest.verdict,
      conclusion: latest.conclusion,
      summary: latest.summary,
      completedAt,
    })
    .from(tasks)
    .innerJoin(latest, eq(latest.taskId, tasks.id))
    .where(
      and(eq(tasks.repoId, input.repoId), ne(tasks.id, input.exceptTaskId), inArray(tasks.state, FINISHED)),
    )
    .orderBy(desc(completedAt), desc(tasks.issueNumber))
    .limit(input.limit);
  return rows.map(({ verdict, conclusion, ...row }) => ({ ...row, verdict: verdictOf(verdict, conclusion) }));
}

export type BlockerRow = {
  repoFullName: string;
  number: number;
  title: string;
  /** The blocker's task state when it is a Drover task; else its issue's state ("closed", "open"). */
  state: string;
  prNumber: number | null;
  verdict: string | null;
  summary: string | null;
  /** A person declared it done (`/drover resolve [note]`): who (the task's completer) and the note. */
  resolution?: { by: string | null; note: string };
  /** The commits its latest finished attempt made (base and head), with their `git diff --stat`. */
  baseSha: string | null;
  headSha: string | null;
  diffStat: string | null;
};

/**
 * What `dependentKey` ("owner/repo#12") waits for, by any source (links, text, sub-issues), each once, with
 * its task's pull request and latest finished attempt when it is a Drover task.
 */
export async function blockersOf(db: Db, dependentKey: string): Promise<BlockerRow[]> {
  const blockerKeys = db
    .selectDistinct({ key: dependencies.blocker })
    .from(dependencies)
    .where(eq(dependencies.dependent, dependentKey));
  const issueRows = await db
    .select({
      key: issues.key,
      repoFullName: issues.repoFullName,
      number: issues.number,
      title: issues.title,
      issueState: issues.state,
      task: {
        id: tasks.id,
        title: tasks.title,
        state: tasks.state,
        prNumber: tasks.prNumber,
        resolution: tasks.resolution,
        completedBy: tasks.completedBy,
      },
    })
    .from(issues)
    .leftJoin(repositories, sql`lower(${repositories.fullName}) = lower(${issues.repoFullName})`)
    .leftJoin(tasks, and(eq(tasks.repoId, repositories.id), eq(tasks.issueNumber, issues.number)))
    .where(inArray(issues.key, blockerKeys))
    .orderBy(issues.repoFullName, issues.number);
  const taskIds = issueRows.flatMap((row) => (row.task ? [row.task.id] : []));
  const latest = taskIds.length === 0 ? [] : await latestFinishedAttempts(db, taskIds);
  const byTask = new Map(latest.map((row) => [row.taskId, row]));
  return issueRows.map((row) => {
    const attempt = row.task ? byTask.get(row.task.id) : undefined;
    return {
      repoFullName: row.repoFullName,
      number: row.number,
      title: row.title || row.task?.title || "",
      state: row.task?.state ?? row.issueState,
      prNumber: row.task?.prNumber ?? null,
      verdict: attempt ? verdictOf(attempt.verdict, attempt.conclusion) : null,
      summary: attempt?.summary ?? null,
      ...(row.task?.resolution != null
        ? { resolution: { by: row.task.completedBy, note: row.task.resolution } }
        : {}),
      baseSha: attempt?.baseSha ?? null,
      headSha: attempt?.headSha ?? null,
      diffStat: attempt?.diffStat ?? null,
    };
  });
}

/** Per task (of those given, as ids or a subquery), its finished attempt with the highest number. */
/**
 * An attempt that did the task's work, not one that merged its base in (update, conflict): what a task
 * did, for other prompts, is its work's summary and diff, not "merged main".
 */
const NOT_A_MERGE = sql`(${attempts.start} -> 'merge') is null`;

function latestFinishedAttempts(db: Db, taskIds: number[] | SQLWrapper) {
  return db
    .selectDistinctOn([attempts.taskId], {
      taskId: attempts.taskId,
      verdict: attempts.verdict,
      conclusion: attempts.conclusion,
      summary: attempts.summary,
      baseSha: attempts.baseSha,
      headSha: attempts.headSha,
      diffStat: attempts.diffStat,
      finishedAt: attempts.finishedAt,
    })
    .from(attempts)
    .where(and(inArray(attempts.taskId, taskIds), eq(attempts.state, "finished"), NOT_A_MERGE))
    .orderBy(attempts.taskId, desc(attempts.number));
}

/** The verdict's status (read through its schema), or the attempt's conclusion when it gave none. */
function verdictOf(verdict: unknown, conclusion: string | null): string | null {
  const read = AgentVerdict.pick({ status: true }).safeParse(verdict);
  return read.success ? read.data.status : conclusion;
}

export type MergedTaskRow = { number: number; title: string; prNumber: number; summary: string | null };

/**
 * The tasks of a repository whose pull requests are among `prNumbers` (those merged into a base, read from
 * its merge commits), each with its latest finished attempt's summary, in the order of `prNumbers`.
 */
export async function tasksOfPullRequests(
  db: Db,
  repoId: number,
  prNumbers: readonly number[],
): Promise<MergedTaskRow[]> {
  if (prNumbers.length === 0) return [];
  const rows = await db
    .select({ id: tasks.id, number: tasks.issueNumber, title: tasks.title, prNumber: tasks.prNumber })
    .from(tasks)
    .where(and(eq(tasks.repoId, repoId), inArray(tasks.prNumber, [...prNumbers])));
  const latest =
    rows.length === 0
      ? []
      : await latestFinishedAttempts(
          db,
          rows.map((row) => row.id),
        );
  const summaries = new Map(latest.map((row) => [row.taskId, row.summary]));
  const byPr = new Map(rows.map((row) => [row.prNumber, row]));
  return prNumbers.flatMap((pr) => {
    const row = byPr.get(pr);
    return row
      ? [{ number: row.number, title: row.title, prNumber: pr, summary: summaries.get(row.id) ?? null }]
      : [];
  });
}

/** The summary the task's latest finished attempt before `number` gave that said anything; null if none. */
export async function lastSummary(db: Db, taskId: number, number: number): Promise<string | null> {
  const [row] = await db
    .select({ summary: attempts.summary })
    .from(attempts)
    .where(
      and(
        eq(attempts.taskId, taskId),
        lt(attempts.number, number),
        eq(attempts.state, "finished"),
        NOT_A_MERGE,
        sql`coalesce(${attempts.summary}, '') <> ''`,
      ),
    )
    .orderBy(desc(attempts.number))
    .limit(1);
  return row?.summary ?? null;
}
