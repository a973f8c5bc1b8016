import type { DeadLetter } from "../db/dead-letters.ts";

/** `drover status` and `drover retry`: work that failed for good, as text for a terminal. Pure. */

/** A parked job as PostgreSQL holds it (its payload aside). */
export type ParkedRow = Omit<DeadLetter, "payload">;

/** "2026-12-05 00:31:02 UTC" */
function when(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** What the work concerns: "acme/notes#12", "acme/notes", or nothing known. */
function concerns(row: ParkedRow): string {
  if (!row.repoFullName) return "";
  return row.issueNumber === null ? row.repoFullName : `${row.repoFullName}#${row.issueNumber}`;
}

/** The command that runs it again: by delivery when it has one (all of its parked jobs), else by job. */
export function retryCommand(row: Pick<ParkedRow, "jobId" | "deliveryId">): string {
  return row.deliveryId ? `drover retry --delivery ${row.deliveryId}` : `drover retry --job ${row.jobId}`;
}

/** One line of the reason: the first line of a long message, cut to fit a terminal. */
function oneLine(reason: string, max = 200): string {
  const first = reason.split("\n", 1)[0] ?? "";
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

/** The "Parked" section: what failed for good, why, when, and how to run it again. */
export function renderDeadLetters(rows: readonly ParkedRow[]): string {
  if (rows.length === 0) return "Parked: nothing (no work failed for good).\n";
  const out = [
    `Parked: ${rows.length} job${rows.length === 1 ? "" : "s"} failed for good and will not run again until retried:`,
  ];
  for (const row of rows) {
    const about = [concerns(row), row.deliveryId ? `delivery ${row.deliveryId}` : ""].filter(Boolean);
    const tries = `${row.attempts} tr${row.attempts === 1 ? "y" : "ies"}`;
    const times =
      row.failures > 1
        ? `failed for good ${row.failures} times, first ${when(row.firstFailedAt)}, last ${when(row.lastFailedAt)}`
        : `failed for good ${when(row.lastFailedAt)}`;
    out.push(`  ${row.jobName} ${row.jobId}${about.length ? ` (${about.join(", ")})` : ""}`);
    out.push(`    ${times} after ${tries}`);
    out.push(`    why: ${oneLine(row.reason)}`);
    out.push(`    retry: ${retryCommand(row)}`);
  }
  return out.join("\n") + "\n";
}

export type RetryReport =
  | {
      kind: "retried";
      letters: {
        letter: Pick<ParkedRow, "jobId" | "jobName" | "reason" | "deliveryId">;
        outcome: { kind: "queued"; jobId: string } | { kind: "refused"; why: string };
      }[];
    }
  | { kind: "unknown"; why: string };

/** What `drover retry` did, one line per job; `ok` is false when anything was left parked. */
export function renderRetry(result: RetryReport): { text: string; ok: boolean } {
  if (result.kind === "unknown")
    return { text: `${result.why}; \`drover status\` lists what is parked\n`, ok: false };
  const lines = result.letters.map(({ letter, outcome }) =>
    outcome.kind === "queued"
      ? `queued ${letter.jobName} ${outcome.jobId} again${letter.deliveryId ? ` (delivery ${letter.deliveryId})` : ""}; it had failed with: ${oneLine(letter.reason)}`
      : `left ${letter.jobName} ${letter.jobId} parked: ${outcome.why}`,
  );
  return {
    text: lines.join("\n") + "\n",
    ok: result.letters.every(({ outcome }) => outcome.kind === "queued"),
  };
}
