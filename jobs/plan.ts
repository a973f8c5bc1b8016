import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { getAdapter } from "../src/agent/adapters/index.ts";
import { agentEnvironment } from "../src/agent/env.ts";
import { AgentCredentialsError, prepareAgentHome } from "../src/agent/home.ts";
import { chownTree } from "../src/agent/os-user.ts";
import { buildPlanPrompt, specFileLinks } from "../src/agent/plan-prompt.ts";
import { relativizePaths, scrubSecrets, secretValues, serverPaths } from "../src/agent/scrub.ts";
import { loadRepoConfig } from "../src/config/load.ts";
import { CONFIG_PATH, type DroverConfig } from "../src/config/schema.ts";
import { getDelivery } from "../src/db/deliveries.ts";
import { planRunOf, shownProposal, recordPlanComment, recordPlanRun, type PlanRun } from "../src/db/plans.ts";
import { getRepository, type Repository } from "../src/db/repositories.ts";
import { closeReadOnlyCheckout, openReadOnlyCheckout, sweepCheckouts } from "../src/git/read-only.ts";
import { reply, writeMarkedComment } from "../src/github/comments.ts";
import { renderConfigProblems } from "../src/github/render.ts";
import { renderPlanError, renderPlanFailure, renderProposal } from "../src/github/render-plan.ts";
import { repoRef, type Octokit, type RepoRef } from "../src/github/types.ts";
import type { BacklogItem } from "../src/graph/backlog.ts";
import type { JobPayload } from "../src/queue/job-catalog.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import { commentSourceOf, type CommentSource } from "./command/source.ts";
import type { JobContext, JobDeps } from "./deps.ts";
import { homePaths } from "./run-task/paths.ts";
import { runPlanner, readSpecFiles, type PlanOutcome } from "./plan/planner.ts";
import { readSpecIssue } from "./plan/spec-issue.ts";
import { agentUser, expandHome } from "./run-task/agent.ts";
import { baseBranchOf, freshMirror } from "./run-task/worktree.ts";

/** Past the task_timeout, how long before a planning checkout left behind is taken for a crash's. */
const STALE_MARGIN_MS = 60 * 60_000;

/** Marks the one proposal comment per spec issue, edited by each new proposal. */
export const PLAN_MARKER = "<!-- drover:plan -->";

/** The run's key: the `/drover plan` command's delivery and its place in the comment. */
function planRunKey(deliveryId: string, index: number): string {
  return `${deliveryId}#${index}`;
}

/**
 * `/drover plan` on a spec issue, on the agents lane (it runs an agent for minutes): the issue's body and
 * the repository files it links, the configured agent in a read-only checkout of the base branch, its
 * proposal checked and recorded, then shown in the issue's one proposal comment (a new proposal edits
 * it). A run that gives no plan says why in a reply, and the earlier proposal stands. Once per command:
 * a job run again posts what the first run recorded.
 */
export async function planJob(
  deps: JobDeps,
  payload: JobPayload<"plan">,
  context: Pick<JobContext, "signal" | "fate">,
): Promise<void> {
  const delivery = await getDelivery(deps.db, payload.deliveryId);
  if (!delivery) throw new PermanentJobError(`delivery ${payload.deliveryId} is not recorded`);
  const source = commentSourceOf(delivery.event, delivery.payload);
  const repository = await getRepository(deps.db, source.repository.id);
  if (!repository) throw new PermanentJobError(`repository ${source.repository.full_name} is not recorded`);
  const runKey = planRunKey(payload.deliveryId, payload.index);
  const octokit = await deps.github.installation(source.installationId);
  const repo = repoRef(repository.fullName);
  const log = deps.log.child({ repo: repository.fullName, on: source.number, runKey });

  let run = await planRunOf(deps.db, runKey);
  if (run?.commentId) return;
  if (!run) {
    const config = await loadRepoConfig(octokit, repo);
    let outcome: Outcome;
    try {
      outcome = config.ok
        ? await plan(
            deps,
            { repository, octokit, repo, source, config: config.config, askedAt: delivery.receivedAt },
            context.signal,
          )
        : { ok: false, body: renderConfigProblems(config.problems, CONFIG_PATH) };
    } catch (error) {
      // Tried for the last time (or never to work): the person who asked hears why, not silence.
      if (context.fate(error).kind !== "final") throw error;
      log.error({ err: error }, "planning failed for good");
      const message = relativizePaths(
        scrubSecrets((error as Error).message, secretValues(process.env)),
        await homePaths(deps.env.DROVER_HOME),
      );
      outcome = { ok: false, body: renderPlanError(message) };
    }
    log.info({ proposed: outcome.ok }, "planning finished");
    run = await recordPlanRun(deps.db, {
      runKey,
      repoId: repository.id,
      issueNumber: source.number,
      requestedBy: source.author.login,
      body: outcome.body,
      outcome: outcome.ok ? { items: outcome.items } : { problem: outcome.body },
    });
  }
  await show(deps, octokit, repo, run);
}

type Outcome = { ok: true; items: BacklogItem[]; body: string } | { ok: false; body: string };

/** The comment: a proposal in the issue's proposal comment (made, or edited), a failure as a reply. */
async function show(deps: JobDeps, octokit: Octokit, repo: RepoRef, run: PlanRun): Promise<void> {
  if (run.version === null) {
    const id = await reply(octokit, repo, run.issueNumber, run.body);
    await recordPlanComment(deps.db, run.id, id, null);
    return;
  }
  // The comment the issue's earlier proposal is shown in: this one replaces it there.
  const earlier = await shownProposal(deps.db, run.repoId, run.issueNumber, run.version);
  const written = await writeMarkedComment(
    octokit,
    repo,
    run.issueNumber,
    run.body,
    { id: earlier?.commentId ?? null, hash: earlier?.commentHash ?? null },
    { marker: PLAN_MARKER },
  );
  await recordPlanComment(deps.db, run.id, written.id, written.hash);
}

/**
 * The planning agent's environment (allowlisted, a HOME of its own in `workDir` with the credential
 * files DROVER_AGENT_CREDENTIALS names) and the OS user it runs as, as an attempt's agent has them.
 */
async function planningSurroundings(deps: JobDeps, home: string, workDir: string, agent = "command") {
  const env = {
    ...agentEnvironment(process.env, deps.env.DROVER_AGENT_ENV),
    HOME: path.join(workDir, "home"),
  };
  const runAs = await agentUser(deps);
  const workerHome = os.homedir();
  const agentHome = await prepareAgentHome({
    home: env.HOME,
    cacheDirs: getAdapter(agent)?.cacheDirs ?? [],
    cacheRoot: path.join(home, "agent-cache", agent),
    credentials: (deps.env.DROVER_AGENT_CREDENTIALS ?? []).map((file) => expandHome(file, workerHome)),
    workerHome,
    runAs,
  }).catch((error: unknown) => {
    if (error instanceof AgentCredentialsError) throw new PermanentJobError(error.message);
    throw error;
  });
  if (runAs) await chownTree(workDir, runAs.uid, runAs.gid);
  return { env, runAs, agentHome };
}

type PlanContext = {
  /** When `/drover plan` was received: the base branch is planned from as it was then, or later. */
  askedAt: Date;
  repository: Repository;
  octokit: Octokit;
  repo: RepoRef;
  source: CommentSource;
  config: DroverConfig;
};

/** Read the spec, run the planner in a read-only checkout, and render what came of it. */
async function plan(deps: JobDeps, ctx: PlanContext, signal: AbortSignal | undefined): Promise<Outcome> {
  const { repository, octokit, repo, source, config } = ctx;
  const issue = await readSpecIssue(octokit, repo, source.number);
  const home = path.resolve(deps.env.DROVER_HOME);
  const token = await deps.github.token(repository.installationId);
  const base = baseBranchOf(repository, config);
  const mirror = await freshMirror(home, repository, token, signal, { base, since: ctx.askedAt });
  const name = `${repository.id}-${source.number}-${randomBytes(4).toString("hex")}`;
  const checkoutPath = path.join(home, "plans", name);
  const workDir = path.join(home, "runs", `plan-${name}`);
  await mkdir(path.dirname(checkoutPath), { recursive: true });
  // A crashed worker's checkout: its agent was stopped long before (task_timeout), so it is nobody's now.
  await sweepCheckouts(path.dirname(checkoutPath), config.task_timeout + STALE_MARGIN_MS);
  const checkout = await openReadOnlyCheckout({
    mirror,
    base,
    path: checkoutPath,
    ...(signal ? { signal } : {}),
  });
  try {
    const body = issue.body;
    const files = await readSpecFiles(checkout.path, specFileLinks(body, repository.fullName), {
      perFile: config.max_description_size,
      total: config.max_description_size,
    });
    const prompt = buildPlanPrompt({ repository: repository.fullName, title: issue.title, body, files });
    const { env, runAs, agentHome } = await planningSurroundings(deps, home, workDir, config.agent[0]);
    let outcome: PlanOutcome;
    try {
      outcome = await runPlanner({
        config,
        prompt,
        checkout,
        workDir,
        env,
        runAs,
        signal,
        secrets: [token, ...secretValues(process.env), ...secretValues(env), ...agentHome.secrets],
        paths: serverPaths({
          worktree: checkout.path,
          runDir: workDir,
          droverHome: home,
          workerHome: os.homedir(),
        }),
      });
    } finally {
      await agentHome.cleanup();
    }
    if (!outcome.ok) return { ok: false, body: renderPlanFailure(outcome) };
    return {
      ok: true,
      items: outcome.items,
      body: renderProposal({
        items: outcome.items,
        by: source.author.login,
        label: config.label,
        discarded: outcome.discarded,
      }),
    };
  } finally {
    await closeReadOnlyCheckout(mirror, checkout.path);
    await rm(workDir, { recursive: true, force: true });
  }
}
