import { and, asc, eq, inArray, sql, type AnyColumn } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "./client.ts";
import { AgentVerdict, CheckResult } from "./run-results.ts";
import { attempts, commandRuns, dependencies, events, hints, issues, repositories, tasks } from "./schema.ts";
import { groupBy } from "../lib/group-by.ts";

/**
 * What `drover export` reads for one repository: its task graph as Drover mirrors it (issues, parents,
 * "blocked by" edges) and what Drover did with each task (attempts with verdicts and checks, hints,
 * commands, events). Rows as they are; src/report/backlog-export.ts makes them portable.
 */

export type ExportIssue = {
  number: number;
  title: string;
  state: "open" | "closed";
  closedAs: "completed" | "not_planned" | null;
  labels: string[];
  parentKey: string | null;
  subOrder: number | null;
};

export type ExportAttempt = {
  number: number;
  state: string;
  triggeredBy: string;
  startedAt: Date | null;
  finishedAt: Date | null;
  conclusion: string | null;
  reason: string | null;
  verdict: AgentVerdict | null;
  checks: { command: string; outcome: string; exitCode: number | null; durationMs: number }[] | null;
  agent: string | null;
  agentOutcome: string | null;
  durationMs: number | null;
  costUsd: string | null;
  turns: number | null;
  diffStat: string | null;
  headSha: string | null;
};

export type ExportTask = {
  issueNumber: number;
  state: string;
  stateReason: string | null;
  createdBy: string;
  modifiedBy: string | null;
  completedBy: string | null;
  approvedBy: string | null;
  prNumber: number | null;
  createdAt: Date;
  doneAt: Date | null;
  attempts: ExportAttempt[];
  hints: { kind: string; author: string; body: string; path: string | null; line: number | null; at: Date }[];
  commands: { command: string; author: string; outcome: string; at: Date }[];
};

export type ExportEvent = {
  issue: number | null;
  type: string;
  actor: string | null;
  attempt: number | null;
  at: Date;
};

export type ExportRows = {
  repoFullName: string;
  issues: ExportIssue[];
  /** "dependent waits for blocker", by issue key, from native links and issue text (not sub-issues). */
  edges: { dependent: string; blocker: string }[];
  tasks: ExportTask[];
  events: ExportEvent[];
};

/** GitHub's repository names ignore case; `--repo acme/app` finds what Drover recorded as `Acme/App`. */
const sameRepo = (column: AnyColumn, repoFullName: string) =>
  sql`lower(${column}) = ${repoFullName.toLowerCase()}`;

export async function readRepositoryExport(db: Db, repoFullName: string): Promise<ExportRows> {
  const issueRows = await db
    .select({
      key: issues.key,
      number: issues.number,
      title: issues.title,
      state: issues.state,
      closedAs: issues.closedAs,
      labels: issues.labels,
      parentKey: issues.parentKey,
      subOrder: issues.subOrder,
    })
    .from(issues)
    .where(sameRepo(issues.repoFullName, repoFullName))
    .orderBy(asc(issues.number));
  const keys = issueRows.map((row) => row.key);
  const edgeRows =
    keys.length === 0
      ? []
      : await db
          .selectDistinct({ dependent: dependencies.dependent, blocker: dependencies.blocker })
          .from(dependencies)
          .where(and(inArray(dependencies.dependent, keys), inArray(dependencies.source, ["native", "body"])))
          .orderBy(asc(dependencies.dependent), asc(dependencies.blocker));

  const taskRows = await db
    .select({
      id: tasks.id,
      issueNumber: tasks.issueNumber,
      state: tasks.state,
      stateReason: tasks.stateReason,
      createdBy: tasks.createdBy,
      modifiedBy: tasks.modifiedBy,
      completedBy: tasks.completedBy,
      approvedBy: tasks.approvedBy,
      prNumber: tasks.prNumber,
      createdAt: tasks.createdAt,
      doneAt: tasks.doneAt,
    })
    .from(tasks)
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(sameRepo(repositories.fullName, repoFullName))
    .orderBy(asc(tasks.issueNumber));
  const taskIds = taskRows.map((row) => row.id);
  const [attemptRows, hintRows, commandRows] =
    taskIds.length === 0
      ? [[], [], []]
      : await Promise.all([
          db.select().from(attempts).where(inArray(attempts.taskId, taskIds)).orderBy(asc(attempts.number)),
          db.select().from(hints).where(inArray(hints.taskId, taskIds)).orderBy(asc(hints.id)),
          db
            .select()
            .from(commandRuns)
            .where(inArray(commandRuns.taskId, taskIds))
            .orderBy(asc(commandRuns.appliedAt)),
        ]);
  const eventRows = await db
    .select({
      issue: events.issue,
      type: events.type,
      actor: events.actor,
      attempt: events.attempt,
      at: events.at,
    })
    .from(events)
    .where(sameRepo(events.repo, repoFullName))
    .orderBy(asc(events.id));

  // Each task's rows, found by key rather than by a scan of all the rows per task.
  const attemptsOf = groupBy(attemptRows, (row) => row.taskId);
  const hintsOf = groupBy(hintRows, (row) => row.taskId);
  const commandsOf = groupBy(commandRows, (row) => row.taskId);
  return {
    repoFullName,
    issues: issueRows.map(({ key: _key, ...row }) => row),
    edges: edgeRows,
    tasks: taskRows.map(({ id, ...task }) => ({
      ...task,
      attempts: (attemptsOf.get(id) ?? []).map((row) => ({
        number: row.number,
        state: row.state,
        triggeredBy: row.triggeredBy,
        startedAt: row.startedAt,
        finishedAt: row.finishedAt,
        conclusion: row.conclusion,
        reason: row.reason,
        verdict: readOrNull(AgentVerdict, row.verdict),
        // The output tails stay behind: they can quote paths of the machine the checks ran on.
        checks:
          readOrNull(z.array(CheckResult), row.checks)?.map(({ outputTail: _tail, ...check }) => check) ??
          null,
        agent: row.agent,
        agentOutcome: row.agentOutcome,
        durationMs: row.durationMs,
        costUsd: row.costUsd,
        turns: row.turns,
        diffStat: row.diffStat,
        headSha: row.headSha,
      })),
      hints: (hintsOf.get(id) ?? []).map((row) => ({
        kind: row.kind,
        author: row.author,
        body: row.body,
        path: row.path,
        line: row.line,
        at: row.createdAt,
      })),
      commands: (commandsOf.get(id) ?? []).map((row) => ({
        command: row.command,
        author: row.author,
        outcome: row.outcome,
        at: row.appliedAt,
      })),
    })),
    events: eventRows,
  };
}

/** JSON read back from a column: what its schema accepts, or null (an export never stops on one row). */
function readOrNull<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> | null {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
