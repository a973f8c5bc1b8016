import { seconds, type DemoTask } from "../progress.ts";
import type { FaultKind } from "./faults.ts";

// What chaos prints: a line per run for people, and the JSON report summing every run.

export type ChaosReport = {
  runs: number;
  tasks: number;
  tasksDone: number;
  lostTasks: number;
  duplicatePRs: number;
  duplicateComments: number;
  duplicatePushes: number;
  longestRecoverySeconds: number;
  seed: number;
  /** Faults injected, by kind ("reorder": deliveries held back). */
  faults: Partial<Record<FaultKind, number>>;
  ok: boolean;
};

/** Drover should be making progress again within this long of any fault. */
export const MAX_RECOVERY_SECONDS = 60;

export type Recovery = { kind: FaultKind; atMs: number; recoveryMs: number; recovered: boolean };

export type RunResult = {
  tasks: DemoTask[];
  makespanMs: number;
  duplicatePRs: number;
  duplicateComments: number;
  duplicatePushes: number;
  recoveries: Recovery[];
  reorders: number;
  notes: string[];
};

export function summarise(seed: number, results: readonly RunResult[]): ChaosReport {
  const sum = (f: (r: RunResult) => number) => results.reduce((total, r) => total + f(r), 0);
  const recoveries = results.flatMap((r) => r.recoveries);
  const faults: Partial<Record<FaultKind, number>> = {};
  for (const { kind } of recoveries) faults[kind] = (faults[kind] ?? 0) + 1;
  const reorders = sum((r) => r.reorders);
  if (reorders > 0) faults.reorder = reorders;
  const tasks = sum((r) => r.tasks.length);
  const tasksDone = sum((r) => r.tasks.filter((t) => t.state === "done").length);
  const longest = Math.max(0, ...recoveries.map((r) => r.recoveryMs));
  const report = {
    runs: results.length,
    tasks,
    tasksDone,
    lostTasks: tasks - tasksDone,
    duplicatePRs: sum((r) => r.duplicatePRs),
    duplicateComments: sum((r) => r.duplicateComments),
    duplicatePushes: sum((r) => r.duplicatePushes),
    longestRecoverySeconds: Number(seconds(longest)),
    seed,
    faults,
  };
  return { ...report, ok: results.every(held) };
}

/** Every task done, nothing made twice, every fault recovered from in time. */
export function held(result: RunResult): boolean {
  return (
    result.tasks.every((t) => t.state === "done") &&
    result.duplicatePRs + result.duplicateComments + result.duplicatePushes === 0 &&
    result.recoveries.every((r) => r.recovered && r.recoveryMs <= MAX_RECOVERY_SECONDS * 1000)
  );
}

export function describeRun(result: RunResult): string {
  const done = result.tasks.filter((t) => t.state === "done").length;
  const faults = [...result.recoveries]
    .sort((a, b) => a.atMs - b.atMs)
    .map(
      (r) =>
        `${r.kind} at ${seconds(r.atMs)} s → ${r.recovered ? "" : "not recovered after "}${seconds(r.recoveryMs)} s`,
    );
  const lost = result.tasks.filter((t) => t.state !== "done").map((t) => `#${t.number} ${t.state}`);
  return [
    `  ${done}/${result.tasks.length} done in ${seconds(result.makespanMs)} s; ${result.reorders} deliveries held back`,
    `  faults (injected → recovered): ${faults.join(", ") || "none"}`,
    `  lost ${lost.length}${lost.length ? ` (${lost.join(", ")})` : ""}, duplicate PRs ${result.duplicatePRs}, ` +
      `duplicate status comments ${result.duplicateComments}, duplicate pushes ${result.duplicatePushes}`,
    ...result.notes.map((note) => `  note: ${note}`),
  ].join("\n");
}
