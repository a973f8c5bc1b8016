import { count, eq, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { repositories, tasks } from "./schema.ts";

/**
 * Figures `/metrics` reads at scrape time: PostgreSQL holds what every worker did, and a scrape reaches
 * one web process, so the deployment's figures are read here rather than counted in any one process.
 */

export type TaskCount = { repo: string; state: string; tasks: number };

/** Tasks by repository and state. */
export async function taskCounts(db: Db): Promise<TaskCount[]> {
  const rows = await db
    .select({ repo: repositories.fullName, state: tasks.state, tasks: count() })
    .from(tasks)
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .groupBy(repositories.fullName, tasks.state);
  return rows.map((row) => ({ repo: row.repo, state: row.state, tasks: Number(row.tasks) }));
}

/**
 * Finished attempts of one outcome (the check run's conclusion) and agent: how many, their total time
 * from start to end, and how many took at most each bucket's bound (cumulative, as Prometheus counts).
 */
export type AttemptFigures = {
  outcome: string;
  agent: string;
  attempts: number;
  seconds: number;
  /** Attempts that took at most `bounds[i]` seconds, in the order of the bounds asked for. */
  within: number[];
};

/**
 * Finished attempts by outcome and agent, with the duration histogram's buckets counted in SQL: one
 * aggregate over the table, the same answer from every web process, and nothing lost when one restarts.
 */
export async function attemptFigures(db: Db, bounds: readonly number[]): Promise<AttemptFigures[]> {
  const seconds = sql`extract(epoch from (a.finished_at - a.started_at))`;
  const buckets = bounds.map((bound) => sql`count(*) filter (where ${seconds} <= ${bound})::int`);
  const rows = await db.execute<{
    outcome: string;
    agent: string;
    attempts: number;
    seconds: string;
    within: number[];
  }>(sql`
    select coalesce(a.conclusion, 'unknown') as outcome, coalesce(a.agent, 'unknown') as agent,
           count(*)::int as attempts, coalesce(sum(${seconds}), 0)::float8 as seconds,
           array[${sql.join(buckets, sql`, `)}]::int[] as within
      from attempts a
     where a.state = 'finished' and a.started_at is not null and a.finished_at is not null
     group by 1, 2
     order by 1, 2`);
  return rows.map((row) => ({
    outcome: row.outcome,
    agent: row.agent,
    attempts: Number(row.attempts),
    seconds: Number(row.seconds),
    within: row.within.map(Number),
  }));
}

export type AgentUsage = {
  agent: string;
  repo: string;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
};

/** What the agents reported they cost and used, summed over every attempt, by agent and repository. */
export async function agentUsage(db: Db): Promise<AgentUsage[]> {
  const rows = await db.execute<{
    agent: string;
    repo: string;
    cost: string;
    input: string;
    output: string;
  }>(sql`
    select coalesce(a.agent, 'unknown') as agent, r.full_name as repo,
           -- Written from the agent's number; a value that is not one is left out, never the scrape.
           coalesce(sum(case when a.cost_usd ~ '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$' then a.cost_usd::numeric end), 0)::text as cost,
           coalesce(sum(a.input_tokens), 0)::text as input, coalesce(sum(a.output_tokens), 0)::text as output
      from attempts a
      join tasks t on t.id = a.task_id
      join repositories r on r.id = t.repo_id
     where a.cost_usd is not null or a.input_tokens is not null or a.output_tokens is not null
     group by 1, 2
     order by 1, 2`);
  return rows.map((row) => ({
    agent: row.agent,
    repo: row.repo,
    costUsd: Number(row.cost),
    inputTokens: Number(row.input),
    outputTokens: Number(row.output),
  }));
}
