/** One installation's use of GitHub's limits over the last hour, as `drover status` shows it. */
export type BudgetRow = {
  installationId: number;
  /** Requests sent in the last hour, 304s included (GitHub does not charge those to the hourly limit). */
  requests: number;
  /** Of those, answered 304 Not Modified from a conditional request. */
  notModified: number;
  /** POST, PATCH, PUT and DELETE requests in the last hour. */
  writes: number;
  /** Writes that create content on GitHub (secondary limits: 500 an hour, 80 a minute). */
  contentWrites: number;
  contentWritesLastMinute: number;
  /** GitHub's own count from the latest response's x-ratelimit-* headers, or null when none was seen. */
  rate: { limit: number; remaining: number; resetAt: Date } | null;
  /** Worker processes whose counts are summed here. */
  processes: number;
};

/** The budgets (null: Redis, where the workers share them, did not answer). */
export function renderBudgets(rows: readonly BudgetRow[] | null, now = new Date()): string {
  if (rows === null) return "GitHub budget: unknown (Redis at REDIS_URL did not answer)\n";
  if (rows.length === 0) return "GitHub budget: no requests recorded in the last hour\n";
  const lines = ["GitHub budget (last hour, per installation):"];
  for (const row of rows) {
    const rate = row.rate && row.rate.resetAt > now ? row.rate : null;
    const remaining = rate
      ? `${rate.remaining}/${rate.limit} left (${percent(rate.remaining, rate.limit)}), resets ${rate.resetAt.toISOString()}`
      : "limit not seen";
    const processes = row.processes === 1 ? "1 process" : `${row.processes} processes`;
    lines.push(
      `  installation ${row.installationId}: ${row.requests} requests (${row.notModified} not modified), ` +
        `${row.writes} writes, ${row.contentWrites}/500 content writes (${row.contentWritesLastMinute}/80 in the ` +
        `last minute); ${remaining}; ${processes}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.floor((part / whole) * 100)}%` : "?";
}
