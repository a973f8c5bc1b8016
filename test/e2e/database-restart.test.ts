import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { TEST_DATABASE_URL } from "../helpers/services.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";

/**
 * PostgreSQL going away mid-run, as in a restart: every connection dropped and new ones refused for a
 * few seconds. Drover's processes stay up, a webhook that arrives meanwhile is answered (late, not with
 * an error), and both the task that was running and the one labelled during the outage end with one
 * pull request each.
 */

const SLOW_AGENT = new URL("../fixtures/agents/slow-edit.mjs", import.meta.url).pathname;

let proxy: TcpProxy;
let scratch: string;
beforeAll(async () => {
  const target = new URL(TEST_DATABASE_URL);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  scratch = await mkdtemp(path.join(os.tmpdir(), "drover-pg-restart-"));
});
afterAll(async () => {
  await proxy.close();
  await rm(scratch, { recursive: true, force: true });
});

const drover = useStack({
  workers: 2,
  databaseUrl: (url) => {
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    return viaProxy.toString();
  },
});

const world = (name: string) => drover.stack().sandbox.world.repo("acme", name)!;
const pullsFor = (name: string, number: number): IssueRecord[] =>
  [...world(name).issues.values()].filter(
    (issue) => issue.pull && issue.user.login === BOT && issue.body?.includes(`Closes #${number}`),
  );

describe("PostgreSQL restarted", () => {
  it("keeps Drover up, answers webhooks, and finishes the running task and the new one once each", async () => {
    const runLog = path.join(scratch, "runs.log");
    const runs = async () => (await readFile(runLog, "utf8").catch(() => "")).split("\n").filter(Boolean);
    const config = `agent: command\nagent_command: ${JSON.stringify([process.execPath, SLOW_AGENT, runLog, "3000"])}\n`;
    const maintainer = drover.as("maintainer");
    const repo = await repoWithConfig(maintainer, "restarted", config);
    const label = async (title: string) => {
      const { data } = await maintainer.rest.issues.create({ ...repo, title });
      await maintainer.rest.issues.addLabels({ ...repo, issue_number: data.number, labels: ["drover"] });
      return data.number;
    };

    const running = await label("Running while the database restarts");
    await eventually("the agent to start", async () => (await runs()).length === 1);

    const outage = proxy.outage(3_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sentBefore = drover.stack().sandbox.deliveries.length;
    const labelled = await label("Labelled while the database is down");
    await outage;

    for (const number of [running, labelled])
      await eventually(
        `a pull request for #${number}`,
        () => pullsFor("restarted", number).length > 0,
        90_000,
      );
    await drover.stack().sandbox.webhooksSent();

    // Every webhook sent during and after the outage was accepted: none answered with an error.
    const answered = drover
      .stack()
      .sandbox.deliveries.slice(sentBefore)
      .map((d) => d.status);
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.filter((status) => status === null || status >= 400)).toEqual([]);
    // No process died of it.
    const stack = drover.stack();
    expect([stack.web, ...stack.workers].filter((p) => p.exitedEarly)).toEqual([]);
    for (const number of [running, labelled]) expect(pullsFor("restarted", number)).toHaveLength(1);
  }, 150_000);
});
