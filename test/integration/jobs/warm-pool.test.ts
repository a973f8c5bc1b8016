import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { warmPool } from "../../../jobs/warm-pool.ts";
import { refillAfterClaim } from "../../../jobs/warm-pool/triggers.ts";
import type { PoolSteps, PoolTarget } from "../../../jobs/warm-pool/steps.ts";
import { DroverConfig } from "../../../src/config/schema.ts";
import { getRepository, recordBasePush, upsertRepository } from "../../../src/db/repositories.ts";
import { triggerTask } from "../../../src/db/tasks.ts";
import { mirrorPath } from "../../../src/git/mirror.ts";
import { useDrover } from "../../helpers/drover.ts";
import { git } from "../../helpers/git-sandbox.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { repositoryReply } from "../../helpers/github-replies.ts";
import {
  installationCreated,
  installationRepositories,
  OCTO_REPO,
  pushed,
  type TestRepo,
} from "../../helpers/payloads.ts";
import { taskTrigger } from "../../helpers/tasks.ts";

const TOKEN = "ghs_warm_pool_token";

/**
 * Mirrors kept warm: the warm-pool job through the real queue (its own lane), against a real git origin on
 * disk. Each test uses a repository of its own (the same origin under another name), since the file
 * shares one DROVER_HOME and one database.
 */
describe("warm-pool", () => {
  const { db, harness, sandbox, github } = useDrover({ warmPool: true });

  function repoNamed(name: string, id: number): TestRepo {
    return { ...OCTO_REPO, id, fullName: `octo-org/${name}`, cloneUrl: sandbox().origin };
  }
  const mirrorOf = (repo: TestRepo) => mirrorPath(sandbox().home, repo.fullName);
  const mirrorTip = (repo: TestRepo) => git(mirrorOf(repo), "rev-parse", "refs/heads/main");
  const originTip = () => git(sandbox().origin, "rev-parse", "main");

  async function recorded(repo: TestRepo) {
    return upsertRepository(db(), {
      id: repo.id,
      installationId: repo.installationId,
      fullName: repo.fullName,
      cloneUrl: repo.cloneUrl,
      defaultBranch: repo.defaultBranch,
    });
  }

  /** The pool as the job reaches it, recording what it was asked (src/git/pool.ts is another's work). */
  function recordingPool(): PoolSteps & { calls: { step: string; target: PoolTarget }[] } {
    const calls: { step: string; target: PoolTarget }[] = [];
    return {
      calls,
      advance: async (target) => void calls.push({ step: "advance", target }),
      fill: async (target) => void calls.push({ step: "fill", target }),
    };
  }

  it("makes the mirror of a repository the app is installed on, reading the repository from GitHub once", async () => {
    const repo = repoNamed("installed", 5101);
    mockInstallationToken(github.api().persist(), repo.installationId, TOKEN);
    // Strict: a second read (the row already there) would find no mock and fail the test.
    github
      .api()
      .get(`/repos/${repo.fullName}`)
      .reply(200, repositoryReply({ fullName: repo.fullName, id: repo.id, cloneUrl: repo.cloneUrl }));

    await harness().receive(
      "installation_repositories",
      installationRepositories({ action: "added", added: [repo] }),
    );
    await harness().drain();

    expect(await getRepository(db(), repo.id)).toMatchObject({
      fullName: repo.fullName,
      cloneUrl: sandbox().origin,
      defaultBranch: "main",
      removedAt: null,
    });
    expect(await mirrorTip(repo)).toBe(await originTip());

    // Installed again (another delivery): the row and the mirror are there, so nothing is read or fetched.
    const before = await mirrorTip(repo);
    await sandbox().commitToOrigin("AFTER-INSTALL.md", "not announced by any push\n");
    await harness().receive("installation", installationCreated({ repos: [repo] }));
    await harness().drain();
    expect(await mirrorTip(repo)).toBe(before);
  });

  it("fetches the mirror after a push to the base branch, recording the newer of two pushes that arrive out of order", async () => {
    const repo = repoNamed("pushed", 5102);
    await recorded(repo);
    mockInstallationToken(github.api().persist(), repo.installationId, TOKEN);
    await harness().enqueue("warm-pool", { repoId: repo.id, cause: `start-${repo.id}` });
    await harness().drain();
    const first = await mirrorTip(repo);

    const newer = await sandbox().commitToOrigin("PUSHED.md", "pushed\n");
    const at = new Date("2026-12-01T10:00:10Z");
    // The newer push is delivered first; the older one (its commit long replaced) arrives after it.
    await harness().receive(
      "push",
      pushed({ repo, ref: "refs/heads/main", before: first, after: newer, pushedAt: at }),
    );
    await harness().receive(
      "push",
      pushed({
        repo,
        ref: "refs/heads/main",
        after: "d".repeat(40),
        pushedAt: new Date(at.getTime() - 5_000),
      }),
    );
    await harness().drain();

    expect(await getRepository(db(), repo.id)).toMatchObject({ baseSha: newer, basePushedAt: at });
    expect(await mirrorTip(repo)).toBe(newer);
  });

  it("keeps the pool's base warm when drover.yml names a base branch other than the default", async () => {
    const repo = repoNamed("develop-based", 5111);
    await recorded(repo);
    mockInstallationToken(github.api().persist(), repo.installationId, TOKEN);
    await git(sandbox().origin, "update-ref", "refs/heads/develop", await originTip());
    await triggerTask(
      db(),
      taskTrigger(1, { repoId: repo.id, config: DroverConfig.parse({ base_branch: "develop" }) }),
    );
    await harness().enqueue("warm-pool", { repoId: repo.id, cause: `start-${repo.id}` });
    await harness().drain();
    const developTip = () => git(mirrorOf(repo), "rev-parse", "refs/heads/develop");
    expect(await developTip()).toBe(await originTip());

    const moved = await sandbox().commitToOrigin("DEVELOP.md", "on develop\n");
    await git(sandbox().origin, "update-ref", "refs/heads/develop", moved);
    await harness().receive("push", pushed({ repo, ref: "refs/heads/develop", after: moved }));
    await harness().drain();

    expect(await developTip()).toBe(moved);
    // base_sha is the default branch's head: a push to develop is not recorded there.
    expect(await getRepository(db(), repo.id)).toMatchObject({ baseSha: null });
  });

  it("records nothing and fetches nothing for a push to another branch", async () => {
    const repo = repoNamed("other-branch", 5103);
    await recorded(repo);
    await harness().receive("push", pushed({ repo, ref: "refs/heads/feature", after: "e".repeat(40) }));
    await harness().drain();

    expect(await getRepository(db(), repo.id)).toMatchObject({ baseSha: null, basePushedAt: null });
    expect(existsSync(mirrorOf(repo))).toBe(false);
  });

  it("orders two pushes of the same second by their chain: the one that follows the recorded commit wins", async () => {
    const repo = repoNamed("same-second", 5104);
    await recorded(repo);
    const at = new Date("2026-12-01T10:00:00Z");
    const [a, b, c] = ["a", "b", "c"].map((x) => x.repeat(40)) as [string, string, string];

    expect(await recordBasePush(db(), repo.id, { sha: b, before: a, pushedAt: at })).toBe(true);
    // The push before it, arriving late in the same second: its `after` is b's `before`, not b.
    expect(await recordBasePush(db(), repo.id, { sha: a, before: "0".repeat(40), pushedAt: at })).toBe(false);
    // The same push delivered again is still the one recorded.
    expect(await recordBasePush(db(), repo.id, { sha: b, before: a, pushedAt: at })).toBe(true);
    // The push after it in the same second follows b.
    expect(await recordBasePush(db(), repo.id, { sha: c, before: b, pushedAt: at })).toBe(true);
    expect(await getRepository(db(), repo.id)).toMatchObject({ baseSha: c, basePushedAt: at });
  });

  it("marks repositories the app is taken off, and warms nothing for them", async () => {
    const kept = repoNamed("kept", 5105);
    const dropped = repoNamed("dropped", 5106);
    await recorded(kept);
    await recorded(dropped);

    await harness().receive(
      "installation_repositories",
      installationRepositories({ action: "removed", removed: [dropped] }),
    );
    await harness().enqueue("warm-pool", { repoId: dropped.id, cause: `start-${dropped.id}` });
    await harness().drain();

    expect((await getRepository(db(), dropped.id))?.removedAt).toBeInstanceOf(Date);
    expect((await getRepository(db(), kept.id))?.removedAt).toBeNull();
    expect(existsSync(mirrorOf(dropped))).toBe(false);
  });

  it("marks every repository of an installation that is deleted", async () => {
    const mine = { ...repoNamed("uninstalled", 5107), installationId: 91 };
    const theirs = repoNamed("elsewhere", 5108);
    await recorded(mine);
    await recorded(theirs);

    const deleted = { ...installationCreated({ repos: [mine] }), action: "deleted" };
    await harness().receive("installation", deleted);
    await harness().drain();

    expect((await getRepository(db(), mine.id))?.removedAt).toBeInstanceOf(Date);
    expect((await getRepository(db(), theirs.id))?.removedAt).toBeNull();

    // Installed again: no longer removed, and its mirror made.
    mockInstallationToken(github.api().persist(), mine.installationId, TOKEN);
    await harness().receive("installation", installationCreated({ repos: [mine] }));
    await harness().drain();
    expect((await getRepository(db(), mine.id))?.removedAt).toBeNull();
    expect(await mirrorTip(mine)).toBe(await originTip());
  });

  it("advances and fills the pool by the newest task's drover.yml, and fetches only when behind", async () => {
    const repo = repoNamed("pooled", 5109);
    await recorded(repo);
    mockInstallationToken(github.api().persist(), repo.installationId, TOKEN);
    const config = DroverConfig.parse({ setup: "npm ci", pool: { min: 2, max: 4 } });
    await triggerTask(db(), { ...taskTrigger(1, { repoId: repo.id, config }) });
    const pool = recordingPool();
    const run = (cause: string) => warmPool(harness().deps, { repoId: repo.id, cause }, undefined, pool);

    await run(`start-${repo.id}`);
    const tip = await mirrorTip(repo);
    expect(tip).toBe(await originTip());
    expect(pool.calls.map((call) => call.step)).toEqual(["advance", "fill"]);
    expect(pool.calls[0]?.target).toMatchObject({
      repoFullName: repo.fullName,
      mirror: mirrorOf(repo),
      base: "main",
      sha: tip,
      repository: { id: repo.id },
      config: { setup: { command: "npm ci" }, pool: { min: 2, max: 4 } },
    });

    // A commit no push has announced yet: the mirror is current as far as Drover knows, so not fetched.
    const unannounced = await sandbox().commitToOrigin("QUIET.md", "quiet\n");
    await run("claim-1");
    expect(await mirrorTip(repo)).toBe(tip);
    // Announced: fetched, and the pool moved to it.
    await recordBasePush(db(), repo.id, { sha: unannounced, before: tip, pushedAt: new Date() });
    await run("claim-2");
    expect(await mirrorTip(repo)).toBe(unannounced);
    expect(pool.calls.at(-2)).toMatchObject({ step: "advance", target: { sha: unannounced } });
  });

  it("keeps only the mirror of a repository with no task: no drover.yml says what its pool should be", async () => {
    const repo = repoNamed("no-task", 5110);
    await recorded(repo);
    mockInstallationToken(github.api().persist(), repo.installationId, TOKEN);
    const pool = recordingPool();

    await warmPool(harness().deps, { repoId: repo.id, cause: `start-${repo.id}` }, undefined, pool);

    expect(await mirrorTip(repo)).toBe(await originTip());
    expect(pool.calls).toEqual([]);
  });

  it("is queued once per attempt that claimed a worktree, by the one call run-task makes", async () => {
    const repo = repoNamed("claimed", 5112);
    await recorded(repo);
    mockInstallationToken(github.api().persist(), repo.installationId, TOKEN);

    await refillAfterClaim(harness().deps, repo.id, 41);
    await harness().drain();

    expect(await harness().queue.state("warm", `warm-${repo.id}-claim-41`)).toBe("completed");
    expect(await mirrorTip(repo)).toBe(await originTip());
  });
});
