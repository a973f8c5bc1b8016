/** Attempt outcomes that say nothing about the task, only that the agent could not work just then. */
export const FAILOVER_OUTCOMES: readonly string[] = ["unavailable", "rate-limited"];

export interface PreviousAttempt {
  /** The agent that ran the attempt. */
  agent: string;
  /** Its outcome (`AgentOutcome`): exited, timed-out, unavailable, rate-limited, ... */
  outcome: string;
}

/**
 * Which agent of a failover list (`agent: [claude, codex]`) takes the next attempt, given the earlier
 * attempts in order. Pure.
 *
 * The first attempt uses the first agent. After an attempt whose agent was unavailable or rate-limited,
 * the next attempt uses the agent after it; any other outcome (a failed or timed-out run, a fail
 * verdict) keeps the same agent, since the agent worked and the task is what was hard. After the last
 * agent the list wraps around to the first: rate limits and outages pass, so the agent that failed
 * first is the best bet again by then, and `max_attempts` bounds the whole round. An earlier attempt by
 * an agent no longer in the list (the config changed) starts again from the first.
 */
export function agentForAttempt(agents: readonly string[], previous: readonly PreviousAttempt[]): string {
  const first = agents[0];
  if (first === undefined) throw new Error("agentForAttempt: the agent list is empty");
  const last = previous.at(-1);
  if (!last) return first;
  const index = agents.indexOf(last.agent);
  if (index === -1) return first;
  if (!FAILOVER_OUTCOMES.includes(last.outcome)) return last.agent;
  return agents[(index + 1) % agents.length] as string;
}
