import { and, asc, desc, eq, inArray, isNotNull, sql, type SQL } from "drizzle-orm";
import { issueKey, type TaskState } from "../graph/model.ts";
import type { Db } from "./client.ts";
import { taskEvents, type DroverEvent } from "./events.ts";
import { hintsOf } from "./hints.ts";
import { findRepository, type RepoRef } from "./repositories.ts";
import { findTask } from "./tasks.ts";
import { attempts, commandRuns, dependencies, hints, issues, repositories, tasks } from "./schema.ts";

/**
 * What the dashboard reads (src/web/dashboard): every read takes the repositories the viewer may see
 * (`visible`, "owner/name" lower-case; undefined: all), so no page can show another's data by mistake.
 */

export type Visible = readonly string[] | undefined;

function visibleRepos(visible: Visible): SQL | undefined {
  if (visible === undefined) return undefined;
  if (visible.length === 0) return sql`false`;
  return inArray(sql`lower(${repositories.fullName})`, [...visible]);
}

export type RepoTaskRow = {
  repo: string;
  number: number;
  title: string;
  state: TaskState;
  createdAt: Date;
  updatedAt: Date;
  doneAt: Date | null;
  story: string | null;
};

/** Every task of the visible repositories, with its story: the queues, the histogram, success by story. */
export async function dashboardTasks(db: Db, visible: Visible): Promise<RepoTaskRow[]> {
  return db
    .select({
      repo: repositories.fullName,
      number: tasks.issueNumber,
      title: tasks.title,
      state: tasks.state,
      createdAt: tasks.createdAt,
      updatedAt: tasks.updatedAt,
      doneAt: tasks.doneAt,
      story: issues.parentKey,
    })
    .from(tasks)
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .leftJoin(issues, eq(issues.key, sql`lower(${repositories.fullName}) || '#' || ${tasks.issueNumber}`))
    .where(visibleRepos(visible))
    .orderBy(asc(repositories.fullName), asc(tasks.issueNumber));
}

export type AttemptStatRow = {
  repo: string;
  number: number;
  agent: string | null;
  state: string;
  conclusion: string | null;
  reason: string | null;
  checks: unknown;
  startedAt: Date | null;
  finishedAt: Date | null;
  costUsd: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
};

/** Attempts of the visible repositories, newest first (at most `limit`): rates, utilisation, cost, failures. */
export async function dashboardAttempts(db: Db, visible: Visible, limit = 5_000): Promise<AttemptStatRow[]> {
  return db
    .select({
      repo: repositories.fullName,
      number: tasks.issueNumber,
      agent: attempts.agent,
      state: attempts.state,
      conclusion: attempts.conclusion,
      reason: attempts.reason,
      checks: attempts.checks,
      startedAt: attempts.startedAt,
      finishedAt: attempts.finishedAt,
      costUsd: attempts.costUsd,
      inputTokens: attempts.inputTokens,
      outputTokens: attempts.outputTokens,
    })
    .from(attempts)
    .innerJoin(tasks, eq(tasks.id, attempts.taskId))
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(and(visibleRepos(visible), isNotNull(attempts.startedAt)))
    .orderBy(desc(attempts.startedAt))
    .limit(limit);
}

export type GraphNode = {
  key: string;
  repo: string;
  number: number;
  title: string;
  /** The task's state; null for an issue that is no task (a blocker elsewhere, a story's parent). */
  state: TaskState | null;
  issueState: "open" | "closed" | null;
  story: string | null;
};

export type RepoGraph = { nodes: GraphNode[]; edges: { blocker: string; dependent: string }[] };

/**
 * A repository's task graph: its tasks, the issues they wait for (in any repository) and their stories,
 * with the "blocked by" edges between them.
 */
export async function repoGraph(db: Db, fullName: string): Promise<RepoGraph> {
  const taskRows = await db
    .select({
      number: tasks.issueNumber,
      title: tasks.title,
      state: tasks.state,
      repo: repositories.fullName,
    })
    .from(tasks)
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(eq(sql`lower(${repositories.fullName})`, fullName.toLowerCase()));
  const issueRows = await db
    .select()
    .from(issues)
    .where(eq(sql`lower(${issues.repoFullName})`, fullName.toLowerCase()));
  const taskKeys = taskRows.map((row) => issueKey(row.repo, row.number));
  const edgeRows =
    taskKeys.length === 0
      ? []
      : await db
          .select({
            blocker: dependencies.blocker,
            dependent: dependencies.dependent,
            source: dependencies.source,
          })
          .from(dependencies)
          .where(inArray(dependencies.dependent, taskKeys));
  const issueByKey = new Map(issueRows.map((row) => [row.key, row]));
  const nodes = new Map<string, GraphNode>();
  for (const row of taskRows) {
    const key = issueKey(row.repo, row.number);
    const issue = issueByKey.get(key);
    nodes.set(key, {
      key,
      repo: row.repo,
      number: row.number,
      title: row.title,
      state: row.state,
      issueState: issue?.state ?? null,
      story: issue?.parentKey ?? null,
    });
  }
  // Stories and blockers that are no task of this repository still show, so an edge has both ends.
  const missing = new Set<string>();
  for (const node of nodes.values()) if (node.story && !nodes.has(node.story)) missing.add(node.story);
  for (const edge of edgeRows) if (!nodes.has(edge.blocker)) missing.add(edge.blocker);
  if (missing.size > 0) {
    const extra = await db
      .select()
      .from(issues)
      .where(inArray(issues.key, [...missing]));
    for (const row of extra)
      nodes.set(row.key, {
        key: row.key,
        repo: row.repoFullName,
        number: row.number,
        title: row.title,
        state: null,
        issueState: row.state,
        story: row.parentKey,
      });
  }
  // A sub-issue edge says "the story waits for its children": the grouping already shows it.
  const edges = edgeRows
    .filter((edge) => edge.source !== "sub-issue" && nodes.has(edge.blocker))
    .map(({ blocker, dependent }) => ({ blocker, dependent }));
  return { nodes: [...nodes.values()], edges };
}

export type TaskPage = {
  task: typeof tasks.$inferSelect;
  repo: RepoRef;
  attempts: (typeof attempts.$inferSelect)[];
  hints: (typeof hints.$inferSelect)[];
  events: DroverEvent[];
  blockers: string[];
  story: string | null;
};

/** Everything a task's page shows. */
export async function taskPage(db: Db, fullName: string, number: number): Promise<TaskPage | undefined> {
  const repo = await findRepository(db, fullName);
  if (!repo) return undefined;
  const task = await findTask(db, repo.id, number);
  if (!task) return undefined;
  const key = issueKey(repo.fullName, number);
  const [attemptRows, hintRows, eventRows, edgeRows, issueRow] = await Promise.all([
    db.select().from(attempts).where(eq(attempts.taskId, task.id)).orderBy(desc(attempts.number)),
    hintsOf(db, task.id),
    taskEvents(db, task.id),
    db.select({ blocker: dependencies.blocker }).from(dependencies).where(eq(dependencies.dependent, key)),
    db.select({ parentKey: issues.parentKey }).from(issues).where(eq(issues.key, key)),
  ]);
  return {
    task,
    repo,
    attempts: attemptRows,
    hints: hintRows,
    events: eventRows,
    blockers: [...new Set(edgeRows.map((row) => row.blocker))],
    story: issueRow[0]?.parentKey ?? null,
  };
}

/** What came of a control (`dashboard-<id>`), once its job ran it: applied, or why not. */
export async function controlOutcome(
  db: Db,
  deliveryId: string,
): Promise<{ outcome: string; author: string; command: string } | undefined> {
  const [row] = await db
    .select({ outcome: commandRuns.outcome, author: commandRuns.author, command: commandRuns.command })
    .from(commandRuns)
    .where(eq(commandRuns.deliveryId, deliveryId));
  return row;
}
