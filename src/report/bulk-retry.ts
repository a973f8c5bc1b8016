import type { StuckTask } from "../db/tasks.ts";

/**
 * What `drover retry --failed` would do or did, for the person at the terminal: each failed task with its
 * issue, title, last verdict and why it failed; blocked tasks are counted, as they are left alone. Pure.
 */

export function renderRetryPlan(input: {
  repoFullName: string;
  failed: readonly StuckTask[];
  blocked: number;
  dryRun: boolean;
}): string {
  const { repoFullName, failed, blocked } = input;
  const lines: string[] = [];
  if (failed.length === 0) lines.push(`${repoFullName}: no failed tasks; nothing to retry.`);
  else {
    const count = `${failed.length} failed task${failed.length === 1 ? "" : "s"}`;
    lines.push(
      input.dryRun
        ? `${repoFullName}: ${count} would be retried (nothing was changed):`
        : `${repoFullName}: retrying ${count}:`,
    );
    for (const task of failed) lines.push(...taskLines(task));
  }
  if (blocked > 0)
    lines.push(
      `${blocked} blocked task${blocked === 1 ? " is" : "s are"} left alone: the agent said ${blocked === 1 ? "it needs" : "they need"} a person ` +
        `(\`/drover hint <what to do>\` on the issue, or \`/drover retry\` there).`,
    );
  return `${lines.join("\n")}\n`;
}

function taskLines(task: StuckTask): string[] {
  const attempts = `${task.attempts} attempt${task.attempts === 1 ? "" : "s"}`;
  const verdict = task.verdict ? `last verdict ${task.verdict}` : "no verdict";
  const lines = [`  #${task.number} ${oneLine(task.title, 70)} (${attempts}, ${verdict})`];
  const why = task.reason ?? task.summary;
  if (why) lines.push(`    why: ${oneLine(why, 160)}`);
  return lines;
}

/** What was queued, after the progress: the workers apply the retries, which `drover stream` shows. */
export function renderRetryQueued(repoFullName: string, queued: readonly StuckTask[]): string {
  if (queued.length === 0) return "";
  return (
    `queued ${queued.length} retr${queued.length === 1 ? "y" : "ies"} (${queued.map((task) => `#${task.number}`).join(", ")}); ` +
    `Drover's workers apply them as \`/drover retry\` by the App: ` +
    `\`drover stream --repo ${repoFullName} --type retried,failed\` follows them\n`
  );
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
