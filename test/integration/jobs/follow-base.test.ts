import { eq } from "drizzle-orm";
import pino from "pino";
import { Probot } from "probot";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandJob } from "../../../jobs/command.ts";
import type { JobDeps } from "../../../jobs/deps.ts";
import { followBase, followPull } from "../../../jobs/follow-base.ts";
import { baseMovedSince } from "../../../src/db/base-pulls.ts";
import { DroverConfig } from "../../../src/config/schema.ts";
import { recordStep } from "../../../src/db/attempts.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { attempts, tasks } from "../../../src/db/schema.ts";
import { getTask, queueTasks, triggerTask, type Task } from "../../../src/db/tasks.ts";
import { STATUS_MARKER } from "../../../src/github/comments.ts";
import { GitHubApp } from "../../../src/github/app.ts";
import type { Octokit } from "../../../src/github/types.ts";
import { receiveWebhook } from "../../../src/intake/receive.ts";
import type { Enqueue, JobName, JobPayload } from "../../../src/queue/job-catalog.ts";
import { APP_SLUG } from "../../../src/sandbox/seed.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { cloneRepo, startTestSandbox, type Clone, type TestSandbox } from "../../helpers/sandbox.ts";

/**
 * Drover's pull requests following their base branch, against the sandbox (which works out `mergeable`
 * as GitHub does, and sends the push webhooks): a push to main that makes a pull request conflict gives
 * it to the agent (or, its tries used up, to a person), the base's pull requests cost one query however
 * many there are, and a person who fixes a conflicting pull request puts its task back in review.
 */

const BOT = `${APP_SLUG}[bot]`;
type Queued = { name: JobName; payload: unknown };

describe("following the base branch", () => {
  const testDb = useTestDatabase();
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  let hub: TestSandbox;
  let github: GitHubApp;
  let drover: Octokit;
  const queued: Queued[] = [];
  const enqueue: Enqueue = async <N extends JobName>(name: N, payload: JobPayload<N>) => {
    queued.push({ name, payload });
  };
  let delivered = 0;

  beforeAll(async () => {
    hub = await startTestSandbox();
    const probot = new Probot({
      appId: hub.sandbox.appId,
      privateKey: hub.sandbox.privateKey,
      baseUrl: hub.api,
      log,
    });
    github = new GitHubApp(probot);
    drover = await github.installation(hub.sandbox.installationId);
  }, 30_000);
  afterAll(async () => hub?.close());

  const db = () => testDb.database().db;
  const deps = (): JobDeps => ({
    db: db(),
    enqueue,
    github,
    env: { DROVER_HOME: "/tmp/drover-follow-base-test", DROVER_AGENT_ENV: [] },
    log,
    workerId: "follow-base-test",
    capacity: async () => 2,
  });

  /**
   * The webhooks sent since the last call go through intake; the follow-base and command jobs it queues
   * run (others are only recorded). Returns the requests Drover made meanwhile, REST and GraphQL, as
   * `METHOD /route` (`POST /graphql` for a query), and the other jobs queued.
   */
  async function deliverAndRun(): Promise<{ requests: string[]; others: JobName[] }> {
    const hooks = await hub.deliveries(delivered);
    delivered += hooks.length;
    const from = hub.sandbox.requests.length;
    for (const hook of hooks) {
      await receiveWebhook(
        { db: db(), enqueue, log, botLogin: BOT },
        { id: hook.id, name: hook.event, payload: hook.payload },
      );
    }
    const others: JobName[] = [];
    for (let job = queued.shift(); job; job = queued.shift()) {
      if (job.name === "follow-base") await followBase(deps(), job.payload as JobPayload<"follow-base">);
      else if (job.name === "command") await commandJob(deps(), job.payload as JobPayload<"command">);
      else others.push(job.name);
    }
    const requests = hub.sandbox.requests
      .slice(from)
      .filter((r) => r.kind !== "git" && !r.route.endsWith("/access_tokens"));
    return { requests: requests.map((r) => `${r.method} ${r.route}`), others };
  }

  type Repo = { owner: string; repo: string; id: number; clone: Clone };

  /** A repository with `greeting.txt` on main, recorded as Drover records one, and a maintainer's clone. */
  async function newRepo(name: string): Promise<Repo> {
    const repo = await hub.newRepo(name);
    const maintainer = hub.as("maintainer");
    const { data } = await maintainer.rest.repos.get(repo);
    await upsertRepository(db(), {
      id: data.id,
      installationId: hub.sandbox.installationId,
      fullName: data.full_name,
      cloneUrl: data.clone_url,
      defaultBranch: data.default_branch,
    });
    const clone = await cloneRepo(hub.sandbox, repo, hub.sandbox.token("maintainer"));
    const from = await hub.mark();
    const sha = await clone.commit({ "greeting.txt": "hello\n" }, "Greet");
    await clone.git("push", "--quiet", "origin", "HEAD:refs/heads/main");
    // Its push, before there is anything to follow.
    await hub.delivery((d) => d.event === "push" && d.payload.after === sha, from);
    await deliverAndRun();
    return { ...repo, id: data.id, clone };
  }

  type InReview = {
    task: Task;
    issue: number;
    pr: number;
    branch: string;
    headSha: string;
    checkRun: number;
  };

  /**
   * A task in review, as publish leaves it: its issue, its branch (writing `files` on top of main), its
   * pull request and passing check run by Drover, its attempt and steps recorded.
   */
  async function taskInReview(
    repo: Repo,
    input: { title: string; files: Record<string, string>; config?: string; start?: object; on?: string },
  ): Promise<InReview> {
    const on = input.on ?? "main";
    const { data: issue } = await hub
      .as("maintainer")
      .rest.issues.create({ owner: repo.owner, repo: repo.repo, title: input.title });
    const branch = `drover/${issue.number}-task`;
    await repo.clone.git("fetch", "--quiet", "origin");
    await repo.clone.git("checkout", "--quiet", "-B", branch, `origin/${on}`);
    const headSha = await repo.clone.commit(input.files, input.title);
    await repo.clone.git("push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
    await repo.clone.git("checkout", "--quiet", "main");
    const { data: pull } = await drover.rest.pulls.create({
      owner: repo.owner,
      repo: repo.repo,
      head: branch,
      base: on,
      title: input.title,
      body: `Closes #${issue.number}`,
    });
    const { data: check } = await drover.rest.checks.create({
      owner: repo.owner,
      repo: repo.repo,
      name: "Drover",
      head_sha: headSha,
      status: "completed",
      conclusion: "success",
      output: { title: "The agent passed", summary: "All good." },
    });
    const trigger = await triggerTask(db(), {
      repoId: repo.id,
      issueNumber: issue.number,
      title: input.title,
      createdBy: "maintainer",
      createdById: null,
      triggeredBy: "maintainer",
      branch,
      config: DroverConfig.parse(parse(input.config ?? "") ?? {}),
    });
    if (trigger.kind !== "created") throw new Error(`task not created: ${trigger.kind}`);
    const [attempt] = await queueTasks(db(), [trigger.task.id]);
    if (!attempt) throw new Error("attempt not queued");
    await db()
      .update(attempts)
      .set({
        state: "finished",
        conclusion: "success",
        headSha,
        finishedAt: new Date(),
        ...(input.start ? { start: input.start } : {}),
      })
      .where(eq(attempts.id, attempt.attemptId));
    await recordStep(db(), attempt.attemptId, "check-run", { id: check.id });
    await db()
      .update(tasks)
      .set({ state: "review", prNumber: pull.number, stateReason: "the agent passed" })
      .where(eq(tasks.id, trigger.task.id));
    await deliverAndRun();
    const task = (await getTask(db(), trigger.task.id))!;
    return { task, issue: issue.number, pr: pull.number, branch, headSha, checkRun: check.id };
  }

  /** A maintainer's commit on main, pushed; returns its sha once the push webhook is in. */
  async function pushToMain(repo: Repo, files: Record<string, string>): Promise<string> {
    const from = await hub.mark();
    const sha = await repo.clone.commit(files, "Change main");
    await repo.clone.git("push", "--quiet", "origin", "HEAD:refs/heads/main");
    await hub.delivery((d) => d.event === "push" && d.payload.after === sha, from);
    return sha;
  }

  const world = (repo: Repo) => hub.sandbox.world.repo(repo.owner, repo.repo)!;
  const checkRun = (repo: Repo, id: number) => world(repo).checkRuns.find((run) => run.id === id)!;
  const labels = (repo: Repo, issue: number) =>
    world(repo)
      .issues.get(issue)!
      .labels.map((label) => label.name);
  const status = (repo: Repo, issue: number) =>
    world(repo)
      .issues.get(issue)!
      .comments.find((c) => c.user.login === BOT && c.body.includes(STATUS_MARKER))?.body ?? "";
  const taskNow = async (t: InReview) => (await getTask(db(), t.task.id))!;

  it("gives a pull request that a push to main made conflict to the agent, and says so on its check run and issue", async () => {
    const repo = await newRepo("follow-conflict");
    const conflicting = await taskInReview(repo, {
      title: "Greet in French",
      files: { "greeting.txt": "bonjour\n" },
    });
    const clean = await taskInReview(repo, { title: "Add a farewell", files: { "farewell.txt": "bye\n" } });

    const sha = await pushToMain(repo, { "greeting.txt": "hallo\n" });
    const { requests, others } = await deliverAndRun();

    const task = await taskNow(conflicting);
    expect(task).toMatchObject({ state: "ready" });
    expect(task.nextStart).toEqual({
      from: "branch",
      cause: "conflict",
      by: "maintainer",
      prNumber: conflicting.pr,
      merge: { branch: "main", sha },
    });
    expect(task.stateReason).toContain(`#${conflicting.pr} conflicts with \`main\``);
    expect(task.stateReason).toContain("attempt 1 of 2");
    expect(others).toContain("schedule");
    // Its check run no longer says success; the status comment says what Drover is doing about it.
    expect(checkRun(repo, conflicting.checkRun)).toMatchObject({
      conclusion: "action_required",
      output: { title: "Conflicts with main" },
    });
    expect(checkRun(repo, conflicting.checkRun).output.summary).toContain(
      "no longer merges cleanly into `main`",
    );
    expect(status(repo, conflicting.issue)).toContain(
      "### Drover: 🔀 Conflicts with `main`: waiting for a worker to resolve them",
    );

    // The pull request that merges cleanly is unchanged; both were read in one query.
    expect(await taskNow(clean)).toMatchObject({ state: "review", nextStart: null });
    expect(checkRun(repo, clean.checkRun).conclusion).toBe("success");
    expect(requests.filter((r) => r.startsWith("GET ") || r === "POST /graphql")).toEqual(["POST /graphql"]);
    const writes = requests.filter((r) => !r.startsWith("GET ") && r !== "POST /graphql");
    expect(writes.filter((r) => r.includes("check-runs"))).toEqual([
      "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
    ]);
    // The rest is the conflicting task's status comment (its first), on its issue alone.
    expect(writes.filter((r) => !r.includes("check-runs"))).toEqual([
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    ]);
    expect(status(repo, clean.issue)).toBe("");
  }, 60_000);

  it("follows a pull request whose base moved while its agent ran, once it is published", async () => {
    const repo = await newRepo("follow-late");
    const late = await taskInReview(repo, { title: "Greet in Spanish", files: { "greeting.txt": "hola\n" } });
    // main moves while the task still runs: the push passes it by, and marks it.
    const startedAt = new Date(Date.now() - 1_000);
    await db().update(tasks).set({ state: "running" }).where(eq(tasks.id, late.task.id));
    expect(await baseMovedSince(db(), late.task.id, startedAt)).toBe(false);
    await pushToMain(repo, { "greeting.txt": "hallo\n" });
    const { requests } = await deliverAndRun();
    expect(requests).toEqual([]);
    expect(await taskNow(late)).toMatchObject({ state: "running", nextStart: null });
    expect(await baseMovedSince(db(), late.task.id, startedAt)).toBe(true);

    // Published (publish queues followPull for a task so marked): one read, then decided as the push would.
    await db().update(tasks).set({ state: "review" }).where(eq(tasks.id, late.task.id));
    const from = hub.sandbox.requests.length;
    await followPull(deps(), { taskId: late.task.id });
    const reads = hub.sandbox.requests
      .slice(from)
      .filter((r) => r.method === "GET" || r.route === "/graphql")
      .map((r) => `${r.method} ${r.route}`);
    expect(reads).toEqual(["GET /repos/{owner}/{repo}/pulls/{pull_number}"]);
    expect(await taskNow(late)).toMatchObject({
      state: "ready",
      nextStart: { from: "branch", cause: "conflict", prNumber: late.pr, merge: { branch: "main" } },
    });
    expect(checkRun(repo, late.checkRun).conclusion).toBe("action_required");
  }, 60_000);

  it("leaves a conflicting pull request to a person once the agent has had its tries, and takes it back when a person fixes it", async () => {
    const repo = await newRepo("follow-used-up");
    const task = await taskInReview(repo, {
      title: "Greet in Spanish",
      files: { "greeting.txt": "hola\n" },
      config: "max_conflict_attempts: 1",
      // Its one try at resolving conflicts was the attempt that made the pull request what it is.
      start: { from: "branch", cause: "conflict", by: "maintainer", merge: { branch: "main" } },
    });

    await pushToMain(repo, { "greeting.txt": "hallo\n" });
    await deliverAndRun();
    const waiting = await taskNow(task);
    expect(waiting).toMatchObject({ state: "conflict", nextStart: null });
    expect(waiting.stateReason).toContain("the agent has had its 1 tries (`max_conflict_attempts`)");
    expect(labels(repo, task.issue)).toContain("drover:conflict");
    expect(checkRun(repo, task.checkRun)).toMatchObject({ conclusion: "action_required" });
    expect(checkRun(repo, task.checkRun).output.summary).toContain("`/drover retry`");
    const shown = status(repo, task.issue);
    expect(shown).toContain("### Drover: ⚠️ Conflicts with the base branch: waiting for a person");
    expect(shown).toContain("comment `/drover retry`");
    expect(shown).toContain(`merge the base branch into \`${task.branch}\` yourself and push`);

    // A person merges main into the branch, resolving the conflict, and pushes.
    await repo.clone.git("fetch", "--quiet", "origin");
    await repo.clone.git("checkout", "--quiet", "-B", task.branch, `origin/${task.branch}`);
    await repo.clone.git("merge", "--quiet", "origin/main", "-X", "ours", "-m", "Merge main");
    const from = await hub.mark();
    await repo.clone.git("push", "--quiet", "origin", `HEAD:refs/heads/${task.branch}`);
    await repo.clone.git("checkout", "--quiet", "main");
    await hub.delivery((d) => d.event === "pull_request" && d.action === "synchronize", from);
    await deliverAndRun();

    const back = await taskNow(task);
    expect(back).toMatchObject({ state: "review" });
    expect(back.stateReason).toBe(`#${task.pr} merges cleanly into \`main\` again`);
    expect(labels(repo, task.issue)).toContain("drover:review");
    expect(labels(repo, task.issue)).not.toContain("drover:conflict");
  }, 60_000);

  it("costs one query and writes nothing for a pull request that merges cleanly (update_branch: conflicts)", async () => {
    const repo = await newRepo("follow-clean");
    const task = await taskInReview(repo, { title: "Add a farewell", files: { "farewell.txt": "bye\n" } });
    const before = status(repo, task.issue);

    await pushToMain(repo, { "greeting.txt": "hallo\n" });
    const { requests, others } = await deliverAndRun();
    expect(requests).toEqual(["POST /graphql"]);
    // Besides, only the mirror's fetch in the background (warm-pool), which asks GitHub's API nothing.
    expect(others).toEqual(["warm-pool"]);
    expect(await taskNow(task)).toMatchObject({ state: "review", nextStart: null });
    expect(status(repo, task.issue)).toBe(before);
  }, 60_000);

  it("reads all of a base's pull requests in one query, however many there are", async () => {
    const repo = await newRepo("follow-many");
    const tasks: InReview[] = [];
    for (const n of [1, 2, 3, 4, 5])
      tasks.push(
        await taskInReview(repo, { title: `Add note ${n}`, files: { [`note-${n}.txt`]: `${n}\n` } }),
      );
    // A person's pull request on main too: listed by GitHub, not Drover's to follow.
    await repo.clone.git("checkout", "--quiet", "-B", "by-hand", "origin/main");
    await repo.clone.commit({ "by-hand.txt": "mine\n" }, "By hand");
    await repo.clone.git("push", "--quiet", "origin", "HEAD:refs/heads/by-hand");
    await repo.clone.git("checkout", "--quiet", "main");
    const { data: theirs } = await hub.as("maintainer").rest.pulls.create({
      owner: repo.owner,
      repo: repo.repo,
      head: "by-hand",
      base: "main",
      title: "By hand",
    });
    await deliverAndRun();

    await pushToMain(repo, { "greeting.txt": "hallo\n" });
    const { requests, others } = await deliverAndRun();
    // One query (and at most one more, were GitHub still working some out), where reading each pull
    // request by number cost five.
    expect(requests.length).toBeLessThanOrEqual(2);
    expect(new Set(requests)).toEqual(new Set(["POST /graphql"]));
    expect(others).toEqual(["warm-pool"]);
    for (const task of tasks) expect(await taskNow(task)).toMatchObject({ state: "review", nextStart: null });
    expect(world(repo).issues.get(theirs.number)!.comments).toEqual([]);
  }, 90_000);

  it("brings a pull request stacked on a blocker's branch up to date when the blocker changes", async () => {
    const repo = await newRepo("follow-stacked");
    const blocker = await taskInReview(repo, { title: "Add a greeting", files: { "a.txt": "a\n" } });
    const onto = { branch: blocker.branch, taskId: blocker.task.id, issueNumber: blocker.issue };
    const stacked = await taskInReview(repo, {
      title: "Build on the greeting",
      files: { "b.txt": "b\n" },
      on: blocker.branch,
      start: { from: "base", cause: "label", by: "maintainer", onto },
    });

    // The blocker is reworked: a new commit on its branch.
    const from = await hub.mark();
    await repo.clone.git("checkout", "--quiet", "-B", "rework", `origin/${blocker.branch}`);
    const sha = await repo.clone.commit({ "a.txt": "a, reworked\n" }, "Rework");
    await repo.clone.git("push", "--quiet", "origin", `HEAD:refs/heads/${blocker.branch}`);
    await repo.clone.git("checkout", "--quiet", "main");
    await hub.delivery((d) => d.event === "push" && d.payload.after === sha, from);
    await deliverAndRun();

    expect(await taskNow(stacked)).toMatchObject({
      state: "ready",
      nextStart: { from: "branch", cause: "update", merge: { branch: blocker.branch, sha } },
    });
    expect(await taskNow(blocker)).toMatchObject({ state: "review", nextStart: null });
  });

  it("costs nothing for a push to a branch none of its pull requests targets", async () => {
    const repo = await newRepo("follow-elsewhere");
    await taskInReview(repo, { title: "Add a farewell", files: { "farewell.txt": "bye\n" } });
    const from = await hub.mark();
    await repo.clone.git("push", "--quiet", "origin", "HEAD:refs/heads/experiment");
    await hub.delivery((d) => d.event === "push" && d.payload.ref === "refs/heads/experiment", from);
    const { requests } = await deliverAndRun();
    expect(requests).toEqual([]);
  }, 60_000);

  it("brings a pull request that merges cleanly up to date with update_branch: always", async () => {
    const repo = await newRepo("follow-always");
    const task = await taskInReview(repo, {
      title: "Add a farewell",
      files: { "farewell.txt": "bye\n" },
      config: "update_branch: always",
    });

    const sha = await pushToMain(repo, { "greeting.txt": "hallo\n" });
    const { others } = await deliverAndRun();
    const queuedTask = await taskNow(task);
    expect(queuedTask).toMatchObject({ state: "ready" });
    expect(queuedTask.nextStart).toEqual({
      from: "branch",
      cause: "update",
      by: "maintainer",
      prNumber: task.pr,
      merge: { branch: "main", sha },
    });
    expect(others).toContain("schedule");
    // It does not conflict: its check run stands until the update's own.
    expect(checkRun(repo, task.checkRun).conclusion).toBe("success");
    expect(status(repo, task.issue)).toContain(
      "### Drover: 🔄 Behind `main`: waiting for a worker to merge it in",
    );
  }, 60_000);

  it("gives a task waiting in conflict to the agent again on /drover retry, past max_conflict_attempts", async () => {
    const repo = await newRepo("follow-retry");
    const task = await taskInReview(repo, {
      title: "Greet in German",
      files: { "greeting.txt": "guten Tag\n" },
      config: "max_conflict_attempts: 0",
    });
    await pushToMain(repo, { "greeting.txt": "hallo\n" });
    await deliverAndRun();
    expect(await taskNow(task)).toMatchObject({ state: "conflict" });

    await hub.as("maintainer").rest.issues.createComment({
      owner: repo.owner,
      repo: repo.repo,
      issue_number: task.issue,
      body: "/drover retry",
    });
    await hub.delivery((d) => d.event === "issue_comment" && d.payload.sender !== undefined, delivered);
    await deliverAndRun();
    const retried = await taskNow(task);
    expect(retried).toMatchObject({ state: "ready", modifiedBy: "maintainer" });
    expect(retried.nextStart).toEqual({
      from: "branch",
      cause: "conflict",
      by: "maintainer",
      prNumber: task.pr,
      merge: { branch: "main" },
    });
    expect(retried.stateReason).toContain("the agent resolves the conflicts with `main`");
    expect(status(repo, task.issue)).toContain(
      "### Drover: 🔀 Conflicts with `main`: waiting for a worker to resolve them",
    );
    expect(labels(repo, task.issue)).not.toContain("drover:conflict");
  }, 60_000);
});
