import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { taskSummaries } from "../../src/db/tasks.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * Scaling out: two worker processes, each with its own DROVER_HOME as on two machines, against one
 * PostgreSQL and one Redis, share a backlog of ready tasks. Each task's agent runs once, in one worker's
 * home, and every task ends in review with one pull request.
 */

const SLOW_AGENT = new URL("../fixtures/agents/slow-edit.mjs", import.meta.url).pathname;
const TASKS = 8;

// Two agent runs at a time in each process, so the backlog needs both to be cleared in one round.
const drover = useStack({ workers: 2, workerProcesses: 2, homePerWorker: true });

describe("two workers with separate homes sharing a backlog", () => {
  it("runs every task once, on one worker or the other, and completes them all", async () => {
    const dir = path.dirname(drover.stack().env.DROVER_HOME!);
    // Each agent run appends "<pid> <worktree>" here: the worktree says whose home it ran in.
    const runLog = path.join(dir, "agent-runs.log");
    const config = [
      "agent: command",
      `agent_command: ${JSON.stringify([process.execPath, SLOW_AGENT, runLog, "1500"])}`,
      `max_workers: ${TASKS}`,
      "",
    ].join("\n");
    const maintainer = drover.as("maintainer");
    const repo = await repoWithConfig(maintainer, "backlog", config);
    const numbers: number[] = [];
    for (let i = 1; i <= TASKS; i++) {
      const { data } = await maintainer.rest.issues.create({ ...repo, title: `Task ${i}` });
      numbers.push(data.number);
    }
    // All ready at once: labelled one after another, no links between them.
    for (const number of numbers)
      await maintainer.rest.issues.addLabels({ ...repo, issue_number: number, labels: ["drover"] });

    const summaries = await eventually(
      "every task in review",
      async () => {
        const rows = await taskSummaries(drover.database().db, "acme/backlog");
        return rows.length === TASKS && rows.every((row) => row.state === "review") && rows;
      },
      120_000,
    ).catch((error: Error) => {
      const logs = drover.stack().workers.map((w) => w.output().slice(-3000));
      throw new Error(`${error.message}\n${logs.join("\n---\n")}`);
    });
    expect(summaries.map((task) => task.attempts)).toEqual(numbers.map(() => 1));

    // A task labelled after the others, seen through: a second run of any earlier task, had one been
    // queued, would have started before this one finished.
    const { data: last } = await maintainer.rest.issues.create({ ...repo, title: "Last" });
    await maintainer.rest.issues.addLabels({ ...repo, issue_number: last.number, labels: ["drover"] });
    await eventually("the last task in review", async () =>
      (await taskSummaries(drover.database().db, "acme/backlog")).some(
        (row) => row.number === last.number && row.state === "review",
      ),
    );
    numbers.push(last.number);

    // One agent run per task, and both workers ran some (a worktree may serve one task after another).
    const runs = (await readFile(runLog, "utf8")).split("\n").filter(Boolean);
    expect(runs).toHaveLength(TASKS + 1);
    const worktrees = runs.map((line) => line.slice(line.indexOf(" ") + 1));
    const homes = (await readdir(dir)).filter((name) => /^home-\d+$/.test(name));
    expect(homes).toHaveLength(2);
    const ranIn = homes.map(
      (home) => worktrees.filter((w) => w.startsWith(`${path.join(dir, home)}/`)).length,
    );
    console.info(`agent runs per worker home: ${homes.map((home, i) => `${home} ${ranIn[i]}`).join(", ")}`);
    expect(ranIn.reduce((a, b) => a + b, 0)).toBe(TASKS + 1);
    expect(ranIn.every((count) => count > 0)).toBe(true);

    // On GitHub: one pull request per task (opened just after the task goes to review), none twice.
    const world = drover.stack().sandbox.world.repo("acme", "backlog")!;
    const botPulls = (): IssueRecord[] =>
      [...world.issues.values()].filter((i) => i.pull && i.user.login === BOT);
    await eventually("a pull request for every task", () => botPulls().length >= numbers.length);
    await drover.stack().sandbox.webhooksSent();
    const pulls = botPulls();
    const closes = pulls.map((pull) => /Closes #(\d+)/.exec(pull.body ?? "")?.[1]).map(Number);
    expect(closes.sort((a, b) => a - b)).toEqual([...numbers].sort((a, b) => a - b));
  }, 180_000);
});
