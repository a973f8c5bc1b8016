import type { TaskSummary } from "../db/tasks.ts";
import type { DemoIssue } from "./scenario.ts";

/** What the demo shows while it runs and when it ends. Pure. */

export type DemoTask = {
  number: number;
  title: string;
  /** Drover's state, or "not started" before Drover has recorded the task. */
  state: string;
  pr: number | null;
  prUrl: string | null;
  verdict: string | null;
  attempts: number;
};

export function demoTasks(
  issues: readonly DemoIssue[],
  summaries: readonly TaskSummary[],
  prUrl: (pr: number) => string,
): DemoTask[] {
  const byNumber = new Map(summaries.map((s) => [s.number, s]));
  return issues.map((issue) => {
    const summary = byNumber.get(issue.number);
    return {
      number: issue.number,
      title: issue.title,
      state: summary?.state ?? "not started",
      pr: summary?.prNumber ?? null,
      prUrl: summary?.prNumber ? prUrl(summary.prNumber) : null,
      verdict: summary?.verdict ?? null,
      attempts: summary?.attempts ?? 0,
    };
  });
}

const MARK: Record<string, string> = {
  done: "✔",
  review: "◆",
  running: "▶",
  queued: "…",
  ready: "○",
  waiting: "·",
  retrying: "↻",
  blocked: "!",
  failed: "✖",
  cancelled: "-",
};

const STUCK = new Set(["failed", "blocked", "cancelled", "paused"]);

/**
 * True when nothing more will happen without a person: every task is done, or stuck (failed, blocked,
 * cancelled, paused), or waiting on a stuck task (through blockers, or a story's sub-issues).
 */
export function settled(issues: readonly DemoIssue[], tasks: readonly DemoTask[]): boolean {
  const state = new Map(tasks.map((task) => [task.number, task.state]));
  const stuck = new Set(tasks.filter((task) => STUCK.has(task.state)).map((task) => task.number));
  for (let grew = true; grew;) {
    grew = false;
    for (const issue of issues) {
      if (stuck.has(issue.number) || state.get(issue.number) !== "waiting") continue;
      if ([...issue.blockedBy, ...issue.subIssues].some((n) => stuck.has(n))) {
        stuck.add(issue.number);
        grew = true;
      }
    }
  }
  return tasks.every((task) => task.state === "done" || stuck.has(task.number));
}

/** Milliseconds as seconds with one decimal, as the demo and chaos print them: 1234 → "1.2". */
export const seconds = (ms: number): string => (ms / 1000).toFixed(1);

export function progressBar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total} done`;
}

export function renderProgress(
  issues: readonly DemoIssue[],
  tasks: readonly DemoTask[],
  elapsedMs: number,
): string {
  const done = tasks.filter((task) => task.state === "done").length;
  const lines = [`${progressBar(done, tasks.length)}  ${seconds(elapsedMs)} s`, ""];
  const byNumber = new Map(issues.map((issue) => [issue.number, issue]));
  for (const task of tasks) {
    const issue = byNumber.get(task.number);
    const links = [
      ...(issue?.blockedBy.length ? [`after ${issue.blockedBy.map((n) => `#${n}`).join(" ")}`] : []),
      ...(issue?.subIssues.length ? [`story of ${issue.subIssues.map((n) => `#${n}`).join(" ")}`] : []),
    ];
    const pr = task.prUrl ? `  PR ${task.prUrl}` : "";
    lines.push(
      `  ${MARK[task.state] ?? " "} #${task.number} ${task.state.padEnd(11)} ${task.title}${links.length ? `  (${links.join("; ")})` : ""}${pr}`,
    );
  }
  return lines.join("\n") + "\n";
}

export type DemoSummary = {
  tasks: number;
  done: number;
  startedAt: string;
  endedAt: string;
  makespanSeconds: number;
  ok: boolean;
};

export function summarise(tasks: readonly DemoTask[], startedAt: number, endedAt: number): DemoSummary {
  const done = tasks.filter((task) => task.state === "done").length;
  return {
    tasks: tasks.length,
    done,
    startedAt: new Date(startedAt).toISOString(),
    endedAt: new Date(endedAt).toISOString(),
    makespanSeconds: Math.round((endedAt - startedAt) / 100) / 10,
    ok: done === tasks.length,
  };
}

/** `--json`: one object per task, then one for the whole run. */
export function jsonLines(tasks: readonly DemoTask[], summary: DemoSummary): string {
  const lines = tasks.map((task) =>
    JSON.stringify({
      number: task.number,
      title: task.title,
      state: task.state,
      pr: task.pr,
      verdict: task.verdict,
      attempts: task.attempts,
    }),
  );
  lines.push(JSON.stringify({ summary }));
  return lines.join("\n") + "\n";
}

export function renderSummary(tasks: readonly DemoTask[], summary: DemoSummary): string {
  const lines = [
    summary.ok
      ? `All ${summary.tasks} tasks done in ${summary.makespanSeconds} s.`
      : `${summary.done} of ${summary.tasks} tasks done after ${summary.makespanSeconds} s.`,
    "",
    ...tasks.map((task) => {
      // Columns line up however many digits the numbers have.
      const number = `#${task.number}`.padEnd(width(tasks.map((t) => `#${t.number}`)));
      const pr = (task.pr === null ? "-" : `#${task.pr}`).padEnd(width(tasks.map((t) => `#${t.pr ?? "-"}`)));
      const verdict = (task.verdict ?? "-").padEnd(width(tasks.map((t) => t.verdict ?? "-")));
      return `  ${number} ${task.state.padEnd(11)} PR ${pr}  verdict ${verdict}  attempts ${task.attempts}  ${task.title}`;
    }),
  ];
  return lines.join("\n") + "\n";
}

const width = (cells: readonly string[]): number => Math.max(0, ...cells.map((cell) => cell.length));
