import path from "node:path";
import { taskConfig, UnreadableConfigError } from "../src/config/stored.ts";
import type { DroverConfig } from "../src/config/schema.ts";
import type { Delivery } from "../src/db/deliveries.ts";
import {
  getRepository,
  newestTaskConfig,
  recordBasePush,
  upsertRepository,
  type Repository,
} from "../src/db/repositories.ts";
import type { Db } from "../src/db/client.ts";
import { mirrorPath } from "../src/git/mirror.ts";
import { repoRef } from "../src/github/types.ts";
import { PushEvent, Repository as GitHubRepository } from "../src/intake/payloads.ts";
import type { JobPayload } from "../src/queue/job-catalog.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobDeps } from "./deps.ts";
import { planWarm } from "./warm-pool/plan.ts";
import { fetchMirror, mirrorTip, POOL, withWarmLock, type PoolSteps } from "./warm-pool/steps.ts";

/**
 * Mirrors kept warm (issue 17): a repository's mirror and its pool of ready worktrees are made and kept
 * current here, in the background on a lane of their own, never inside an attempt. Queued when the app is
 * installed on a repository, when a push moves its base branch, when its first task is labelled, and
 * after an attempt claims a ready worktree; a repository already current costs a `git rev-parse` and a
 * look at its pool.
 *
 * The job warms the machine that runs it: DROVER_HOME is per machine, so with several worker machines each
 * warms as the jobs it takes say, and an attempt elsewhere fetches for itself.
 */
export async function warmPool(
  deps: JobDeps,
  payload: JobPayload<"warm-pool">,
  signal?: AbortSignal,
  pool: PoolSteps = POOL,
): Promise<void> {
  const log = deps.log.child({ repoId: payload.repoId, cause: payload.cause });
  const found = (await getRepository(deps.db, payload.repoId)) ?? (await recordInstalled(deps, payload));
  if (!found) {
    log.info("repository not recorded, and the job does not name it: nothing to warm");
    return;
  }
  if (found.removedAt !== null) {
    log.info("the app was taken off the repository: nothing to warm");
    return;
  }
  const home = path.resolve(deps.env.DROVER_HOME);
  await withWarmLock(home, found.fullName, signal, async () => {
    // Read again under the lock: a push recorded while this job waited for another is fetched now.
    const repository = (await getRepository(deps.db, found.id)) ?? found;
    const { base, config } = await warmTarget(deps.db, repository);
    const plan = planWarm({
      removed: repository.removedAt !== null,
      mirrorTip: await mirrorTip(home, repository.fullName, base),
      // base_sha is the default branch's (see warmAfterPush): it says nothing of another base branch.
      pushedTip: base === repository.defaultBranch ? repository.baseSha : null,
      pushed: payload.cause.startsWith("push-"),
      config,
    });
    if (plan.kind === "nothing") {
      log.info({ why: plan.why }, "nothing to warm");
      return;
    }
    if (plan.fetch !== null) {
      log.info({ why: plan.fetch }, "fetching the mirror");
      await fetchMirror({
        home,
        repoFullName: repository.fullName,
        cloneUrl: repository.cloneUrl,
        base,
        token: await deps.github.token(repository.installationId),
        signal,
      });
    }
    const sha = await mirrorTip(home, repository.fullName, base);
    if (sha === null) {
      // An empty repository, or drover.yml naming a base branch GitHub does not have: no worktree to make.
      log.info({ base }, "the base branch is not on GitHub: the mirror alone is kept");
      return;
    }
    if (plan.pool !== true || config === undefined) {
      const why = plan.pool === true ? "no task has recorded drover.yml yet" : plan.pool.skipped;
      log.info({ why, sha }, "mirror warm; no pool");
      return;
    }
    const target = {
      home,
      repoFullName: repository.fullName,
      mirror: mirrorPath(home, repository.fullName),
      base,
      sha,
      repository,
      config,
      deps,
      log,
      signal,
    };
    await pool.advance(target);
    await pool.fill(target);
    log.info({ sha, min: config.pool.min }, "mirror and pool warm");
  });
}

/**
 * The base branch the pool sits at and the drover.yml it is made by: the one the repository's newest task
 * recorded (src/config/stored.ts), not the file read again. This job runs after every push to the base
 * and every claim, and reading the file would cost a request each time for a file that rarely changes (a
 * conditional read is free only where this process read it before with the same token: the cache is per
 * process, tokens last an hour), when start-task has just read and recorded it for the very task that made
 * a pool worth having. An out-of-date record errs on the safe side: a claimed worktree is checked against
 * the task's own `setup`, which runs again if it differs. No task (only installed), or a record that
 * cannot be read: the default branch, and no config (the mirror alone).
 */
export async function warmTarget(
  db: Db,
  repository: Pick<Repository, "id" | "defaultBranch">,
): Promise<{ base: string; config: DroverConfig | undefined }> {
  const newest = await newestTaskConfig(db, repository.id);
  let config: DroverConfig | undefined;
  try {
    config = newest ? taskConfig(newest) : undefined;
  } catch (error) {
    if (!(error instanceof UnreadableConfigError)) throw error;
  }
  return { base: config?.base_branch ?? repository.defaultBranch, config };
}

/**
 * A repository the app was just installed on has no row yet: read once from GitHub (its clone URL and
 * default branch are not in installation webhooks) and recorded. Only here, in the background, and only
 * when the row is missing: one request per repository installed.
 */
async function recordInstalled(
  deps: JobDeps,
  payload: JobPayload<"warm-pool">,
): Promise<Repository | undefined> {
  if (payload.installationId === undefined || payload.repoFullName === undefined) return undefined;
  const octokit = await deps.github.installation(payload.installationId);
  const { data } = await octokit.rest.repos.get(repoRef(payload.repoFullName));
  const parsed = GitHubRepository.safeParse(data);
  if (!parsed.success)
    throw new PermanentJobError(
      `GitHub's answer for ${payload.repoFullName} is not a repository Drover can use: ${parsed.error.issues[0]?.message ?? "invalid"}`,
    );
  if (parsed.data.id !== payload.repoId)
    throw new PermanentJobError(
      `${payload.repoFullName} is now repository ${parsed.data.id}, not ${payload.repoId}: the one installed is gone`,
    );
  return upsertRepository(deps.db, {
    id: parsed.data.id,
    installationId: payload.installationId,
    fullName: parsed.data.full_name,
    cloneUrl: parsed.data.clone_url,
    defaultBranch: parsed.data.default_branch,
  });
}

/**
 * A push webhook (read by follow-base). A push to the default branch is recorded (repositories.base_sha,
 * the default branch's head as run-task's claim compares it with the mirror), if it is newer than what is
 * recorded (see recordBasePush). A push to the pool's base branch has the mirror fetched and the pool
 * advanced in the background, unless it is older than the recorded one. Another branch asks for nothing.
 * Here, not in intake: follow-base reads the delivery anyway, the web process stays free of work it does not
 * need, and a delivery Redis missed is recorded when the watchdog queues it again.
 */
export async function warmAfterPush(
  deps: JobDeps,
  delivery: Delivery,
  repository: Repository,
): Promise<void> {
  if (repository.removedAt !== null) return;
  const push = PushEvent.parse(delivery.payload);
  const branch = push.ref.slice("refs/heads/".length);
  const newer =
    branch === repository.defaultBranch
      ? await recordBasePush(deps.db, repository.id, {
          sha: push.after,
          before: push.before ?? null,
          pushedAt: push.repository.pushed_at ?? delivery.receivedAt,
        })
      : true;
  const { base } = await warmTarget(deps.db, repository);
  if (branch === base && newer)
    await deps.enqueue("warm-pool", { repoId: repository.id, cause: `push-${delivery.id}` });
}
