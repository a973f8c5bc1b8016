import { and, desc, eq, isNotNull, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { BACKLOG_KINDS, type BacklogItem } from "../graph/backlog.ts";
import type { Db } from "./client.ts";
import { planRuns } from "./schema.ts";

/** A proposal's items as stored: read back through this, as any JSON from PostgreSQL is. */
const StoredItems = z.array(
  z.object({
    id: z.string().min(1),
    kind: z.enum(BACKLOG_KINDS),
    title: z.string().min(1),
    description: z.string(),
    priority: z.number().int().min(1).max(10).nullable(),
    parent: z.string().nullable(),
    blockedBy: z.array(z.string()),
    line: z.number().int().nullable(),
  }),
);

export type PlanRun = Omit<typeof planRuns.$inferSelect, "items"> & { items: BacklogItem[] | null };

function read(row: typeof planRuns.$inferSelect): PlanRun {
  return { ...row, items: row.items === null ? null : StoredItems.parse(row.items) };
}

/** The run recorded with id `id`, if any. */
export async function planRunById(db: Db, id: number): Promise<PlanRun | undefined> {
  const [row] = await db.select().from(planRuns).where(eq(planRuns.id, id));
  return row && read(row);
}

/** The run recorded under `runKey` (a `/drover plan` command's delivery and index), if any. */
export async function planRunOf(db: Db, runKey: string): Promise<PlanRun | undefined> {
  const [row] = await db.select().from(planRuns).where(eq(planRuns.runKey, runKey));
  return row && read(row);
}

/** How often a proposal's insert takes the next version before giving up (each try is one round trip). */
const VERSION_TRIES = 10;

/** PostgreSQL's unique_violation on the issue's version index, however the driver wraps it. */
function isVersionTaken(error: unknown): boolean {
  for (let at: unknown = error; at instanceof Error || (typeof at === "object" && at !== null);) {
    const found = at as { code?: unknown; constraint_name?: unknown; cause?: unknown };
    if (found.code === "23505" && found.constraint_name === "plan_runs_issue_version") return true;
    at = found.cause;
  }
  return false;
}

/**
 * Records a planning run once per `runKey`: a proposal gets the issue's next version; a run that proposed
 * nothing gets none. Returns the row recorded (the earlier one, when the job ran before).
 */
export async function recordPlanRun(
  db: Db,
  run: {
    runKey: string;
    repoId: number;
    issueNumber: number;
    requestedBy: string;
    body: string;
    outcome: { items: BacklogItem[] } | { problem: string };
  },
): Promise<PlanRun> {
  const proposal = "items" in run.outcome;
  const nextVersion = sql<number>`(select coalesce(max(${planRuns.version}), 0) + 1 from ${planRuns}
    where ${planRuns.repoId} = ${run.repoId} and ${planRuns.issueNumber} = ${run.issueNumber})`;
  const insert = () =>
    db
      .insert(planRuns)
      .values({
        runKey: run.runKey,
        repoId: run.repoId,
        issueNumber: run.issueNumber,
        requestedBy: run.requestedBy,
        body: run.body,
        version: proposal ? nextVersion : null,
        items: "items" in run.outcome ? run.outcome.items : null,
        problem: "problem" in run.outcome ? run.outcome.problem : null,
      })
      .onConflictDoNothing({ target: planRuns.runKey });
  // Two plans of one issue finishing together read the same latest version; the second to commit is
  // refused by the issue's version index and takes the next one, rather than its job failing and the
  // agent running again.
  for (let tries = 1; ; tries += 1) {
    try {
      await insert();
      break;
    } catch (error) {
      if (tries >= VERSION_TRIES || !isVersionTaken(error)) throw error;
    }
  }
  const row = await planRunOf(db, run.runKey);
  if (!row) throw new Error(`plan run ${run.runKey} was not recorded`);
  return row;
}

/**
 * The issue's latest proposal shown on GitHub (the one its comment shows, and an accept creates), or the
 * latest below version `below`; undefined when there is none.
 */
export async function shownProposal(
  db: Db,
  repoId: number,
  issueNumber: number,
  below?: number,
): Promise<PlanRun | undefined> {
  const [row] = await db
    .select()
    .from(planRuns)
    .where(
      and(
        eq(planRuns.repoId, repoId),
        eq(planRuns.issueNumber, issueNumber),
        isNotNull(planRuns.version),
        isNotNull(planRuns.commentId),
        below === undefined ? undefined : lt(planRuns.version, below),
      ),
    )
    .orderBy(desc(planRuns.version))
    .limit(1);
  return row && read(row);
}

/** The comment that shows the run, and the hash of the body it was sent. */
export async function recordPlanComment(
  db: Db,
  id: number,
  commentId: number,
  hash: string | null,
): Promise<void> {
  await db.update(planRuns).set({ commentId, commentHash: hash }).where(eq(planRuns.id, id));
}

/** The proposal was accepted (the first accept is kept). */
export async function markPlanAccepted(db: Db, id: number, by: string): Promise<void> {
  await db
    .update(planRuns)
    .set({
      acceptedBy: sql`coalesce(${planRuns.acceptedBy}, ${by})`,
      acceptedAt: sql`coalesce(${planRuns.acceptedAt}, now())`,
    })
    .where(eq(planRuns.id, id));
}
