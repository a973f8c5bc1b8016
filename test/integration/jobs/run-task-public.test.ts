import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { conclude } from "../../../jobs/run-task/conclude.ts";
import { failed } from "../../../jobs/run-task/run.ts";
import { getRepository, upsertRepository } from "../../../src/db/repositories.ts";
import { attempts } from "../../../src/db/schema.ts";
import { getTask } from "../../../src/db/tasks.ts";
import type { Enqueue } from "../../../src/queue/job-catalog.ts";
import { useDrover } from "../../helpers/drover.ts";
import {
  agentConfig,
  mockLabelledRun,
  recorder,
  taskOf,
  type Published,
} from "../../helpers/github-flows.ts";
import { issueLabeled } from "../../helpers/payloads.ts";
import { claimedTask } from "../../helpers/tasks.ts";

/**
 * What an attempt posts (the status comment, the check run) names none of the worker's paths: the agent
 * and the checks print them, and they read relative to the worktree. It says where the attempt's time
 * went instead.
 */
describe("run-task's output on GitHub", () => {
  const { db, harness, sandbox, repo, github } = useDrover();

  async function labelAndRun(
    issue: number,
    title: string,
    yaml: string,
    passes?: { branch: string; pr: number },
  ) {
    const sent: Published = recorder();
    mockLabelledRun(github, sent, {
      issue: { number: issue, title, labels: ["drover"] },
      commentId: 9000 + issue,
      config: yaml,
      installationId: repo().installationId,
      ...(passes ? { passes } : {}),
    });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: issue, title }));
    await harness().drain();
    return sent;
  }

  /** Everything sent to GitHub, as one text. */
  const posted = (sent: Published) =>
    JSON.stringify([sent.comments.map((comment) => comment.body), sent.pr ?? null, sent.check ?? null]);

  it("shows the agent's and a failing check's paths relative to the worktree, with the attempt's times", async () => {
    const yaml = agentConfig("where-am-i.mjs", {
      extra: 'checks:\n  - run: "pwd; echo $HOME/cache; exit 1"',
    });
    const sent = await labelAndRun(71, "Where am I", yaml);

    const { task, attempts: tried } = await taskOf(db(), repo(), 71);
    expect(task?.state).toBe("failed");
    const status = sent.comments.at(-1)?.body ?? "";
    expect(status).toContain("❌ Failed");
    // The agent's log tail and the check's output, as the worktree's own paths, and the run's HOME.
    expect(status).toContain("cwd=.\n");
    expect(status).toContain("wrote ./WHERE.md");
    expect(status).toContain("home=<run>/home");
    expect(status).toMatch(/Output of `pwd; echo \$HOME\/cache; exit 1`[\s\S]*\n\.\n<run>\/home\/cache/);
    expect(status).toContain("**Summary:** Wrote WHERE.md in .");
    expect(posted(sent)).not.toContain(sandbox().home);

    // Where the time went: recorded with the attempt, and on the comment. Nothing was pushed.
    const timings = tried[0]?.timings as Record<string, number>;
    expect(Object.keys(timings).sort()).toEqual(["agentMs", "checksMs", "waitingMs", "worktreeMs"]);
    expect(status).toMatch(/\*\*Time:\*\* waiting \S+ · worktree \S+ · agent [^·]+ · checks \S+\n/);
  });

  it("keeps the worker's paths off the check run and the pull request of a passing attempt", async () => {
    const branch = "drover/72-where-am-i-now";
    const sent = await labelAndRun(72, "Where am I now", agentConfig("where-am-i.mjs"), { branch, pr: 172 });

    const { task, attempts: tried } = await taskOf(db(), repo(), 72);
    expect(task?.state).toBe("review");
    const summary = (sent.check?.output as { summary: string }).summary;
    expect(summary).toContain("cwd=.\n");
    expect(summary).toContain("Wrote WHERE.md in .");
    expect(String(sent.pr?.body)).toContain("Wrote WHERE.md in .");
    expect(posted(sent)).not.toContain(sandbox().home);
    // The push is timed too; no check ran.
    expect(Object.keys(tried[0]?.timings ?? {}).sort()).toEqual([
      "agentMs",
      "pushMs",
      "waitingMs",
      "worktreeMs",
    ]);
    expect(summary).toMatch(/\*\*Time:\*\* waiting \S+ · worktree \S+ · agent [^·]+ · push \S+\n/);
  });

  it("records an error's reason with DROVER_HOME's paths as placeholders", async () => {
    await upsertRepository(db(), repo());
    const { taskId, lease } = await claimedTask(db(), 73, "this-worker");
    const task = (await getTask(db(), taskId))!;
    const repository = (await getRepository(db(), task.repoId))!;
    const mirror = `${sandbox().home}/mirrors/${repository.fullName}.git`;
    const reason = `Drover could not run the task: the mirror ${mirror} was changed by hand`;

    // Its publish and scheduling pass are recorded, not run: what is recorded is what they would post.
    const asked: string[] = [];
    const deps = { ...harness().deps, enqueue: (async (name) => void asked.push(name)) as Enqueue };
    await conclude(deps, { task, lease, repository, config: undefined }, failed(reason));

    const [attempt] = await db().select().from(attempts).where(eq(attempts.id, lease.attemptId));
    const expected = `Drover could not run the task: the mirror <drover-home>/mirrors/${repository.fullName}.git was changed by hand`;
    expect(attempt?.reason).toBe(expected);
    expect((await getTask(db(), taskId))?.stateReason).toBe(expected);
    expect(asked).toEqual(["publish", "schedule"]);
  });
});
