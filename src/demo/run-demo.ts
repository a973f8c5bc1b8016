import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../db/client.ts";
import { dropDatabase, migrateDatabase } from "../db/migrate.ts";
import { taskSummaries } from "../db/tasks.ts";
import { assertRedisUsable } from "../queue/redis.ts";
import { labelAll, mergePassing, personClient, seedRepository } from "./maintainer.ts";
import {
  demoTasks,
  jsonLines,
  renderProgress,
  renderSummary,
  seconds,
  settled,
  summarise,
  type DemoSummary,
} from "./progress.ts";
import { DEMO_ISSUES } from "./scenario.ts";
import { startStack, type Stack } from "./stack.ts";

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
  /** The throwaway database made on that server (dropped at the end unless `keep`). Default drover_demo. */
  databaseName?: string;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  /**
   * Keep Drover up after the tasks finish (`--dashboard`): the dashboard's URL and a signed-in link for the
   * sandbox's maintainer are printed, then this is awaited (the CLI: until Ctrl-C) before everything stops.
   */
  dashboard?: (dashboard: DemoDashboard) => Promise<void>;
}

/** What `--dashboard` keeps up, for whoever looks at it. */
export type DemoDashboard = {
  /** The dashboard (`/drover/`). */
  url: string;
  /** The same, signed in as the sandbox's maintainer. */
  signedIn: string;
  /** A link that signs in as another of the sandbox's people (`reader`, `outsider`, ...). */
  signInAs: (login: string) => string;
  /** "owner/name" of the demo's repository. */
  repo: string;
  /** The sandbox's people and their tokens, to act as them. */
  sandbox: Stack["sandbox"];
  /** The maintainer's client on the sandbox. */
  maintainer: ReturnType<typeof personClient>;
};

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
  databaseUrl.pathname = `/${options.databaseName ?? "drover_demo"}`;
  let stack: Stack | undefined;
  try {
    await assertRedisUsable(options.redisUrl);
    await dropDatabase(databaseUrl.toString());
    await migrateDatabase(databaseUrl.toString());
    say("Starting a sandbox GitHub, and Drover's web and worker against it...\n");
    stack = await startStack({
      dir,
      databaseUrl: databaseUrl.toString(),
      redisUrl: options.redisUrl,
      queuePrefix: `drover-demo-${randomBytes(4).toString("hex")}`,
      workers: options.workers,
    });
    const { sandbox } = stack;
    const processes = [stack.web, ...stack.workers];

    const maintainer = personClient(sandbox.urls.api, sandbox.token("maintainer"));
    const agentState = path.join(dir, "agent-state");
    await mkdir(agentState, { recursive: true });
    const agentCommand = options.agentCommand ?? [process.execPath, SCRIPTED_AGENT, agentState];
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
          say(`${seconds(Date.now() - startedAt)} s: ${states}\n`);
        lastStates = states;
        if (settled(DEMO_ISSUES, tasks)) break;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    } finally {
      await database.close();
    }
    const summary = summarise(tasks, startedAt, Date.now());
    if (options.json) options.out.write(jsonLines(tasks, summary));
    else say(`\n${renderSummary(tasks, summary)}`);
    if (options.dashboard) {
      const webUrl = `http://127.0.0.1:${stack.env.PORT}`;
      await keepDashboard(options, options.dashboard, say, {
        webUrl,
        repo: `${repo.owner}/${repo.repo}`,
        sandbox,
        maintainer,
      });
    }
    if (options.keep)
      say(
        `Kept: ${dir} (sandbox repositories, Drover's home, logs) and database ${databaseUrl.pathname.slice(1)}\n`,
      );
    return summary;
  } finally {
    await stack?.stop();
    if (!options.keep) {
      await rm(dir, { recursive: true, force: true });
      await dropDatabase(databaseUrl.toString()).catch(() => {});
    }
  }
}

/** `--dashboard`: prints where to look, and keeps Drover up until `until` resolves. */
async function keepDashboard(
  options: DemoOptions,
  until: NonNullable<DemoOptions["dashboard"]>,
  say: (text: string) => void,
  parts: Omit<DemoDashboard, "url" | "signedIn" | "signInAs"> & { webUrl: string },
): Promise<void> {
  const { data: me } = await parts.maintainer.rest.users.getAuthenticated();
  const url = `${parts.webUrl}/drover/`;
  // Drover's own sign-in, through the sandbox's OAuth client, which approves at once as the login named.
  const signInAs = (login: string) =>
    `${parts.webUrl}/drover/auth/login?${new URLSearchParams({ login, next: "/drover/" }).toString()}`;
  const signedIn = signInAs(me.login);
  say(
    `\nDrover stays up. Dashboard: ${url}\nSigned in as ${me.login} (the sandbox's maintainer): ${signedIn}\nCtrl-C stops it.\n`,
  );
  if (options.json) options.out.write(`${JSON.stringify({ dashboard: { url, signedIn } })}\n`);
  const { webUrl: _webUrl, ...rest } = parts;
  await until({ ...rest, url, signedIn, signInAs });
}
