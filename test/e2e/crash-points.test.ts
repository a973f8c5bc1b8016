import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { taskSummaries } from "../../src/db/tasks.ts";
import type { FailpointName } from "../../src/lib/failpoint.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { STATUS_MARKER } from "../../src/github/comments.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * A worker killed (-9) at each point of a task's life: after its worktree is made, after the agent ran,
 * after the run was judged, after the push, after the attempt was concluded, after the pull request was
 * opened, after the check run was made. Each task still ends in review with exactly one pull request,
 * one status comment and one push of its branch; the killed workers are replaced as a supervisor would.
 */

const SLOW_AGENT = new URL("../fixtures/agents/slow-edit.mjs", import.meta.url).pathname;
const POINTS: FailpointName[] = [
  "after-worktree",
  "after-agent",
  "after-judge",
  "after-push",
  "after-conclude",
  "after-pull-request",
  "after-check-run",
];
const repoOf = (point: FailpointName) => `killed-${point}`;

const drover = useStack({
  workers: 2,
  workerProcesses: 2,
  env: {
    DROVER_FAILPOINTS: POINTS.map((point) => `${point}@acme/${repoOf(point)}`).join(","),
    // A killed worker's task is taken over within about 12 s, not 30 s.
    DROVER_LEASE_MS: "6000",
  },
});

/** The points that fired: each leaves a marker in DROVER_HOME/failpoints (src/lib/failpoint.ts). */
async function fired(): Promise<string[]> {
  const dir = path.join(drover.stack().env.DROVER_HOME!, "failpoints");
  const markers: string[] = await readdir(dir).catch(() => []);
  return POINTS.filter((point) => markers.includes(`${point}@acme-${repoOf(point)}`));
}

const world = (name: string) => drover.stack().sandbox.world.repo("acme", name)!;
const pullsFor = (name: string): IssueRecord[] =>
  [...world(name).issues.values()].filter((issue) => issue.pull && issue.user.login === BOT);

/** What the task left on GitHub: pull requests, status comments, check runs, pushes of its branch. */
function footprint(name: string, number: number) {
  const pulls = pullsFor(name);
  const branch = pulls[0]?.pull?.head;
  return {
    pulls: pulls.length,
    statusComments: (world(name).issues.get(number)?.comments ?? []).filter(
      (c) => c.user.login === BOT && c.body.includes(STATUS_MARKER),
    ).length,
    checkRuns: world(name).checkRuns.filter((run) => run.headSha === pulls[0]?.pull?.headSha).length,
    pushes: drover
      .stack()
      .sandbox.deliveries.filter(
        (d) =>
          d.event === "push" &&
          (d.payload.repository as { name: string }).name === name &&
          d.payload.ref === `refs/heads/${branch}`,
      ).length,
  };
}

/** Starts a worker whenever one has died, as a process supervisor would, until stopped. */
function superviseWorkers(wanted: number) {
  let starting = false;
  const timer = setInterval(() => {
    const alive = drover.stack().workers.filter((w) => !w.exitedEarly).length;
    if (starting || alive >= wanted) return;
    starting = true;
    void drover
      .stack()
      .startWorker()
      .catch(() => {})
      .finally(() => {
        starting = false;
      });
  }, 250);
  return () => clearInterval(timer);
}

let stopSupervising = () => {};
afterAll(() => stopSupervising());

describe("a worker killed at each point of a task", () => {
  it("ends every task in review with one pull request, one status comment, one check run and one push", async () => {
    stopSupervising = superviseWorkers(2);
    const maintainer = drover.as("maintainer");
    const scratch = path.join(os.tmpdir(), `drover-points-${process.pid}`);
    const tasks = await Promise.all(
      POINTS.map(async (point) => {
        const runLog = `${scratch}-${point}.log`;
        const config = `agent: command\nagent_command: ${JSON.stringify([process.execPath, SLOW_AGENT, runLog, "1500"])}\n`;
        const repo = await repoWithConfig(maintainer, repoOf(point), config);
        const { data } = await maintainer.rest.issues.create({ ...repo, title: `Survive ${point}` });
        await maintainer.rest.issues.addLabels({ ...repo, issue_number: data.number, labels: ["drover"] });
        return { point, name: repo.repo, number: data.number, runLog };
      }),
    );

    const pending = new Set(tasks.map((t) => t.point));
    await eventually(
      "every task in review with its check run",
      async () => {
        for (const task of tasks) {
          const summary = (await taskSummaries(drover.database().db, `acme/${task.name}`))[0];
          const shown = footprint(task.name, task.number);
          if (summary?.state === "review" && shown.checkRuns > 0 && shown.pulls > 0)
            pending.delete(task.point);
        }
        return pending.size === 0;
      },
      200_000,
    ).catch((error: unknown) => {
      const logs = drover.stack().workers.map((w) => w.output().slice(-3000));
      throw new Error(
        `${(error as Error).message}; still pending: ${[...pending].join(", ")}\n${logs.join("\n---\n")}`,
      );
    });

    // Every failpoint fired: each killed a worker (the last one may have just made its check run, and be
    // reaped a moment after it is seen).
    const killed = () => drover.stack().workers.filter((w) => w.exitedEarly).length;
    await eventually("a worker killed at every point", () => killed() >= POINTS.length, 10_000).catch(
      () => {},
    );
    expect({ fired: await fired(), killed: killed() }).toEqual({ fired: POINTS, killed: POINTS.length });

    await drover.stack().sandbox.webhooksSent();
    for (const task of tasks) {
      expect({ point: task.point, ...footprint(task.name, task.number) }).toEqual({
        point: task.point,
        pulls: 1,
        statusComments: 1,
        checkRuns: 1,
        pushes: 1,
      });
      const runs = (await readFile(task.runLog, "utf8")).split("\n").filter(Boolean);
      expect(runs.length, `${task.point}: agent runs`).toBeGreaterThanOrEqual(1);
    }
    // The status comment of a task whose worker died after concluding says it is in review.
    const concluded = tasks.find((t) => t.point === "after-conclude")!;
    const status = world(concluded.name)
      .issues.get(concluded.number)!
      .comments.find((c) => c.body.includes(STATUS_MARKER))!.body;
    expect(status).toContain("review");
  }, 240_000);
});
