/** What a task may still spend of its `budget` (drover.yml), given its earlier attempts. Pure. */

export type Budget = { timeMs?: number; costUsd?: number } | undefined;
export type Spent = { ms: number; costUsd: number };

export type Remaining =
  | { exhausted: false; /** Agent time left, when the budget limits time. */ timeMs: number | undefined }
  | { exhausted: true; why: string };

export function spentSoFar(
  attempts: readonly { durationMs: number | null; costUsd: string | null }[],
): Spent {
  return attempts.reduce(
    (sum, a) => ({ ms: sum.ms + (a.durationMs ?? 0), costUsd: sum.costUsd + (Number(a.costUsd) || 0) }),
    { ms: 0, costUsd: 0 },
  );
}

/** Under this, a run could not do anything useful: the budget counts as spent. */
const MIN_USEFUL_MS = 5_000;

export function remainingBudget(budget: Budget, spent: Spent): Remaining {
  if (budget?.costUsd !== undefined && spent.costUsd >= budget.costUsd) {
    return {
      exhausted: true,
      why: `the task's cost budget is spent ($${spent.costUsd.toFixed(2)} of $${budget.costUsd.toFixed(2)})`,
    };
  }
  if (budget?.timeMs === undefined) return { exhausted: false, timeMs: undefined };
  const left = budget.timeMs - spent.ms;
  if (left < MIN_USEFUL_MS) {
    return {
      exhausted: true,
      why: `the task's time budget is spent (${Math.round(spent.ms / 1000)} s of ${Math.round(budget.timeMs / 1000)} s)`,
    };
  }
  return { exhausted: false, timeMs: left };
}
