import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../db/client.ts";
import { dropDatabase, migrateDatabase } from "../db/migrate.ts";
import { taskSummaries } from "../db/tasks.ts";
import { assertRedisUsable, deleteQueueKeys } from "../queue/redis.ts";
import { startSandbox, type Sandbox } from "../sandbox/server.ts";
import { freePort, startDroverProcess, type DroverProcess } from "./drover-process.ts";
import { labelAll, mergePassing, personClient, seedRepository } from "./maintainer.ts";
import {
  demoTasks,
  jsonLines,
  renderProgress,
  renderSummary,
  summarise,
  type DemoSummary,
} from "./progress.ts";
import { DEMO_ISSUES } from "./scenario.ts";

export interface DemoOptions {
  /** Print one JSON object per task and one for the run, instead of live progress. */
  json: boolean;
  /** The agent every task runs, as argv. Default: the scripted agent in src/demo/agent.mjs. */
  agentCommand?: string[] | undefined;
  /** Agent runs at once (DROVER_WORKERS and the repository's max_workers). Default 3. */
  workers: number;
  /** Give up after this long. Default 5 minutes. */
  timeoutMs: number;
  /** Keep the sandbox's repositories, Drover's home and logs (their directory is printed). */
  keep: boolean;
  /** PostgreSQL server and Redis to use (the demo makes its own database and queue namespace on them). */
  databaseUrl: string;
  redisUrl: string;
  out: NodeJS.WritableStream & { isTTY?: boolean };
}

export const SCRIPTED_AGENT = fileURLToPath(new URL("./agent.mjs", import.meta.url));

/**
 * `drover demo`: the whole loop on this machine with no credentials. A sandbox stands in for GitHub;
 * Drover's web and worker run as their own processes against it; a maintainer seeds a project with
 * linked issues and labels them; Drover's agents open pull requests; the maintainer merges the passing
 * ones, which unblocks the rest. Resolves with the summary; `ok` only when every task is done.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "drover-demo-"));
  const say = (text: string) => {
    if (!options.json) options.out.write(text);
  };
  const databaseUrl = new URL(options.databaseUrl);
  databaseUrl.pathname = "/drover_demo";
  const prefix = `drover-demo-${randomBytes(4).toString("hex")}`;
  const processes: DroverProcess[] = [];
  let sandbox: Sandbox | undefined;
  try {
    await assertRedisUsable(options.redisUrl);
    await dropDatabase(databaseUrl.toString());
    await migrateDatabase(databaseUrl.toString());

    const port = await freePort();
    sandbox = await startSandbox({
      dir: path.join(dir, "sandbox"),
      webhookUrl: `http://127.0.0.1:${port}/api/github/webhooks`,
    });
    say(`Sandbox GitHub at ${sandbox.urls.api}; starting Drover (web and worker)...\n`);
    const home = path.join(dir, "home");
    await mkdir(home, { recursive: true });
    const env = {
      ...sandbox.droverEnv(),
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: options.redisUrl,
      DROVER_QUEUE_PREFIX: prefix,
      DROVER_HOME: home,
      DROVER_WORKERS: String(options.workers),
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      GITHUB_THROTTLE: "off",
    };
    for (const role of ["web", "worker"] as const) {
      processes.push(startDroverProcess({ role, env, cwd: dir, logFile: path.join(dir, `${role}.log`) }));
    }
    await Promise.all(processes.map((p) => p.ready));

    const maintainer = personClient(sandbox.urls.api, sandbox.token("maintainer"));
    const agentCommand = options.agentCommand ?? [process.execPath, SCRIPTED_AGENT];
    const { repo } = await seedRepository(maintainer, sandbox.organization, {
      agentCommand,
      workers: options.workers,
    });
    say(
      `Seeded ${repo.owner}/${repo.repo} with ${DEMO_ISSUES.length} linked issues; labelling them "drover".\n\n`,
    );
    const startedAt = Date.now();
    await labelAll(
      maintainer,
      repo,
      DEMO_ISSUES.map((issue) => issue.number),
    );

    const database = openDatabase(databaseUrl.toString(), { max: 2 });
    const web = sandbox.urls.web;
    const read = async () =>
      demoTasks(
        DEMO_ISSUES,
        await taskSummaries(database.db, `${repo.owner}/${repo.repo}`),
        (pr) => `${web}/${repo.owner}/${repo.repo}/pull/${pr}`,
      );
    const live = !options.json && options.out.isTTY === true;
    let drawn = 0;
    const draw = (text: string) => {
      if (!live) return;
      options.out.write(`${drawn > 0 ? `\x1b[${drawn}A\x1b[J` : ""}${text}`);
      drawn = text.split("\n").length - 1;
    };
    let tasks = await read();
    let lastStates = "";
    try {
      while (Date.now() - startedAt < options.timeoutMs) {
        for (const p of processes) {
          if (p.exitedEarly)
            throw new Error(`drover ${p.role} stopped unexpectedly:\n${p.output().slice(-4000)}`);
        }
        await mergePassing(maintainer, repo);
        tasks = await read();
        draw(renderProgress(DEMO_ISSUES, tasks, Date.now() - startedAt));
        const states = tasks.map((t) => `#${t.number} ${t.state}`).join(", ");
        if (!live && !options.json && states !== lastStates)
          say(`${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${states}\n`);
        lastStates = states;
        if (tasks.every((t) => ["done", "failed", "blocked", "cancelled"].includes(t.state))) break;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    } finally {
      await database.close();
    }
    const summary = summarise(tasks, startedAt, Date.now());
    if (options.json) options.out.write(jsonLines(tasks, summary));
    else say(`\n${renderSummary(tasks, summary)}`);
    if (options.keep) say(`Kept: ${dir} (sandbox repositories, Drover's home, web.log, worker.log)\n`);
    return summary;
  } finally {
    await Promise.all(processes.map((p) => p.stop(5_000)));
    await sandbox?.close();
    await deleteQueueKeys(options.redisUrl, prefix).catch(() => {});
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  }
}
