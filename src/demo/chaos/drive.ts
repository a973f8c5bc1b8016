import { setTimeout as sleep } from "node:timers/promises";
import { taskSummaries } from "../../db/tasks.ts";
import type { DroverProcess } from "../drover-process.ts";
import { mergePassing, type Person } from "../maintainer.ts";
import { demoTasks, seconds, settled, type DemoTask } from "../progress.ts";
import { DEMO_ISSUES } from "../scenario.ts";
import { inject, replaceWorker, type FaultKind, type Planned, type RunContext } from "./faults.ts";
import type { Recovery } from "./report.ts";

const POLL_MS = 200;

/** A fault still waiting for Drover to move on: `waitFor` tasks, or any task when null. */
type OpenFault = {
  kind: FaultKind;
  atMs: number;
  waitFor: Set<number> | null;
  before: Map<number, string>;
};

/** The maintainer's loop (merge what passes) while faults land, until the run settles or times out. */
export async function drive(
  run: RunContext,
  plan: Planned[],
  maintainer: Person,
  repo: { owner: string; repo: string },
  timeoutMs: number,
): Promise<{ tasks: DemoTask[]; recoveries: Recovery[] }> {
  const { stack } = run;
  const read = async () =>
    demoTasks(DEMO_ISSUES, await taskSummaries(run.db, run.repoFullName), (pr) => `#${pr}`);
  let tasks = await read();
  const open: OpenFault[] = [];
  const recoveries: Recovery[] = [];
  let mergeTrouble = false;
  let ended: "settled" | "timeout" = "timeout";

  while (Date.now() - run.startedAt < timeoutMs) {
    if (stack.web.exitedEarly)
      throw new Error(`drover web stopped unexpectedly:\n${stack.web.output().slice(-4000)}`);
    for (const worker of run.live) {
      if (!worker.exitedEarly) continue;
      run.live.delete(worker);
      run.notes.push(`worker ${worker.pid} exited by itself:\n    ${lastWords(worker)}`);
      run.say(`worker ${worker.pid} exited by itself; starting a replacement`);
      replaceWorker(run);
    }

    const elapsed = Date.now() - run.startedAt;
    for (const fault of plan) {
      if (fault.done || fault.atMs > elapsed) continue;
      const before = await read().catch(() => tasks);
      const atMs = Date.now() - run.startedAt;
      const injected = await inject(run, fault.kind, before).catch((error: unknown) => {
        run.say(`${fault.kind} failed to inject (trying again): ${(error as Error).message}`);
        return undefined;
      });
      if (injected === undefined) continue;
      fault.done = true;
      if (injected === "skipped") continue;
      open.push({
        kind: fault.kind,
        atMs,
        waitFor: injected.waitFor,
        before: new Map(before.map((task) => [task.number, task.state])),
      });
    }

    try {
      await mergePassing(maintainer, repo);
    } catch (error) {
      if (!mergeTrouble) run.notes.push(`the maintainer could not merge: ${(error as Error).message}`);
      mergeTrouble = true;
    }
    try {
      tasks = await read();
    } catch {
      await sleep(POLL_MS); // PostgreSQL restarting
      continue;
    }

    const now = Date.now() - run.startedAt;
    for (const fault of [...open]) {
      if (!movedOn(fault, tasks)) continue;
      recoveries.push({ kind: fault.kind, atMs: fault.atMs, recoveryMs: now - fault.atMs, recovered: true });
      open.splice(open.indexOf(fault), 1);
    }
    if (settled(DEMO_ISSUES, tasks)) {
      ended = "settled";
      break;
    }
    await sleep(POLL_MS);
  }

  const end = Date.now() - run.startedAt;
  for (const fault of open)
    recoveries.push({
      kind: fault.kind,
      atMs: fault.atMs,
      recoveryMs: end - fault.atMs,
      recovered: ended === "settled",
    });
  if (ended === "timeout") run.notes.push(`timed out after ${seconds(timeoutMs)} s`);
  await Promise.all(run.replacements);
  return { tasks, recoveries };
}

/** Drover moved on from the fault: the tasks it hit reached review or done, or (none hit) any task did. */
function movedOn(fault: OpenFault, tasks: readonly DemoTask[]): boolean {
  const progressed = (state: string) => state === "review" || state === "done";
  if (fault.waitFor)
    return tasks.filter((t) => fault.waitFor!.has(t.number)).every((t) => progressed(t.state));
  return tasks.some((t) => progressed(t.state) && fault.before.get(t.number) !== t.state);
}

/** What a worker printed as it died: its last lines that are not its JSON log (a crash's stack trace). */
function lastWords(worker: DroverProcess): string {
  const lines = worker.output().trim().split("\n");
  const plain = lines.filter((line) => !line.startsWith("{")).slice(-12);
  return (plain.length > 0 ? plain : lines.slice(-1)).join("\n    ");
}
